"""The Python API: text -> syntax tree -> graph -> forward trace -> backward steps -> response."""

from __future__ import annotations

import functools
import gc
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from .analyses.check import check_kind, gradient_check
from .analyses.forward_mode import forward_mode
from .analyses.jacobian import jacobian as jacobian_of
from .analyses.memory import by_layers, memory_line, schedule
from .analyses.naive import replay
from .analyses.paths import find_paths
from .analyses.second_order import costs, hessian_data, hvp_both, second_order
from .answer.columns import BINDING, VERSION, node_columns, ops_table, step_columns
from .answer.groups import groups_data
from .answer.models import Answer
from .answer.records import Renderer, spelled_out
from .answer.schemas import MemoryResponse, NaiveResponse
from .core.graph import Graph, Node, node_key
from .core.kinks import kink_warnings
from .core.narration import TEMPLATES
from .core.numbers import all_finite, encode
from .core.sweeps import Grads, Values, backward, forward
from .errors import ChainruleError, Deadline, warning
from .readers import Read
from .readers.micrograd import read_micrograd
from .readers.numpy_trace import read_numpy
from .readers.parsing import parse
from .readers.program import build_graph, read_program
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
    check_mode(mode, wrt)
    read = read_program(source, values or {}, limits, deadline or Deadline(limits.max_seconds),
                        overrides, output)
    answer = differentiate(read, check=check, limits=limits, mode=mode, wrt=wrt, seed=seed,
                           jacobian=jacobian)
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


def naive_data(source: str, values: Mapping[str, object] | None = None, *,
               children: str = "operands", limits: Limits = LIMITS,
               deadline: Deadline | None = None, **named_values: object) -> dict[str, object]:
    """The two classic mistakes played on a program (`POST /api/v1/naive`): its backward pass
    the right way, by the naive recursion (`children`: "operands", one visit per edge, or
    "distinct", micrograd's set) and twice without zeroing, each step by step, with where each
    parts from the right one and why, as plain JSON-ready data (see analyses/naive.py)."""
    graph = read_program(source, {**(values or {}), **named_values}, limits,
                         deadline or Deadline(limits.max_seconds)).graph
    return replay(graph, forward(graph), children=children, limits=limits)


def naive(source: str | Any, values: Mapping[str, object] | None = None, *,
          children: str = "operands", inputs: Mapping[str, Any] | Iterable[Any] | None = None,
          limits: Limits = LIMITS, **named_values: object) -> NaiveResponse:
    """The two classic mistakes of a hand-written backward pass, played on a program beside the
    right pass: micrograd's naive recursion (`def backward(self): self._backward(); for child
    in self._prev: child.backward()`) and `backward()` run twice without zeroing.

    `naive("b = x + x; b + b", x=1.0)` returns `right`, `naive` and `twice`, each with its
    `steps` (the node whose rule runs, what it passes to each operand, their gradients after),
    its final `gradients`, and (but `right`) `parts`: the first step where it parts from the
    right pass, with both numbers and the reason in words. `children="distinct"` visits each
    operand once, as micrograd's `_prev = set(_children)` does. `source` may also be a
    micrograd `Value`, read as `from_micrograd` reads it (`inputs` as there): the same nodes,
    and each node's operands in its `_prev`'s own order. The recursion stops after
    `limits.max_naive_steps` steps (`complete` false; `total_steps` says how many it would
    take). Raises `ChainruleError` for any mistake in the input.
    """
    if isinstance(source, str):
        data = naive_data(source, {**(values or {}), **named_values}, children=children,
                          limits=limits)
    else:
        graph = read_micrograd(source, inputs, limits).graph
        data = replay(graph, forward(graph), children=children, limits=limits)
    return NaiveResponse.model_validate(data)


def memory_data(source: str, values: Mapping[str, object] | None = None, *,
                strategy: str = "sqrt", k: int | None = None, slots: int | None = None,
                limits: Limits = LIMITS, deadline: Deadline | None = None,
                **named_values: object) -> dict[str, object]:
    """The differentiation of a program replayed under a checkpointing strategy, every
    strategy's counts and peak, and plain reverse mode's memory line, as plain JSON-ready
    data (`POST /api/v1/memory`; see analyses/memory.py)."""
    graph = read_program(source, {**(values or {}), **named_values}, limits,
                         deadline or Deadline(limits.max_seconds)).graph
    return memory_of(graph, strategy=strategy, k=k, slots=slots, limits=limits)


