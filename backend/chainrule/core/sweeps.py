"""The forward and reverse sweeps, over stacks of nodes.

The whole engine is micrograd's: visit the nodes in topological order computing values, then in
reverse order call each node's local rule (its VJPs from the op table) and add the contributions
to its inputs' gradients. The visits go a stack at a time (plan.py: one generation's nodes of
one op, computed by one numpy call; a scalar alone in its generation, number by number), and
both loops are iterative, so depth is no limit.

What the backward sweep records are numbers, not sentences: each term's contribution and local
derivative, each node's kink; the answer carries them as columns and the renderers
(records.py, frontend/src/records.js) write the sentences and formulas from the op table's
templates.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .graph import Graph, Node
from .kinks import all_at_kink
from .narration import say
from .numbers import is_number
from .ops import PARTIAL, Formula, Op, unbroadcast
from .plan import Plan, Received, Scalar, Shape, Stack
from .templates import fill

ONE = np.float64(1.0)  # the upstream gradient 1 of a scalar node: a numpy scalar, not an array


class Values(Mapping[int, np.ndarray]):
    """Every node's value, kept in one buffer per shape, shaped (nodes, batch, *shape).

    `values[node_id]` is that node's value: with its batch axis (`batched`), or without it (one
    evaluation). `buffers` is what the vectorized code reads.
    """

    def __init__(self, graph: Graph, buffers: dict[Shape, np.ndarray], batched: bool) -> None:
        self.plan = graph.plan
        self.buffers = buffers
        self.batched = batched

    def __getitem__(self, i: int) -> np.ndarray:
        return self.buffers[self.plan.shapes[i]][self.plan.rows[i]]  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.plan.shapes)))

    def __len__(self) -> int:
        return len(self.plan.shapes)

    def finite(self) -> np.ndarray:
        """Per node: whether every element of its value is finite (in every batch row)."""
        return _finite(self.plan, self.buffers)

    def rows_of(self, stack: Stack) -> tuple[np.ndarray, list[np.ndarray]]:
        """A stack's own values and its operands' (one evaluation), stacked on axis 0."""
        return (self.buffers[stack.shape][stack.rows],
                [self.buffers[s][r] for s, r in zip(stack.in_shapes, stack.in_rows)])


def evaluate(graph: Graph, leaves: Mapping[int, np.ndarray], batched: bool = True) -> Values:
    """Run every op once over all nodes. `leaves` gives the value of each input, batched (axis
    0 the batch, of the same length in every leaf) or, with `batched=False`, one evaluation's;
    constants use their own value. A stack's stacked nodes (and batch rows) are the batch axis
    the op table's forward functions take."""
    plan = graph.plan
    batch = next(iter(leaves.values())).shape[0] if leaves and batched else 1
    lead = (batch,) if batched else ()
    buffers = {s: np.empty((n, *lead, *s)) for s, n in plan.counts.items()}
    for i in plan.leaves:
        node = graph.nodes[i]
        value = leaves[node.id] if node.op == "input" else node.const
        assert value is not None
        buffers[node.shape][plan.rows[i]] = value  # broadcast over the batch rows
    scalars = buffers.get(())
    ops, check = graph.ops, graph.deadline.check
    with np.errstate(all="ignore"):
        for stack in plan.stacks:
            check()
            if stack.__class__ is Scalar:  # a number (a row of numbers, batched) at a time
                scalars[stack.row] = ops[stack.op].forward(  # type: ignore[index]
                    *[scalars[r] for r in stack.in_rows])  # type: ignore[index, union-attr]
                continue
            assert isinstance(stack, Stack)
            args = [buffers[s][r] for s, r in zip(stack.in_shapes, stack.in_rows)]
            if batched:
                k = len(stack.nodes)
                out = graph.ops[stack.op].forward(*(a.reshape(k * batch, *s) for a, s in zip(
                    args, stack.in_shapes)), **stack.params).reshape(k, batch, *stack.shape)
            else:
                out = graph.ops[stack.op].forward(*args, **stack.params)
            buffers[stack.shape][stack.rows] = out
    return Values(graph, buffers, batched=batched)


def evaluate_output(graph: Graph, leaves: Mapping[int, np.ndarray],
                    max_elements: int) -> np.ndarray:
    """The output of `evaluate`, for many batch rows: computed a chunk of rows at a time, so
    that no more than `max_elements` numbers are held at once."""
    total = sum(math.prod(s) * n for s, n in graph.plan.counts.items())
    batch = next(iter(leaves.values())).shape[0] if leaves else 1
    step = max(1, max_elements // max(1, total))
    chunks = [evaluate(graph, {i: v[start:start + step] for i, v in leaves.items()})[
        graph.output] for start in range(0, batch, step)]
    return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]


