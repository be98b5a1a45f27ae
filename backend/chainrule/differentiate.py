"""The Python API: text -> syntax tree -> graph -> forward trace -> backward steps -> response."""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from .analyses.check import check_kind, gradient_check
from .analyses.forward_mode import forward_mode
from .analyses.jacobian import jacobian as jacobian_of
from .analyses.paths import find_paths
from .answer.columns import VERSION, node_columns, ops_table, step_columns
from .answer.groups import groups_data
from .answer.models import Answer
from .answer.records import Renderer, spelled_out
from .core.graph import Graph, Node, node_key
from .core.kinks import kink_warnings
from .core.narration import TEMPLATES
from .core.numbers import all_finite, encode
from .core.sweeps import Grads, Values, backward, forward
from .errors import ChainruleError, Deadline, warning
from .readers.parsing import parse
from .readers.program import build_graph
from .settings import LIMITS, Limits

F = TypeVar("F", bound=Callable[..., Any])


def without_gc(fn: F) -> F:
    """Run `fn` with Python's cyclic garbage collector paused: building a network's graph makes
    hundreds of thousands of objects, and with the default thresholds the collector walks all
    of them again and again (half of from_micrograd's time on the moons demo). The server
    raises the thresholds instead (settings.GC_THRESHOLDS); nothing here makes cycles worth
    collecting before the call returns."""
    @functools.wraps(fn)
    def paused(*args: Any, **kwargs: Any) -> Any:
        if not gc.isenabled():
            return fn(*args, **kwargs)
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()
    return paused  # type: ignore[return-value]


@without_gc
def backprop(source: str, values: Mapping[str, object] | None = None, *, check: bool | str = True,
             mode: str = "reverse", wrt: str | None = None, seed: object = None,
             jacobian: bool = False, limits: Limits = LIMITS,
             overrides: Collection[str] | None = None, output: str | None = None,
             **named_values: object) -> Answer:
    """Differentiate the program's output with respect to every input, recording every step.

    `backprop("sin(x*y)", x=1.5, y=2)` returns the same data as `POST /api/v2/backprop`: the
    compact answer, whose `backward`, `forward`, `nodes` and `edges` spell out every record
    (as `POST /api/v1/backprop` does); `mode="forward", wrt="x"` adds forward mode's steps for
    the input x (in `tangent`). An array output is swept backward from the cotangent `seed`
    (ones by default) and answers its Jacobian (`jacobian=True` asks for it with a scalar
    output too: one row). A value overrides a literal of the source unless `overrides` is given
    and omits its name. `output` names a line of the program (`h` for `h = ...`, a scalar) to
    differentiate instead of the last: the backward pass, the check and the cost are its.
    Raises `ChainruleError` (with a message and a source span) for any mistake in the input.
    """
    return Answer.built(compact_data(
        source, {**(values or {}), **named_values}, check=check, mode=mode, wrt=wrt, seed=seed,
        jacobian=jacobian, limits=limits, overrides=overrides, output=output))


def compact_data(source: str, values: Mapping[str, object] | None = None, *,
                 check: bool | str = True, mode: str = "reverse", wrt: str | None = None,
                 seed: object = None, jacobian: bool = False, limits: Limits = LIMITS,
                 deadline: Deadline | None = None, overrides: Collection[str] | None = None,
                 records: Sequence[int] | None = None,
                 output: str | None = None) -> dict[str, object]:
    """The compact answer (`POST /api/v2/backprop`) as plain JSON-ready data, not validated:
    the route encodes it directly and the tests check it against `Answer`. `records` (start,
    stop) also spells out those backward steps; `output` names the line differentiated (the
    last by default). `deadline` defaults to one of `limits.max_seconds`."""
    if mode not in ("reverse", "forward"):
        raise ChainruleError(f"mode must be 'reverse' or 'forward', not {mode!r}", None,
                             "request")
    if mode == "forward" and not wrt:
        raise ChainruleError("forward mode needs `wrt`: the name of the input to differentiate "
                             "with respect to", None, "request")
    graph = build_graph(parse(source, limits), values or {}, limits,
                        deadline or Deadline(limits.max_seconds), overrides, output)
    answer = trace(graph, check=check, limits=limits, wrt=wrt if mode == "forward" else None,
                   seed=seed, jacobian=jacobian)
    if records is not None:
        start, stop = records
        steps = len(answer["columns"]["steps"]["node"])  # type: ignore[index]
        if not 0 <= start <= stop or start > steps:
            raise ChainruleError(f"`records` must be [start, stop) with 0 <= start <= stop and "
                                 f"start <= {steps:,} (the number of backward steps), not "
                                 f"[{start}, {stop}]", None, "request")
        answer["records"] = {"start": start, "stop": stop,
                             "backward": Renderer(answer).backward_records(start, stop)}
    return answer