def memory_of(graph: Graph, *, strategy: str = "sqrt", k: int | None = None,
              slots: int | None = None, limits: Limits = LIMITS) -> dict[str, object]:
    """`memory_data` for any reader's graph: the schedule, the memory line, and a network's
    tape by layers (`layers`: null for a graph without layers)."""
    graph.require_scalar_output("checkpointing")
    return {**schedule(graph, forward(graph), strategy, k=k, slots=slots, limits=limits),
            "memory": memory_line(graph), "layers": by_layers(graph, limits)}


@without_gc
def memory(source: str | Any, values: Mapping[str, object] | None = None, *,
           strategy: str = "sqrt", k: int | None = None, slots: int | None = None,
           model: Any = None, inputs: Mapping[str, Any] | Iterable[Any] | None = None,
           limits: Limits = LIMITS, **named_values: object) -> MemoryResponse:
    """The memory of reverse mode, and checkpointing that trades it for recomputation.

    `memory(source, x=0.5, strategy="revolve", slots=3)` replays the backward pass of a
    program under a strategy: `all` (keep every value the backward steps read), `none`
    (recompute from the inputs before each backward step), `every_k` (a checkpoint every `k`
    forward steps), `sqrt` (every ⌈√F⌉: Chen et al. 2016) or `revolve` (binomial
    checkpointing with `slots` checkpoints: Griewank and Walther). Returns its `steps`
    (forward, recompute, backward; the values and bytes held after each), the `gradients` it
    ends with (the same as `backprop`'s), a `summary` of every strategy's extra forward steps
    and peak, and plain reverse mode's `memory` line. `source` may also be a network: a
    micrograd `Value` (read as `from_micrograd` reads it, with `inputs`) or a torch loss
    function (as `from_torch` calls it, with `model`); `layers` then says what each layer
    keeps (the values its backward steps read) and what checkpointing at every layer, or at
    every ⌈√L⌉-th, holds and recomputes. Raises `ChainruleError` for any mistake in the input.
    """
    if isinstance(source, str):
        data = memory_data(source, {**(values or {}), **named_values}, strategy=strategy, k=k,
                           slots=slots, limits=limits)
    elif callable(source):
        from .readers.pytorch import read_torch

        data = memory_of(read_torch(source, model, limits).graph, strategy=strategy, k=k,
                         slots=slots, limits=limits)
    else:
        data = memory_of(read_micrograd(source, inputs, limits).graph, strategy=strategy, k=k,
                         slots=slots, limits=limits)
    return MemoryResponse.model_validate(data)


def check_mode(mode: str, wrt: str | None) -> None:
    """Refuse a mode other than reverse and forward, and forward mode without `wrt`."""
    if mode not in ("reverse", "forward"):
        raise ChainruleError(f"mode must be 'reverse' or 'forward', not {mode!r}", None,
                             "request")
    if mode == "forward" and not wrt:
        raise ChainruleError("forward mode needs `wrt`: the name of the input to differentiate "
                             "with respect to", None, "request")


@without_gc
def backprop_graph(read: Read, *, mode: str = "reverse", wrt: str | None = None,
                   seed: object = None, jacobian: bool = False, output: str | None = None,
                   check: bool | str = True, limits: Limits = LIMITS) -> Answer:
    """`backprop`'s result for what a reader read, with every option `differentiate` takes."""
    return Answer.built(differentiate(read, mode=mode, wrt=wrt, seed=seed, jacobian=jacobian,
                                      output=output, check=check, limits=limits))


@without_gc
def trace(f: Callable[..., Any], values: Mapping[str, object] | None = None, *,
          check: bool | str = True, mode: str = "reverse", wrt: str | None = None,
          seed: object = None, jacobian: bool = False, output: str | None = None,
          limits: Limits = LIMITS, **named_values: object) -> Answer:
    """Call `f` with a tracer for each named value, and backpropagate through what it computed.

    `trace(f, x=1.5, y=2.0)` traces `f(x=..., y=...)`; `f` uses numpy (`np.sin`, `np.exp`,
    `np.tanh`, `@`, `**`, `np.sum`, `np.maximum`, broadcasting, ...) as usual and returns a
    scalar (an array too, with a `seed` or `jacobian=True`). Returns the same result model as
    `chainrule.backprop`, its source being `f`'s own lines, and takes the same options:
    `mode="forward", wrt="x"`, `seed`, `jacobian`, `check`, and `output`, the name of a local
    variable of `f` (its last assignment) to differentiate instead of what `f` returns. A numpy
    function outside the op table raises `ChainruleError` naming it.
    """
    check_mode(mode, wrt)
    return backprop_graph(read_numpy(f, {**(values or {}), **named_values}, limits),
                          mode=mode, wrt=wrt, seed=seed, jacobian=jacobian, output=output,
                          check=check, limits=limits)