def forward(graph: Graph) -> Values:
    """The forward sweep: every node's value (without a batch axis)."""
    leaves = {n.id: n.const for n in graph.nodes if n.op == "input" and n.const is not None}
    return evaluate(graph, leaves, batched=False)


class Grads(Mapping[int, np.ndarray]):
    """dL/d(node) for every node the backward sweep reached, by id."""

    def __init__(self, plan: Plan, buffers: dict[Shape, np.ndarray]) -> None:
        self.plan, self.buffers = plan, buffers

    def __getitem__(self, i: int) -> np.ndarray:
        if not self.plan.swept[i]:
            raise KeyError(i)
        return self.buffers[self.plan.shapes[i]][self.plan.rows[i]]

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self.plan.swept).tolist())

    def __len__(self) -> int:
        return int(self.plan.swept.sum())

    def finite(self) -> np.ndarray:
        """Per node: whether its gradient is finite (nodes not reached count as finite)."""
        return _finite(self.plan, self.buffers) | ~self.plan.swept


def _finite(plan: Plan, buffers: dict[Shape, np.ndarray]) -> np.ndarray:
    out = np.ones(len(plan.shapes), dtype=bool)
    for shape, nodes in plan.by_shape.items():
        buffer = buffers[shape]
        out[nodes] = np.isfinite(buffer.reshape(len(buffer), -1)).all(axis=1)
    return out


@dataclass
class Terms:
    """What the backward sweep recorded, per term (in step order) and per node: numbers only."""

    contributions: dict[Shape, np.ndarray]  # by the operand's shape, row plan.term_rows[t]
    locals: dict[Shape, np.ndarray]  # the local derivative, where it is the whole Jacobian
    has_local: np.ndarray  # per term (bool)
    kink_any: np.ndarray  # per node (bool): some element sits on its op's kink
    kink_all: np.ndarray  # per node (bool): every element does (the kink's rule is used)


@dataclass
class Sweep:
    """What the reverse sweep produced: gradients, and (when recorded) its terms."""

    grads: Grads
    terms: Terms | None


def backward(graph: Graph, values: Values, record: bool = True,
             seed: np.ndarray | None = None) -> Sweep:
    """The reverse sweep: seed dL/dL = 1, then the chain rule once per edge, stack by stack
    from the output back (a node's consumers are all of later generations, so its gradient is
    complete when its stack comes); a gradient is the sum of its contributions in step order.

    For an array output, `seed` is the cotangent s (ones by default, shaped like the output):
    the sweep then differentiates L = sum(s * output), giving s^T J for the Jacobian J.
    With `record=False` only the gradients are computed.
    """
    plan = graph.plan
    grads = {s: np.zeros((n, *s)) for s, n in plan.counts.items()}
    # One spare zero row per shape: the padding of the sums of fan-out (see _accumulate).
    contributions = {s: np.zeros((plan.term_counts.get(s, 0) + 1, *s)) for s in plan.counts}
    out = graph.output
    grads[plan.shapes[out]][plan.rows[out]] = 1.0 if seed is None else np.reshape(
        seed, plan.shapes[out])
    terms = _recording(plan) if record else None
    scalar = _ScalarSweep(values.buffers.get(()), grads.get(()), contributions.get(()), terms)
    ops, check = graph.ops, graph.deadline.check
    with np.errstate(all="ignore"):
        for stack in reversed(plan.stacks):
            if stack.received is None:
                continue
            check()
            if stack.__class__ is Scalar:
                scalar.step(ops[stack.op], stack)  # type: ignore[arg-type]
                continue
            assert isinstance(stack, Stack)
            _accumulate(stack.received, contributions[stack.shape], grads[stack.shape])
            _stack_vjps(ops[stack.op], stack, values, grads, contributions, terms)
        for shape, received in plan.leaves_received.items():
            _accumulate(received, contributions[shape], grads[shape])
    if terms is not None:
        terms.contributions = contributions
    return Sweep(Grads(plan, grads), terms)


def _recording(plan: Plan) -> Terms:
    count = len(plan.shapes)
    return Terms({}, {s: np.zeros((plan.term_counts.get(s, 0), *s)) for s in plan.counts},
                 np.zeros(len(plan.term_node), dtype=bool), np.zeros(count, dtype=bool),
                 np.zeros(count, dtype=bool))


