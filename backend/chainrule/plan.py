"""The graph cut into groups that one numpy call computes: the sweeps' plan.

Nodes of one generation (no path between them) with the same op and the same input shapes are
independent and alike, so their forward values, their VJPs and their local derivatives are one
numpy call each over a stacked axis: a scalar graph costs numpy calls per (generation, op), not
per node. An op that is not elementwise (matmul, sum, softmax, ...) keeps one node a group: its
rules see one unbatched value at a time.

Every value lives in a buffer per shape (`rows[i]` is node i's row in the buffer of its shape),
so a group's operands are gathered with one fancy index per position. The backward sweep's
terms (one per edge it follows, in the step order of the records: consumers from the output
back, operands in position order) are numbered here too, since they depend on the graph alone.
The plan is made once per graph and kept on it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .graph import Graph
from .ops import OPS

Shape = tuple[int, ...]
Index = np.ndarray  # of int64


@dataclass(frozen=True)
class Group:
    """Nodes that one call computes: one generation, one op, the same input shapes."""

    op: str
    nodes: Index  # node indices, in creation order
    shape: Shape  # the nodes' shape
    rows: Index  # their rows in the buffer of `shape`
    in_shapes: tuple[Shape, ...]  # per position: the operands' shape
    in_rows: tuple[Index, ...]  # per position: the operands' rows in their buffer
    # Per position: which of the nodes send a term back to that operand (the node is swept
    # and the operand needs a gradient), and the numbers of those terms.
    term_mask: tuple[np.ndarray, ...]
    term_ids: tuple[Index, ...]


@dataclass(frozen=True)
class Plan:
    """Buffers, groups and terms of one graph (see the module's docstring)."""

    shapes: list[Shape]  # per node
    rows: Index  # per node: its row in the buffer of its shape
    counts: dict[Shape, int]  # nodes per shape
    groups: list[Group]  # generation by generation, from the inputs to the output
    leaves: list[int]  # inputs and constants
    swept: np.ndarray  # per node (bool): reached by the backward sweep (its step exists)
    steps: Index  # the swept nodes, in step order (the output first)
    # Per term, in step order: the node it belongs to, its operand and the operand's position.
    term_node: Index
    term_input: Index
    term_position: Index
    term_rows: Index  # per term: its row among the terms whose operand has its shape
    term_counts: dict[Shape, int]
    # Per node: the terms it receives (as an operand), in step order, as index ranges.
    received_start: Index
    received: Index


def plan_of(graph: Graph) -> Plan:
    """The graph's plan, made on first use and kept on the graph."""
    plan = graph.__dict__.get("_plan")
    if plan is None:
        plan = _make(graph)
        graph.__dict__["_plan"] = plan
    return plan


def _make(graph: Graph) -> Plan:
    nodes = graph.nodes
    count = len(nodes)
    shapes = [n.shape for n in nodes]
    counts: dict[Shape, int] = defaultdict(int)
    rows = np.empty(count, dtype=np.int64)
    for i, shape in enumerate(shapes):
        rows[i] = counts[shape]
        counts[shape] += 1
    swept = _swept(graph)
    term_node, term_input, term_position = _terms(graph, swept)
    steps = np.array([i for i in range(count - 1, -1, -1) if swept[i]], dtype=np.int64)
    term_counts: dict[Shape, int] = defaultdict(int)
    term_rows = np.empty(len(term_node), dtype=np.int64)
    for t, src in enumerate(term_input.tolist()):
        term_rows[t] = term_counts[shapes[src]]
        term_counts[shapes[src]] += 1
    order = np.argsort(term_input, kind="stable")  # by operand, in step order within one
    received_start = np.searchsorted(term_input[order], np.arange(count + 1))
    term_of = {(n, p): t for t, (n, p) in enumerate(zip(term_node.tolist(),
                                                         term_position.tolist()))}
    return Plan(shapes, rows, dict(counts), _groups(graph, shapes, rows, term_of),
                [i for i, n in enumerate(nodes) if not n.inputs], swept, steps,
                term_node, term_input, term_position, term_rows, dict(term_counts),
                received_start.astype(np.int64), order.astype(np.int64))


def _swept(graph: Graph) -> np.ndarray:
    """The nodes the backward sweep visits: those that depend on an input and that the output
    depends on."""
    needed = np.zeros(len(graph.nodes), dtype=bool)
    needed[int(graph.output[1:])] = True
    for i in range(len(graph.nodes) - 1, -1, -1):
        if needed[i]:
            for src in graph.nodes[i].inputs:
                needed[int(src[1:])] = True
    requires = np.fromiter((n.requires_grad for n in graph.nodes), dtype=bool,
                           count=len(graph.nodes))
    return needed & requires


def _terms(graph: Graph, swept: np.ndarray) -> tuple[Index, Index, Index]:
    """Every term of the backward sweep in step order: (node, operand, position)."""
    node_ids, inputs, positions = [], [], []
    for i in range(len(graph.nodes) - 1, -1, -1):
        if not swept[i]:
            continue
        for pos, src in enumerate(graph.nodes[i].inputs):
            j = int(src[1:])
            if swept[j]:
                node_ids.append(i)
                inputs.append(j)
                positions.append(pos)
    return tuple(np.array(xs, dtype=np.int64)  # type: ignore[return-value]
                 for xs in (node_ids, inputs, positions))


def _groups(graph: Graph, shapes: list[Shape], rows: Index,
            term_of: dict[tuple[int, int], int]) -> list[Group]:
    """The op nodes grouped by (generation, op, operand shapes), generation by generation."""
    generation = graph.generations()
    keyed: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i, node in enumerate(graph.nodes):
        if not node.inputs:
            continue
        srcs = [int(s[1:]) for s in node.inputs]
        key: tuple[object, ...] = (generation[node.id], node.op, *(shapes[s] for s in srcs))
        if not OPS[node.op].elementwise:
            key += (i,)
        keyed[key].append(i)
    groups = []
    for key in sorted(keyed, key=lambda k: (k[0], keyed[k][0])):
        members = np.array(keyed[key], dtype=np.int64)
        first = graph.nodes[int(members[0])]
        in_nodes = [np.array([int(graph.nodes[m].inputs[p][1:]) for m in members.tolist()],
                             dtype=np.int64) for p in range(len(first.inputs))]
        ids = [np.array([term_of.get((m, p), -1) for m in members.tolist()], dtype=np.int64)
               for p in range(len(first.inputs))]
        groups.append(Group(first.op, members, first.shape, rows[members],
                            tuple(shapes[int(s[0])] for s in in_nodes),
                            tuple(rows[s] for s in in_nodes),
                            tuple(t >= 0 for t in ids), tuple(t[t >= 0] for t in ids)))
    return groups