def backprop_data(source: str, values: Mapping[str, object] | None = None, *,
                  check: bool | str = True, mode: str = "reverse", wrt: str | None = None,
                  seed: object = None, jacobian: bool = False, limits: Limits = LIMITS,
                  deadline: Deadline | None = None,
                  overrides: Collection[str] | None = None, output: str | None = None,
                  lazy: bool = False, **named_values: object) -> dict[str, object]:
    """The v1 answer (`POST /api/v1/backprop`): every record of every step spelled out, as
    plain JSON-ready data: the compact answer rendered whole. `lazy`: the backward steps are
    rendered as the answer is encoded (the server refuses an answer over its size cap as soon
    as its bytes pass it)."""
    return spelled_out(compact_data(source, {**(values or {}), **named_values}, check=check,
                                    mode=mode, wrt=wrt, seed=seed, jacobian=jacobian,
                                    limits=limits, deadline=deadline, overrides=overrides,
                                    output=output), lazy=lazy)


def paths_data(source: str, values: Mapping[str, object] | None = None, *, wrt: str,
               limit: int = 20, limits: Limits = LIMITS,
               deadline: Deadline | None = None) -> dict[str, object]:
    """The sum over paths from input `wrt` to the output: the exact number of paths, the
    `limit` largest by |product| (each with its nodes and local factors) and backprop's gradient,
    as plain JSON-ready data (`POST /api/v1/paths`)."""
    graph = build_graph(parse(source, limits), values or {}, limits,
                        deadline or Deadline(limits.max_seconds))
    order = graph.order()
    node_values = forward(graph)
    grads = backward(graph, node_values, record=False).grads
    return {"source": graph.source, **find_paths(graph, order, node_values, grads, wrt, limit,
                                                 limits)}


@without_gc
def backprop_graph(graph: Graph, *, check: bool | str = True, limits: Limits = LIMITS) -> Answer:
    """`backprop`'s result for a graph built from objects, not text (micrograd, tracing)."""
    return Answer.built(trace(graph, check=check, limits=limits))


def trace(graph: Graph, *, check: bool | str = True, limits: Limits = LIMITS,
          wrt: str | None = None, seed: object = None, jacobian: bool = False,
          ) -> dict[str, object]:
    """Run both sweeps over a built graph (and forward mode for `wrt`), assembling the compact
    answer. An array output is swept backward from the cotangent `seed` and answers its
    Jacobian. `check` is the gradient check's kind (see `check.check_kind`)."""
    kind = check_kind(check)
    order = graph.order()
    out = graph.node(graph.output)
    cotangent = cotangent_seed(out, seed)
    values = forward(graph)
    sweep = backward(graph, values, seed=cotangent)
    output_value = values[out.id]
    loss = float(np.sum(cotangent * output_value))
    grads = sweep.grads
    gradients = {name: encode(grads.get(i, np.zeros(graph.node(i).shape)))
                 for name, i in graph.inputs.items()}
    return {
        "version": VERSION,
        "source": graph.source,
        "output": {"node": node_key(out.id), "label": graph.label(out), "value": encode(output_value),
                   "shape": list(out.shape)},
        "seed": {"value": encode(cotangent), "note": _seed_note(out, seed is None)},
        "ops": ops_table(graph),
        "templates": TEMPLATES,
        "columns": {"nodes": node_columns(graph, values, sweep), **step_columns(graph, sweep)},
        "records": None,
        "gradients": gradients,
        "check": None if kind is None else gradient_check(
            graph, order, grads, loss, limits, cotangent, values, kind),
        "warnings": graph.warnings + kink_warnings(graph, values, grads)
        + _non_finite_warnings(graph, values, grads),
        "cost": cost(sum(graph.node(i).size for i in graph.inputs.values()), out.size),
        "tangent": None if wrt is None else forward_mode(graph, order, values, wrt),
        "jacobian": jacobian_of(graph, order, values, limits)
        if jacobian or out.shape else None,
        "groups": groups_data(graph),
    }