class _ScalarSweep:
    """The backward step of a `Scalar` stack: `_accumulate` and `_stack_vjps` for one number,
    with the same rules in the same order (a running sum of the contributions in step order,
    each VJP at the upstream gradient, and at 1 for the local derivative), so the numbers are
    those of a one-row stack."""

    def __init__(self, values: np.ndarray | None, grads: np.ndarray | None,
                 contributions: np.ndarray | None, terms: Terms | None) -> None:
        self.values, self.grads, self.contributions = values, grads, contributions
        self.terms = terms
        self.locals = None if terms is None else terms.locals.get(())

    def step(self, op: Op, stack: Scalar) -> None:
        values, grads, contributions = self.values, self.grads, self.contributions
        assert values is not None and grads is not None and contributions is not None
        received = stack.received or ()
        if received:
            g = contributions[received[0]]
            for row in received[1:]:
                g = g + contributions[row]
            grads[stack.row] = g
        else:  # the output: its seed
            g = grads[stack.row]
        ans = values[stack.row]
        args = [values[r] for r in stack.in_rows]
        terms = self.terms
        if terms is not None and op.kink is not None:
            terms.kink_any[stack.node] = terms.kink_all[stack.node] = bool(
                op.kink.where(ans, *args))
        for pos, row in enumerate(stack.term_rows):
            if row < 0:
                continue
            rule = op.vjps[pos]
            contributions[row] = rule(g, ans, *args)
            if terms is not None:
                self.locals[row] = rule(ONE, ans, *args)  # type: ignore[index]
                terms.has_local[stack.term_ids[pos]] = True


def _accumulate(received: Received, buffer: np.ndarray, target: np.ndarray) -> None:
    """Gradients as the sums of the contributions received (`buffer`, by term row), added in
    step order (the first, then + the second, ...: exactly the running sums the records show)."""
    target[received.single_rows] = buffer[received.single_terms]
    if len(received.many_last):
        sums = np.add.accumulate(buffer[received.many_terms], axis=1)
        target[received.many_rows] = sums[np.arange(len(sums)), received.many_last]


def _stack_vjps(op: Op, stack: Stack, values: Values, grads: dict[Shape, np.ndarray],
                contributions: dict[Shape, np.ndarray], terms: Terms | None) -> None:
    """The VJPs of one stack's nodes (of the op `op`), for every operand that needs a
    gradient: contributions (and, when recording, the local derivatives and kinks) into the
    terms' rows."""
    g = grads[stack.shape][stack.rows]
    ans, args = values.rows_of(stack)
    if op.elementwise and len(stack.in_shapes) > 1:
        g, ans, *args = _align(g, ans, *args)
    if terms is not None and op.kink is not None:
        _record_kinks(stack, op.kink.where(ans, *args, **stack.params), terms)
    ones = None
    for pos, (mask, ids, rows) in enumerate(zip(stack.term_mask, stack.term_ids,
                                                stack.term_rows)):
        if not len(ids):
            continue
        src_shape = stack.in_shapes[pos]
        raw = _vjp(op.vjps[pos], op.elementwise, g, ans, args, stack.params)
        contributions[src_shape][rows] = _unbroadcast_rows(raw if mask is None else raw[mask],
                                                           src_shape)
        if terms is not None and has_local(op.elementwise, stack.shape, src_shape):
            ones = np.ones_like(g) if ones is None else ones
            local = _vjp(op.vjps[pos], op.elementwise, ones, ans, args, stack.params)
            terms.locals[src_shape][rows] = _unbroadcast_rows(
                local if mask is None else local[mask], src_shape)
            terms.has_local[ids] = True


def _align(*xs: np.ndarray) -> list[np.ndarray]:
    """Stacked values of one rank, axes inserted after the stacking axis (numpy's broadcasting
    of each row's own values)."""
    rank = max(x.ndim for x in xs)
    return [x if x.ndim == rank else x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:])
            for x in xs]


def _vjp(rule: object, elementwise: bool, g: np.ndarray, ans: np.ndarray,
         args: list[np.ndarray], params: Mapping[str, object]) -> np.ndarray:
    """A VJP over a stack's stacked rows (`elementwise`), or over its one node's own values
    (with its params), returned stacked and broadcast to the node's shape."""
    if elementwise:
        raw = rule(g, ans, *args, **params)  # type: ignore[operator]
        return raw if raw.shape == ans.shape else np.broadcast_to(raw, ans.shape)
    return np.asarray(rule(g[0], ans[0], *(a[0] for a in args),  # type: ignore[operator]
                           **params))[None]