@without_gc
def from_micrograd(loss: Any, inputs: Mapping[str, Any] | Iterable[Any] | None = None, *, check: bool | str = True,
                   mode: str = "reverse", wrt: str | None = None, seed: object = None,
                   jacobian: bool = False, output: str | None = None,
                   limits: Limits = LIMITS) -> Answer:
    """Read a micrograd `Value` graph ending in `loss`, and backpropagate through it.

    `inputs` names the Values to differentiate with respect to: the model (a micrograd
    `Module` such as `MLP`: its parameters named by their place, `layers[1].neurons[3].w[0]`,
    and the answer's groups its layers, neurons, samples, loss and regularization), a mapping
    `{"w": w, ...}`, or a sequence such as `model.parameters()` (named p0, p1, ...); the other
    leaves become constants. Without it, every leaf is an input, named by its `label`
    (micrograd's lecture Value has one) or `v<k>`. Returns the same result model as
    `chainrule.backprop`, and takes the same options (`mode="forward", wrt=...`, `seed`,
    `jacobian`, `check`); `output` names a computed Value to differentiate instead of `loss`:
    `v<k>` as the answer's source lists it, or its `label`.
    """
    check_mode(mode, wrt)
    return backprop_graph(read_micrograd(loss, inputs, limits), mode=mode, wrt=wrt, seed=seed,
                          jacobian=jacobian, output=output, check=check, limits=limits)


@without_gc
def from_torch(loss_fn: Callable[[], Any], model: Any = None, *, check: bool | str = True,
               mode: str = "reverse", wrt: str | None = None, seed: object = None,
               jacobian: bool = False, output: str | None = None,
               limits: Limits = LIMITS) -> Answer:
    """Call `loss_fn()` (no arguments; it computes a scalar loss with torch), record every
    torch operation it runs as a node of chainrule's graph, and backpropagate through it.

    `model` (an `nn.Module`): its parameters are the inputs, named as `named_parameters()`
    names them (`0.weight`), and the nodes are grouped by the module that ran them (`model`,
    `model.0`, ...). Any other tensor is a constant. Without a model, every leaf tensor that
    requires grad is an input (`t0`, `t1`, ... in the order of first use). An operation outside
    chainrule's op table raises `ChainruleError` naming it, the module and the line of the
    call. Returns the same result model as `chainrule.backprop`, and takes the same options
    (`mode="forward", wrt="0.weight"`, `seed`, `jacobian`, `check`; an array loss with a seed
    or the Jacobian); `output` names a module's output (`model.0`) or a loss read as its parts
    (`mse_loss`) to differentiate instead of the loss. Values in float64. torch is imported
    only when this is called.
    """
    check_mode(mode, wrt)
    try:
        from .readers.pytorch import read_torch
    except ImportError as err:
        raise ChainruleError(f"from_torch needs PyTorch ({err}): pip install "
                             "'chainrule[torch]'", None, "request") from None
    return backprop_graph(read_torch(loss_fn, model, limits), mode=mode, wrt=wrt, seed=seed,
                          jacobian=jacobian, output=output, check=check, limits=limits)


def differentiate(read: Read, *, mode: str = "reverse", wrt: str | None = None,
                  seed: object = None, jacobian: bool = False, output: str | None = None,
                  check: bool | str = True, limits: Limits = LIMITS) -> dict[str, object]:
    """Run both sweeps over what a reader read (and forward mode for `wrt`), assembling the
    compact answer: the one way in, for programs, traced functions, micrograd and torch.

    An array output is swept backward from the cotangent `seed` and answers its Jacobian
    (`jacobian=True` asks for it with a scalar output too). `output` names a node the reader
    named (`Read.outputs`) to differentiate instead of the reader's output. `check` is the
    gradient check's kind (see `check.check_kind`). The reader's warnings follow the graph's,
    and a warning says so if the output is not the value the source library computed.
    """
    check_mode(mode, wrt)
    graph = _chosen_output(read, output, scalar=seed is None and not jacobian)
    kind = check_kind(check)
    order = graph.order()
    out = graph.node(graph.output)
    cotangent = cotangent_seed(out, seed)
    values = forward(graph)
    sweep = backward(graph, values, seed=cotangent)
    output_value = values[out.id]
    loss = float(np.sum(cotangent * output_value))
    grads = sweep.grads
    steps, term_kinds = step_columns(graph, sweep)
    nodes = node_columns(graph, values, sweep, steps["terms"]["contribution"])  # type: ignore[index]
    grad_column: list[Any] = nodes["grad"]  # type: ignore[assignment]
    gradients = {name: grad_column[i] if i in grads else encode(np.zeros(graph.node(i).shape))
                 for name, i in graph.inputs.items()}
    return {
        "version": VERSION,
        "source": graph.source,
        "output": {"node": node_key(out.id), "label": graph.label(out),
                   "value": encode(output_value), "shape": list(out.shape)},
        "seed": {"value": encode(cotangent), "note": _seed_note(out, seed is None)},
        "ops": ops_table(graph),
        "binding": BINDING,
        "term_kinds": term_kinds,
        "templates": TEMPLATES,
        "columns": {"nodes": nodes, **steps},
        "records": None,
        "gradients": gradients,
        "check": None if kind is None else gradient_check(
            graph, order, grads, loss, limits, cotangent, values, kind),
        "warnings": graph.warnings + read.warnings + kink_warnings(graph, values, grads)
        + _non_finite_warnings(graph, values, grads)
        + ([] if output is not None else _reference_warnings(read, output_value, out.id)),
        "cost": cost(sum(graph.node(i).size for i in graph.inputs.values()), out.size),
        "tangent": None if mode != "forward" or wrt is None
        else forward_mode(graph, order, values, wrt),
        "jacobian": jacobian_of(graph, order, values, limits)
        if jacobian or out.shape else None,
        "groups": groups_data(graph),
        "grade": None,  # chainrule.grade's (grading.py)
        "memory": memory_line(graph),
    }