def cotangent_seed(out: Node, seed: object) -> np.ndarray:
    """The backward sweep's seed: the given cotangent (shaped like the output), or ones."""
    if seed is None:
        return np.ones(out.shape)
    try:
        array = np.asarray(seed, dtype=np.float64)
    except (ValueError, TypeError):
        raise ChainruleError("`seed` is not a number or a rectangular array of numbers", None,
                             "value") from None
    if array.shape != out.shape:
        raise ChainruleError(f"`seed` has shape {list(array.shape)}, but the output has shape "
                             f"{list(out.shape)}: the seed is a cotangent of the output",
                             out.span, "shape")
    if not all_finite(array):
        raise ChainruleError("`seed` contains NaN or Infinity", None, "value")
    return array


def _seed_note(out: Node, default: bool) -> str:
    if not out.shape:
        return ("The backward sweep starts from dL/dL = 1 at the output." if default else
                "The backward sweep starts from the given seed at the output: every gradient "
                "is scaled by it.")
    which = "ones (the default)" if default else "the given cotangent"
    return (f"The output is an array of shape {list(out.shape)}: the backward sweep starts "
            f"from the cotangent seed s = {which}, so it differentiates L = sum(s * output) "
            "and each input's gradient is s^T J. The Jacobian J itself takes one such pass per "
            "output element, each seeded with a one at that element.")


def cost(n: int, m: int = 1) -> dict[str, object]:
    """What the whole derivative of M output elements over N input elements costs, per
    method (M = 1 for a scalar output: the gradient)."""
    return {
        "input_elements": n,
        "outputs": m,
        "reverse": {"passes": m, "note": "one forward + one backward pass gives the gradient "
                    "for every input" if m == 1 else "one backward pass per output element "
                    "(after one forward pass) gives the Jacobian, a row each"},
        "forward": {"passes": n, "note": "one forward-mode pass per input element"
                    + ("" if m == 1 else ", a column of the Jacobian each")},
        "finite_differences": {"passes": 2 * n, "evaluations": 2 * n, "note": "two evaluations "
                               "of the function per input element (central differences)"},
    }


def _non_finite_warnings(graph: Graph, values: Values, grads: Grads) -> list[dict[str, object]]:
    """Name each node where a NaN or an infinity first appears, in values and in gradients."""
    warnings: list[dict[str, object]] = []
    finite = values.finite()
    for i in np.flatnonzero(~finite).tolist():
        node = graph.nodes[i]
        if node.op in ("input", "const"):
            continue
        if all(finite[j] for j in node.inputs):
            warnings.append(warning(
                "non_finite", f"{graph.ops[node.op].name} gave a non-finite value "
                f"({encode(_first_bad(values[node.id]))}) at {node.bare.plain}: check its "
                "inputs (log or sqrt of a negative? division by zero?)", node_key(node.id), node.span))
    bad_grads = np.flatnonzero(~grads.finite())
    if len(bad_grads):
        first = graph.nodes[int(bad_grads[-1])]
        warnings.append(warning(
            "non_finite_gradient", f"the gradient is not finite from {first.bare.plain} "
            "backwards: a local derivative there is infinite or undefined", node_key(first.id),
            first.span))
    return warnings


def _first_bad(array: np.ndarray) -> float:
    flat = np.asarray(array).reshape(-1)
    return float(flat[~np.isfinite(flat)][0])