def _unbroadcast_rows(raw: np.ndarray, shape: Shape) -> np.ndarray:
    """Each row summed back to `shape` over the axes broadcasting added or stretched."""
    if raw.shape[1:] == shape:
        return raw
    return np.stack([unbroadcast(shape, np.asarray(r)) for r in raw]) if len(raw) else \
        np.zeros((0, *shape))


def _record_kinks(stack: Stack, where: np.ndarray, terms: Terms) -> None:
    mask = np.broadcast_to(where, where.shape).reshape(len(stack.nodes), -1)
    terms.kink_any[stack.nodes] = mask.any(axis=1)
    terms.kink_all[stack.nodes] = mask.all(axis=1)


def local_derivative(graph: Graph, node: Node, src: Node, pos: int, args: list[np.ndarray],
                     ans: np.ndarray) -> np.ndarray | None:
    """d node / d input as numbers: the VJP applied to g = 1, where that is the whole Jacobian
    (a scalar node, or an elementwise op whose input was not broadcast); else None."""
    op = graph.ops[node.op]
    if not has_local(op.elementwise, node.shape, src.shape):
        return None  # a full Jacobian: only its product with the upstream gradient is shown
    local = np.asarray(op.vjps[pos](np.ones(node.shape) if node.shape else ONE, ans, *args,
                                    **dict(node.params)))
    return unbroadcast(src.shape, local)


def has_local(elementwise: bool, shape: Shape, src_shape: Shape) -> bool:
    """Whether d node / d operand is shown as numbers: the VJP applied to ones is the whole
    Jacobian for a scalar node, or for an elementwise op whose operand was not broadcast."""
    return math.prod(shape) == 1 or (elementwise and shape == src_shape)


class Derivative(NamedTuple):
    """A local derivative in its parts: the partial d node / d input, and the rule it equals."""

    partial: Formula
    rule: Formula

    @classmethod
    def of(cls, node: tuple[str, str], operand: tuple[str, str], rule: Formula) -> Derivative:
        """d node / d operand = rule, from the (plain, LaTeX) texts standing for the node and
        its operand in the partial."""
        return cls(Formula(say("partial", node=node[0], input=operand[0]),
                           say("partial_latex", node=node[1], input=operand[1])), rule)

    @property
    def equation(self) -> Formula:
        """`partial = rule`, in both notations."""
        return Formula(say("equation", partial=self.partial.plain, rule=self.rule.plain),
                       say("equation", partial=self.partial.latex, rule=self.rule.latex))

    def data(self) -> dict[str, object]:
        """The fields a term of the answer carries (schemas.LocalDerivative)."""
        (partial, partial_latex), (rule, rule_latex) = self
        formula, latex = self.equation
        return {"formula": formula, "latex": latex,
                "partial": {"plain": partial, "latex": partial_latex},
                "rule": {"plain": rule, "latex": rule_latex}}


def derivative_formula(graph: Graph, node: Node, src: Node, pos: int,
                       values: Mapping[int, np.ndarray] | None = None,
                       on_kink: bool | None = None) -> Derivative:
    """The local derivative d node / d input, written with the graph's own names: the rule
    actually used at these `values`, which on a kink (relu(0), a tie of max) is the kink's
    (`on_kink`, when the caller knows already whether every element sits on it)."""
    refs = {"y": node.operand}
    for slot, input_id in zip("uvw", node.inputs):
        refs[slot] = graph.node(input_id).operand
    op = graph.ops[node.op]
    if on_kink is None:
        on_kink = values is not None and op.kink is not None and all_at_kink(op, node, values)
    rule = fill(op.kink.rules[pos] if on_kink and op.kink else op.derivs[pos], refs)
    # After \partial, a power or a function call reads unambiguously without brackets.
    return Derivative.of((node.ref(wrapped=True)[0], node.ref(node.precedence < PARTIAL)[1]),
                         (src.ref(wrapped=True)[0], src.ref(src.precedence < PARTIAL)[1]), rule)


SHORT_VECTOR = 4  # vectors up to this length are written out in sentences


def short(value: np.ndarray | float) -> str:
    """A number for a sentence: 4 significant digits; a short vector written out; else a shape."""
    if value.__class__ is float:
        return f"{value:.4g}"
    if is_number(value):
        return f"{float(value):.4g}"
    array = np.asarray(value)
    if array.size == 1:
        return f"{float(array.reshape(())):.4g}"
    if array.ndim == 1 and array.size <= SHORT_VECTOR:
        return "[" + ", ".join(f"{float(x):.4g}" for x in array) + "]"
    return say("array", shape="×".join(map(str, array.shape)))