def _chosen_output(read: Read, output: str | None, *, scalar: bool) -> Graph:
    """The reader's graph, its output the node named `output` if given; a scalar where the
    reader or the choice needs one (`scalar`: no seed and no Jacobian was asked for)."""
    graph = read.graph
    if output is None:
        if read.scalar_for and scalar:
            graph.require_scalar_output(read.scalar_for)
        return graph
    node_id = read.outputs.get(output)
    if node_id is None:
        if output in graph.inputs:
            raise ChainruleError(f"{output} is an input: the output must be a value computed "
                                 "from the inputs", None, "output")
        names = list(read.outputs)
        known = (f"; the values named here are: {', '.join(names[:30])}"
                 + (f" and {len(names) - 30:,} more" if len(names) > 30 else "")) if names \
            else "; none is named here"
        raise ChainruleError(f"the output {output!r} is not a name of a computed value{known}",
                             None, "unknown_name")
    chosen = replace(graph, output=node_id)
    node = chosen.node(node_id)
    if not node.requires_grad:
        raise ChainruleError(f"the output {output} does not depend on any input, so there is "
                             "nothing to differentiate", node.span, "output")
    if scalar:
        chosen.require_scalar_output(f"differentiating {output}")
    return chosen


def _reference_warnings(read: Read, value: np.ndarray, node: int) -> list[dict[str, object]]:
    """A warning if the output is not the value the source library computed for it."""
    reference = read.reference
    ours = encode(value)
    if reference is None or not isinstance(ours, float) or math.isclose(
            ours, reference.value, rel_tol=reference.rel_tol, abs_tol=reference.abs_tol):
        return []
    return [warning(reference.kind, reference.message.format(ours=ours, theirs=reference.value),
                    node_key(node))]


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


def hessian(source: str, values: Mapping[str, object] | None = None, *,
            wrt: str | Sequence[str] | None = None, v: object = None,
            output: str | None = None, limits: Limits = LIMITS,
            **named_values: object) -> dict[str, object]:
    """The Hessian of the program's (scalar) output with respect to `wrt` (a name or names;
    default every input), by N Hessian-vector products each way (forward over reverse and
    reverse over reverse through the backward graph built as nodes), filled column by column;
    with `v` (N numbers, the inputs' elements one after the other), H v both ways as well.
    The same data as `POST /api/v1/hessian`. Raises `ChainruleError` for any mistake."""
    names = [wrt] if isinstance(wrt, str) else wrt
    return hessian_data(source, {**(values or {}), **named_values}, wrt=names, v=v,
                        output=output, limits=limits)


def hvp(source: str, values: Mapping[str, object] | None = None, *, v: object,
        wrt: str | Sequence[str] | None = None, output: str | None = None,
        limits: Limits = LIMITS, **named_values: object) -> dict[str, object]:
    """H v, forward over reverse and reverse over reverse, with each way's cost: `v` has one
    number per element of the inputs `wrt` (default every input), one after the other."""
    names = [wrt] if isinstance(wrt, str) else wrt
    s = second_order(source, {**(values or {}), **named_values}, names, limits, None, output)
    direction = np.ravel(np.asarray(v, dtype=np.float64))
    if direction.size != s.size:
        raise ChainruleError(f"v has {direction.size} numbers; the inputs have {s.size}",
                             None, "shape")
    fwd, rev = hvp_both(s, direction)
    return {"v": encode(direction), "forward_over_reverse": encode(fwd),
            "reverse_over_reverse": encode(rev), "cost": costs(s)}
