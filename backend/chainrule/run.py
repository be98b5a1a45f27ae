"""The Python API: text -> syntax tree -> graph -> forward trace -> backward steps -> response."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import numpy as np

from .check import finite_difference_check
from .engine import backward, forward, forward_steps
from .errors import ChainruleError, Deadline
from .forward_mode import forward_mode
from .graph import Graph, build_graph
from .ops import OPS
from .parsing import parse
from .paths import find_paths
from .schemas import BackpropResponse
from .settings import LIMITS, Limits
from .values import all_finite, encode


def backprop(source: str, values: Mapping[str, object] | None = None, *, check: bool = True,
             mode: str = "reverse", wrt: str | None = None, limits: Limits = LIMITS,
             **named_values: object) -> BackpropResponse:
    """Differentiate the program's output with respect to every input, recording every step.

    `backprop("sin(x*y)", x=1.5, y=2)` returns the same data as `POST /api/v1/backprop`;
    `mode="forward", wrt="x"` adds forward mode's steps for the input x (in `tangent`).
    Raises `ChainruleError` (with a message and a source span) for any mistake in the input.
    """
    return BackpropResponse.model_validate(
        backprop_data(source, values, check=check, mode=mode, wrt=wrt, limits=limits,
                      **named_values))


def backprop_data(source: str, values: Mapping[str, object] | None = None, *,
                  check: bool = True, mode: str = "reverse", wrt: str | None = None,
                  limits: Limits = LIMITS, **named_values: object) -> dict[str, object]:
    """What `backprop()` returns, as plain JSON-ready data (not validated: the HTTP route
    encodes it directly, and the tests check it against `BackpropResponse`)."""
    if mode not in ("reverse", "forward"):
        raise ChainruleError(f"mode must be 'reverse' or 'forward', not {mode!r}", None,
                             "request")
    if mode == "forward" and not wrt:
        raise ChainruleError("forward mode needs `wrt`: the name of the input to differentiate "
                             "with respect to", None, "request")
    deadline = Deadline(limits.max_seconds)
    graph = build_graph(parse(source, limits), {**(values or {}), **named_values}, limits,
                        deadline)
    return trace(graph, check=check, limits=limits, wrt=wrt if mode == "forward" else None)


def paths_data(source: str, values: Mapping[str, object] | None = None, *, wrt: str,
               limit: int = 20, limits: Limits = LIMITS) -> dict[str, object]:
    """The sum over paths from input `wrt` to the output: the exact number of paths, the
    `limit` largest by |product| (each with its nodes and local factors) and backprop's gradient,
    as plain JSON-ready data (`POST /api/v1/paths`)."""
    graph = build_graph(parse(source, limits), values or {}, limits, Deadline(limits.max_seconds))
    order = graph.order()
    node_values = forward(graph, order)
    grads = backward(graph, order, node_values, record=False).grads
    return {"source": graph.source, **find_paths(graph, order, node_values, grads, wrt, limit,
                                                 limits)}


def backprop_graph(graph: Graph, *, check: bool = True,
                   limits: Limits = LIMITS) -> BackpropResponse:
    """`backprop`'s result model for a graph built from objects, not text (micrograd, tracing)."""
    return BackpropResponse.model_validate(trace(graph, check=check, limits=limits))


def trace(graph: Graph, *, check: bool = True, limits: Limits = LIMITS,
          wrt: str | None = None) -> dict[str, object]:
    """Run both sweeps over a built graph (and forward mode for `wrt`), assembling the response."""
    order = graph.order()
    values = forward(graph, order)
    sweep = backward(graph, order, values)
    out = graph.node(graph.output)
    output_value = float(values[out.id].reshape(()))
    generations = graph.generations()
    consumers = Counter(src for node in order for src in node.inputs)
    nodes = [{
        "id": n.id, "op": n.op, "label": n.label, "symbol": n.symbol, "name": n.name, "inputs": n.inputs,
        "expr": {"plain": n.bare.plain, "latex": n.bare.latex}, "span": n.span,
        "shape": list(n.shape), "value": encode(values[n.id]),
        "grad": encode(sweep.grads[n.id]) if n.id in sweep.grads else None,
        "requires_grad": n.requires_grad, "generation": generations[n.id],
        "consumers": consumers[n.id],
    } for n in graph.nodes]
    edges = [{"id": k, "source": src, "target": dst, "position": pos}
             for k, src, dst, pos in graph.edges()]
    gradients = {name: encode(sweep.grads.get(i, np.zeros(graph.node(i).shape)))
                 for name, i in graph.inputs.items()}
    return {
        "source": graph.source,
        "output": {"node": out.id, "label": out.label, "value": encode(output_value)},
        "nodes": nodes,
        "edges": edges,
        "forward": forward_steps(graph, order, values),
        "backward": sweep.steps,
        "gradients": gradients,
        "check": finite_difference_check(graph, order, sweep.grads, output_value, limits)
        if check else None,
        "warnings": graph.warnings + _non_finite_warnings(graph, values, sweep.grads),
        "cost": cost(sum(graph.node(i).size for i in graph.inputs.values())),
        "tangent": None if wrt is None else forward_mode(graph, order, values, wrt),
    }


def cost(n: int) -> dict[str, object]:
    """What the whole gradient of one scalar output over N input elements costs, per method."""
    return {
        "input_elements": n,
        "outputs": 1,
        "reverse": {"passes": 1, "note": "one forward + one backward pass gives the gradient "
                    "for every input"},
        "forward": {"passes": n, "note": "one forward-mode pass per input element"},
        "finite_differences": {"passes": 2 * n, "evaluations": 2 * n, "note": "two evaluations "
                               "of the function per input element (central differences)"},
    }


def _non_finite_warnings(graph: Graph, values: Mapping[str, np.ndarray],
                         grads: Mapping[str, np.ndarray]) -> list[dict[str, object]]:
    """Name each node where a NaN or an infinity first appears, in values and in gradients."""
    warnings: list[dict[str, object]] = []
    finite = {i: all_finite(v) for i, v in values.items()}
    for node in graph.nodes:
        if node.op in ("input", "const"):
            continue
        if not finite[node.id] and all(finite[i] for i in node.inputs):
            warnings.append({
                "message": f"{OPS[node.op].name} gave a non-finite value "
                           f"({encode(_first_bad(values[node.id]))}) at {node.bare.plain}: "
                           "check its inputs (log or sqrt of a negative? division by zero?)",
                "node": node.id, "span": node.span})
    bad_grads = [i for i, g in grads.items() if not all_finite(g)]
    if bad_grads:
        first = graph.node(max(bad_grads, key=lambda i: int(i[1:])))
        warnings.append({
            "message": f"the gradient is not finite from {first.bare.plain} backwards: a local "
                       "derivative there is infinite or undefined", "node": first.id,
            "span": first.span})
    return warnings


def _first_bad(array: np.ndarray) -> float:
    flat = np.asarray(array).reshape(-1)
    return float(flat[~np.isfinite(flat)][0])
