"""Three ways to differentiate: symbolically (sympy), by finite differences, and by backprop.

For each input of a scalar program: the symbolic derivative, built from the op table's sympy
counterparts and differentiated by sympy, with its size against the graph's (expression swell,
with and without common subexpressions); finite differences over step sizes h from 1e-1 to 1e-13,
forward and central, their errors against backprop's gradient (the V of truncation against
rounding); and what each way costs. Bounded: small scalar programs only, refused before work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.graph import Graph, Node
from ..core.numbers import encode
from ..core.sweeps import backward, forward
from ..errors import ChainruleError, Deadline
from ..readers.parsing import parse
from ..readers.program import build_graph
from ..settings import LIMITS, Limits
from .check import perturbed_output

STEPS = np.logspace(-1, -13, 13)  # the step sizes h of the finite differences
MAX_FORMULA = 2_000  # the output written out as a tree: past this, sympy is not bounded in time
MAX_SIZE = 50_000  # a derivative's tree larger than this is reported by size only
SHOWN_CHARS = 400  # longer derivatives are cut in the answer


def methods_data(source: str, values: Mapping[str, object] | None = None, *,
                 limits: Limits = LIMITS, deadline: Deadline | None = None
                 ) -> dict[str, object]:
    """The three ways for every input of `source` at `values`, as plain JSON-ready data."""
    graph = build_graph(parse(source, limits), values or {}, limits,
                        deadline or Deadline(limits.max_seconds))
    _refuse_beyond_bounds(graph, limits)
    order = graph.order()
    node_values = forward(graph)
    grads = backward(graph, node_values, record=False).grads
    output = float(node_values[graph.output].reshape(()))
    symbols, derivatives = _symbolic(graph, order)
    operations = sum(1 for n in graph.nodes if n.op not in ("input", "const"))
    inputs = []
    for name, node_id in graph.inputs.items():
        graph.deadline.check()
        gradient = float(grads.get(node_id, np.zeros(())).reshape(()))
        inputs.append({
            "name": name, "backprop": encode(gradient),
            "symbolic": _symbolic_entry(derivatives[name], symbols, graph),
            "finite_differences": _finite_differences(graph, order, graph.node(node_id),
                                                      output, gradient),
        })
    n = len(inputs)
    return {
        "source": graph.source, "output": encode(output), "graph_operations": operations,
        "inputs": inputs,
        "cost": {
            "backprop": {"passes": 2, "evaluations": 1, "note": "one forward and one backward "
                         f"pass over the {operations} operations give all {n} derivatives"},
            "finite_differences": {"passes": 2 * n, "evaluations": 2 * n, "note": "central "
                                   "differences: two evaluations per input, for each h; forward "
                                   "differences n + 1"},
            "symbolic": {"passes": 0, "evaluations": n, "note": "a formula per input, built "
                         "once, then evaluated; its size can grow far beyond the graph's"},
        },
    }


def _refuse_beyond_bounds(graph: Graph, limits: Limits) -> None:
    graph.require_scalar_output("comparing the three ways")
    if len(graph.nodes) > limits.max_methods_nodes:
        raise ChainruleError(f"the three ways compare small programs: this graph has "
                             f"{len(graph.nodes)} nodes, the limit is "
                             f"{limits.max_methods_nodes} (a symbolic "
                             "derivative can swell exponentially)", None, "limit")
    for node in graph.nodes:
        if node.shape:
            raise ChainruleError("the three ways compare scalar programs: this value is an "
                                 "array", node.span, "limit")
        if node.op in graph.ops and graph.ops[node.op].sympy is None:
            raise ChainruleError(f"{node.op} has no symbolic counterpart here", node.span,
                                 "limit")


def _symbolic(graph: Graph, order: list[Node]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The output as a sympy expression of the inputs, and its derivative by each input."""
    import sympy as sp  # type: ignore[import-untyped]

    symbols = {name: sp.Symbol(name, real=True) for name in graph.inputs}
    expr: dict[int, Any] = {}
    for node in order:
        graph.deadline.check()
        if node.op == "input":
            expr[node.id] = symbols[node.name or ""]
        elif node.op == "const":
            assert node.const is not None
            expr[node.id] = sp.nsimplify(float(node.const.reshape(())), rational=False)
        else:
            rule = graph.ops[node.op].sympy
            assert rule is not None
            expr[node.id] = rule(sp, *(expr[i] for i in node.inputs), **dict(node.params))
        if _tree_size(expr[node.id]) > MAX_FORMULA:
            raise ChainruleError(
                f"written out as one formula, this program would have over {MAX_FORMULA:,} "
                "nodes (each use of a name repeats its whole formula): too large for sympy "
                "within the time limit, which is the swell this comparison shows", node.span,
                "limit")
    out = expr[graph.output]
    return symbols, {name: sp.diff(out, symbol) for name, symbol in symbols.items()}


def _tree_size(expr: Any) -> int:
    """Nodes of the expression written out as a tree (shared subexpressions counted each
    time), computed once per distinct subexpression."""
    sizes: dict[Any, int] = {}
    stack = [(expr, False)]
    while stack:
        e, done = stack.pop()
        if e in sizes:
            continue
        if done or not e.args:
            sizes[e] = 1 + sum(sizes[a] for a in e.args)
            continue
        stack.append((e, True))
        stack.extend((a, False) for a in e.args if a not in sizes)
    return sizes[expr]


def _symbolic_entry(derivative: Any, symbols: Mapping[str, Any], graph: Graph
                    ) -> dict[str, object]:
    import sympy as sp  # type: ignore[import-untyped]

    size = _tree_size(derivative)
    point = {s: float(graph.node(graph.inputs[name]).const.reshape(()))  # type: ignore[union-attr]
             for name, s in symbols.items()}
    graph.deadline.check()
    try:
        value: object = encode(float(derivative.subs(point).evalf()))
    except (TypeError, ValueError):  # undefined there (a kink of Abs, Max): no number
        value = None
    if size <= MAX_SIZE:
        replacements, reduced = sp.cse(derivative)
        size_cse = sum(_tree_size(r) for _, r in replacements) + _tree_size(reduced[0])
        text = sp.sstr(derivative)
    else:
        size_cse, text = None, "(too large to write out)"
    return {"derivative": text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…",
            "size": size, "size_cse": size_cse, "value": value}


def _finite_differences(graph: Graph, order: list[Node], node: Node, output: float,
                        gradient: float) -> dict[str, object]:
    """Forward and central differences at each h, and their errors against backprop."""
    steps = STEPS
    with np.errstate(all="ignore"):
        out = perturbed_output(graph, [(node, 0)] * len(steps), steps, np.ones(()))
        forward_ = (out[0::2] - output) / steps
        central = (out[0::2] - out[1::2]) / (2 * steps)
    return {"h": [float(h) for h in steps],
            "forward_error": [encode(abs(float(d) - gradient)) for d in forward_],
            "central_error": [encode(abs(float(d) - gradient)) for d in central]}
