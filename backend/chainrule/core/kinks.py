"""Kinks: where a node's op is not differentiable at the point (abs(0), relu(0), a tie of max
or min), the convention its VJPs follow there, and the one-sided derivatives around it.

Everything about an op's kink is data of its op-table entry (`ops.Kink`); this module finds the
nodes that sit on one and says so: a `kink` warning per node, and the sentence the narration
adds to each edge whose local derivative was taken by convention.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import warning
from .graph import Graph, Node, format_number, node_key
from .narration import say
from .ops import Op


def kink_mask(op: Op | None, node: Node, values: Mapping[int, np.ndarray]
              ) -> np.ndarray | None:
    """Which elements of `node` (of the op `op`; None for a leaf) sit on its op's kink, or None
    if none does."""
    if op is None or op.kink is None:
        return None
    with np.errstate(all="ignore"):
        mask = np.asarray(op.kink.where(values[node.id], *(values[i] for i in node.inputs),
                                        **dict(node.params)),
                          dtype=bool)
    return mask if mask.any() else None


def all_at_kink(op: Op, node: Node, values: Mapping[int, np.ndarray]) -> bool:
    """Whether every element of `node` sits on the kink: then the rule used is the kink's."""
    mask = kink_mask(op, node, values)
    return mask is not None and bool(mask.all())


def sentence(node: Node, pos: int, graph: Graph, values: Mapping[int, np.ndarray]) -> str:
    """The convention for input `pos` of a node on a kink, with its one-sided derivatives:
    "relu'(0) is taken as 0; from the left 0, from the right 1"."""
    op = graph.ops[node.op]
    assert op.kink is not None
    kink = op.kink
    at = kink_point(graph, node, values)
    taken, left, right = kink.numbers(at, node.params)
    sides = say("kink_sides", taken=format_number(taken[pos]),
                left=format_number(left[pos]), right=format_number(right[pos]))
    point = format_number(at)
    if op.arity == 1:
        return say("kink_unary", op=op.name, point=point, sides=sides)
    return say("kink_binary", node=node.ref(wrapped=True)[0], where=kink.point, point=point,
               sides=sides, input=graph.node(node.inputs[pos]).ref(wrapped=True)[0])


def kink_point(graph: Graph, node: Node, values: Mapping[int, np.ndarray]) -> float:
    """The input's value at the kink (the first element on it)."""
    mask = kink_mask(graph.ops.get(node.op), node, values)
    first = values[node.inputs[0]]
    if mask is None or np.ndim(first) == 0:
        return float(np.asarray(first).reshape(-1)[0])
    return float(np.broadcast_to(first, mask.shape)[mask][0])


def kink_warnings(graph: Graph, values: Mapping[int, np.ndarray],
                  grads: Mapping[int, np.ndarray]) -> list[dict[str, object]]:
    """A `kink` warning for each node whose derivative the backward sweep took on a kink."""
    found = []
    for node in graph.nodes:
        op = graph.ops.get(node.op)
        if op is None or op.kink is None:  # most nodes: asked before the mappings are
            continue
        mask = kink_mask(op, node, values) if node.requires_grad and node.id in grads else None
        if mask is None:
            continue
        assert op is not None
        kink = op.kink
        assert kink is not None
        where = "" if mask.size == 1 else f"at {int(mask.sum())} of {mask.size} elements, "
        text = "; and ".join(sentence(node, pos, graph, values) for pos in range(len(node.inputs)))
        taken, left, right = kink.numbers(kink_point(graph, node, values), node.params)
        found.append(warning("kink", f"{node.ref(wrapped=False)[0]} is not differentiable here: "
                             f"{where}{text}", node_key(node.id), node.span, kink={
                                 "point": kink.point, "elements": int(mask.sum()),
                                 "inputs": [{"input": node_key(src), "taken": taken[pos],
                                             "left": left[pos], "right": right[pos]}
                                            for pos, src in enumerate(node.inputs)]}))
    return found
