"""The graph cut into stacks that one numpy call computes: the sweeps' plan.

Nodes of one generation (no path between them) with the same op and the same input shapes are
independent and alike, so their forward values, their VJPs and their local derivatives are one
numpy call each over a stacked axis: a scalar graph costs numpy calls per (generation, op), not
per node. An op that is not elementwise (matmul, sum, softmax, ...) keeps one node a stack: its
rules see one unbatched value at a time.

A deep graph (a chain, a long one-line sum) has a generation, so a stack, per node: stacking
one row buys nothing and its slices and index arrays cost more than the numbers. A scalar
node alone in its stack, of an elementwise op on scalars, is a `Scalar` instead: the sweeps
take it number by number with the same rules, and the plan keeps only its row numbers.

Every value lives in a buffer per shape (`rows[i]` is node i's row in the buffer of its shape),
so a stack's operands are gathered with one fancy index per position. The backward sweep's
terms (one per edge it follows, in the step order of the records: consumers from the output
back, operands in position order) are numbered here too, since they depend on the graph alone.
The plan is made once per graph and kept on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType
from typing import NamedTuple, Protocol

import numpy as np

from .ops import Op

Shape = tuple[int, ...]


class _Node(Protocol):
    """What a plan reads of a node (graph.Node)."""

    @property
    def op(self) -> str: ...
    @property
    def inputs(self) -> list[int]: ...
    @property
    def shape(self) -> Shape: ...
    @property
    def requires_grad(self) -> bool: ...
    @property
    def params(self) -> tuple[tuple[str, object], ...]: ...


class Graph(Protocol):
    """What a plan reads of a graph (graph.Graph, which makes its plan here on first use, so
    this module does not import it)."""

    @property
    def nodes(self) -> Sequence[_Node]: ...
    @property
    def output(self) -> int: ...
    @property
    def ops(self) -> Mapping[str, Op]: ...


Index = np.ndarray | slice  # rows: an int64 array, or a slice where they are consecutive


def as_index(rows: list[int]) -> Index:
    """Rows as a slice where they are consecutive (a view, not a copy, and quicker), else as
    an array."""
    if len(rows) == 1:
        return slice(rows[0], rows[0] + 1)
    if not rows:
        return slice(0, 0)
    if rows[-1] - rows[0] == len(rows) - 1 and all(
            b - a == 1 for a, b in pairwise(rows)):
        return slice(rows[0], rows[-1] + 1)
    return np.array(rows, dtype=np.int64)


class Received(NamedTuple):
    """How nodes of one shape sum the contributions they received: where one contribution is
    the whole gradient (`single`), and where several are added up in step order (`many`: a row
    of term rows per node, padded with the spare zero row, summed left to right)."""

    single_rows: Index  # node rows in their buffer
    single_terms: Index  # the term row of their one contribution
    many_rows: Index
    many_terms: np.ndarray  # (nodes, widest fan-out) of term rows
    many_last: np.ndarray  # per row: fan-out - 1




class Stack(NamedTuple):
    """Nodes that one call computes: one generation, one op, the same input shapes."""

    op: str
    nodes: list[int]  # node indices, in creation order
    shape: Shape  # the nodes' shape
    rows: Index  # their rows in the buffer of `shape`
    in_shapes: tuple[Shape, ...]  # per position: the operands' shape
    in_rows: tuple[Index, ...]  # per position: the operands' rows in their buffer
    # Per position: which of the nodes send a term back to that operand (the node is swept
    # and the operand needs a gradient; None: all of them), the numbers of those terms, and
    # their rows among the terms of the operand's shape.
    term_mask: tuple[np.ndarray | None, ...]
    term_ids: tuple[list[int], ...]
    term_rows: tuple[Index, ...]
    received: Received | None = None  # how the nodes' gradients are summed (None: not swept)
    # The nodes' static params (equal in a stack), as the keywords of their op's rules.
    params: Mapping[str, object] = MappingProxyType({})


class Scalar(NamedTuple):
    """One node alone in its stack, a scalar of an elementwise op on scalars: every node of a
    deep chain (`-----x`, `a2 = sin(a1)`, a long one-line sum). Stacking one row buys nothing,
    so the sweeps take it number by number, with the same op-table rules on numpy scalars, and
    the plan keeps only the row numbers they index (all in the buffers of shape ())."""

    op: str
    node: int
    row: int  # its row in the scalars' buffer
    in_rows: tuple[int, ...]  # per position: the operand's row
    term_rows: tuple[int, ...]  # per position: the row of its term among the scalars', or -1
    term_ids: tuple[int, ...]  # per position: the number of its term, or -1
    received: tuple[int, ...] | None  # the term rows it receives, in step order (None: not
    # swept); empty for the output, whose gradient is the seed


@dataclass(frozen=True)
class Plan:
    """Buffers, stacks and terms of one graph (see the module's docstring)."""

    shapes: list[Shape]  # per node
    rows: np.ndarray  # per node: its row in the buffer of its shape
    counts: dict[Shape, int]  # nodes per shape
    by_shape: dict[Shape, np.ndarray]  # per shape: its nodes, in the order of their rows
    generation: list[int]  # per node: its layer (Graph.layers)
    stacks: list[Stack | Scalar]  # generation by generation, from the inputs to the output
    leaves: list[int]  # inputs and constants
    leaves_received: dict[Shape, Received]  # how the leaves' gradients are summed, by shape
    swept: np.ndarray  # per node (bool): reached by the backward sweep (its step exists)
    steps: np.ndarray  # the swept nodes, in step order (the output first)
    # Per term, in step order: the node it belongs to, its operand and the operand's position.
    term_node: np.ndarray
    term_input: np.ndarray
    term_position: np.ndarray
    term_rows: np.ndarray  # per term: its row among the terms whose operand has its shape
    term_counts: dict[Shape, int]


def make_plan(graph: Graph) -> Plan:
    """The graph's plan (`Graph.plan` makes it once, on first use)."""
    nodes = graph.nodes
    count = len(nodes)
    shapes = [n.shape for n in nodes]
    inputs = [n.inputs for n in nodes]
    counts: dict[Shape, int] = defaultdict(int)
    rows = []
    for shape in shapes:
        rows.append(counts[shape])
        counts[shape] += 1
    swept = _swept(inputs, graph.output, [n.requires_grad for n in nodes])
    term_node: list[int] = []
    term_input: list[int] = []
    term_position: list[int] = []
    term_counts: dict[Shape, int] = defaultdict(int)
    term_rows: list[int] = []
    received_by: list[list[int]] = [[] for _ in nodes]
    sent: list[list[int] | None] = [None] * count  # per node: its term per operand, or -1
    for i in range(count - 1, -1, -1):  # step order: the output first, operands in order
        if swept[i]:
            sent[i] = ids = [-1] * len(inputs[i])
            for pos, src in enumerate(inputs[i]):
                if swept[src]:
                    ids[pos] = len(term_node)
                    received_by[src].append(len(term_node))
                    term_node.append(i)
                    term_input.append(src)
                    term_position.append(pos)
                    term_rows.append(term_counts[shapes[src]])
                    term_counts[shapes[src]] += 1
    receiving = _Receiving(rows, term_rows, received_by, term_counts)
    leaves = [i for i, n in enumerate(nodes) if not n.inputs]
    leaves_received = {shape: receiving.of([i for i in leaves if shapes[i] == shape], shape)
                       for shape in {shapes[i] for i in leaves}}
    by_shape: dict[Shape, list[int]] = defaultdict(list)
    for i, shape in enumerate(shapes):
        by_shape[shape].append(i)
    generation: list[int] = []  # Graph.layers(), from the inputs read above
    for operands in inputs:
        generation.append(1 + max([generation[j] for j in operands], default=-1))
    return Plan(shapes, _ints(rows), dict(counts), {s: _ints(n) for s, n in by_shape.items()},
                generation,
                _stacks(graph, inputs, generation, shapes, rows, term_rows, sent, receiving),
                leaves, leaves_received, np.array(swept, dtype=bool),
                _ints([i for i in range(count - 1, -1, -1) if swept[i]]),
                _ints(term_node), _ints(term_input), _ints(term_position),
                _ints(term_rows), dict(term_counts))


def _ints(xs: list[int]) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


@dataclass(frozen=True)
class _Receiving:
    """What plan-making knows of the terms each node receives."""

    rows: list[int]
    term_rows: list[int]
    received_by: list[list[int]]  # per node: the terms it receives, in step order
    term_counts: dict[Shape, int]

    def of(self, nodes: list[int], shape: Shape) -> Received:
        """How `nodes` (all of `shape`) sum what they receive."""
        single_rows, single_terms, many_rows, many = [], [], [], []
        for m in nodes:
            got = self.received_by[m]
            if len(got) == 1:
                single_rows.append(self.rows[m])
                single_terms.append(self.term_rows[got[0]])
            elif got:
                many_rows.append(self.rows[m])
                many.append([self.term_rows[t] for t in got])
        if not many:
            return Received(as_index(single_rows), as_index(single_terms), _NONE, _NO_TERMS,
                            _NO_TERMS[:, 0])
        width = max(map(len, many))
        pad = self.term_counts.get(shape, 0)  # the spare zero row
        return Received(as_index(single_rows), as_index(single_terms), as_index(many_rows),
                        np.array([row + [pad] * (width - len(row)) for row in many],
                                 dtype=np.int64),
                        np.array([len(row) - 1 for row in many], dtype=np.int64))


_NONE = slice(0, 0)
_NO_TERMS = np.zeros((0, 1), dtype=np.int64)


def _swept(inputs: list[list[int]], output: int, requires: list[bool]) -> list[bool]:
    """The nodes the backward sweep visits: those that depend on an input and that the output
    depends on."""
    needed = [False] * len(inputs)
    needed[output] = True
    for i in range(len(inputs) - 1, -1, -1):
        if needed[i]:
            for src in inputs[i]:
                needed[src] = True
    return [n and r for n, r in zip(needed, requires)]


def _single(node: int, op: str, shape: Shape, operands: list[int], shapes: list[Shape],
            rows: list[int], term_rows: list[int], sent: list[list[int] | None],
            receiving: _Receiving, params: tuple[tuple[str, object], ...] = ()) -> Stack:
    """The stack of one node."""
    ids = sent[node] or [-1] * len(operands)
    kept = tuple([t] if t >= 0 else [] for t in ids)
    return Stack(op, [node], shape, slice(rows[node], rows[node] + 1),
                 tuple(shapes[n] for n in operands),
                 tuple(slice(rows[n], rows[n] + 1) for n in operands), (None,) * len(operands),
                 kept, tuple(slice(term_rows[t], term_rows[t] + 1) if t >= 0 else _NONE
                             for t in ids),
                 receiving.of([node], shape) if any(t >= 0 for t in ids) else None,
                 dict(params))


def _stacks(graph: Graph, inputs: list[list[int]], generation: list[int],
            shapes: list[Shape], rows: list[int],
            term_rows: list[int], sent: list[list[int] | None],
            receiving: _Receiving) -> list[Stack | Scalar]:
    """The op nodes grouped by (generation, op, operand shapes), generation by generation,
    in creation order within one (a generation of one node, a deep graph's usual one, is
    its own stack without a key made)."""
    ops = [node.op for node in graph.nodes]
    params = [node.params for node in graph.nodes]
    elementwise = {name: op.elementwise for name, op in graph.ops.items()}
    by_generation: list[list[int]] = [[] for _ in range(max(generation, default=0) + 1)]
    for i, operands in enumerate(inputs):
        if operands:
            by_generation[generation[i]].append(i)
    stacks: list[Stack | Scalar] = []
    for nodes in by_generation:
        if len(nodes) == 1:
            node = nodes[0]
            stacks.append(_alone(node, ops[node], elementwise[ops[node]], inputs, shapes, rows,
                                 term_rows, sent, receiving, params[node]))
            continue
        keyed: dict[tuple[object, ...], list[int]] = defaultdict(list)
        for i in nodes:
            key: tuple[object, ...] = (ops[i], *[shapes[s] for s in inputs[i]])
            if not elementwise[ops[i]]:
                key += (i,)
            if params[i]:  # one numpy call takes one set of params
                key += params[i]
            keyed[key].append(i)
        for members in keyed.values():
            first = members[0]
            if len(members) == 1:
                stacks.append(_alone(first, ops[first], elementwise[ops[first]], inputs,
                                     shapes, rows, term_rows, sent, receiving, params[first]))
            else:
                stacks.append(_stacked(members, ops[first], inputs, shapes, rows, term_rows,
                                       sent, receiving, params[first]))
    return stacks


def _alone(node: int, op: str, elementwise: bool, inputs: list[list[int]],
           shapes: list[Shape], rows: list[int], term_rows: list[int],
           sent: list[list[int] | None], receiving: _Receiving,
           params: tuple[tuple[str, object], ...] = ()) -> Stack | Scalar:
    """The stack of a node alone in it: a Scalar where it and its operands are scalars (a
    shape () is falsy) and its op elementwise."""
    operands = inputs[node]
    if shapes[node] or not elementwise or params or any(shapes[n] for n in operands):
        return _single(node, op, shapes[node], operands, shapes, rows, term_rows, sent,
                       receiving, params)
    sends = sent[node] or [-1] * len(operands)
    swept = any(t >= 0 for t in sends)  # as a Stack's `received`: it sends a term
    term_row = receiving.term_rows
    return Scalar(op, node, rows[node], tuple([rows[n] for n in operands]),
                  tuple([-1 if t < 0 else term_row[t] for t in sends]), tuple(sends),
                  tuple([term_row[t] for t in receiving.received_by[node]]) if swept else None)


def _stacked(members: list[int], op: str, inputs: list[list[int]], shapes: list[Shape],
             rows: list[int], term_rows: list[int], sent: list[list[int] | None],
             receiving: _Receiving, params: tuple[tuple[str, object], ...] = ()) -> Stack:
    """The stack of several nodes alike (one op, one set of params), stacked."""
    first = members[0]
    shape = shapes[first]
    arity = len(inputs[first])
    in_nodes = [[inputs[m][p] for m in members] for p in range(arity)]
    ids = [[(sent[m] or [-1] * arity)[p] for m in members] for p in range(arity)]
    kept = [[t for t in tp if t >= 0] for tp in ids]
    return Stack(
        op, members, shape, as_index([rows[m] for m in members]),
        tuple(shapes[ns[0]] for ns in in_nodes),
        tuple(as_index([rows[n] for n in ns]) for ns in in_nodes),
        tuple(None if len(k) == len(members) else np.array([t >= 0 for t in tp])
              for k, tp in zip(kept, ids)),
        tuple(kept),
        tuple(as_index([term_rows[t] for t in k]) for k in kept),
        receiving.of(members, shape) if any(kept) else None, dict(params))
