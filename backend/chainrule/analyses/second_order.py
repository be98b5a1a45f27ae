"""Hessian-vector products two ways, and a Hessian filled column by column by N of them.

Both read one graph: the program, then its backward graph built as nodes (readers/backward.py,
what a `grad(L, x)` line builds), g = dL/dx, then `dot = sum(g · v)` for a vector v held in
constants. Forward over reverse pushes the tangent v from x through the forward and the
backward graph (the op table's JVPs, one pass alongside the values): the tangent of g is H v.
Reverse over reverse runs the forward sweep over the whole graph, then the backward sweep
from `dot`: the gradient of g · v with respect to x is H v too (two passes, every value kept
for the second). Their cost is counted from the graph: nodes swept, and the arrays alive at
the peak (a value and its tangent live from their node until their last reader; the reverse
sweep keeps every value of the forward sweep until it turns).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.graph import Graph, Node, node_key
from ..core.numbers import encode
from ..core.sweeps import Values, backward, forward
from ..errors import ChainruleError, Deadline
from ..readers.backward import gradients
from ..readers.parsing import parse
from ..readers.program import built_program
from ..settings import LIMITS, Limits

MAX_HESSIAN = 64  # input elements at most: one HVP each way per column


@dataclass
class SecondOrder:
    """The program's graph with the backward graph of its output and g · v built on."""

    graph: Graph
    output: Node
    wrt: list[Node]
    grads: list[Node]  # dL/dx per x of wrt
    directions: list[Node]  # the constants holding v, one per x
    dot: Node  # sum over x of sum(g * v): the output of the graph

    @property
    def size(self) -> int:
        """N: the elements of the inputs differentiated, one after the other."""
        return sum(x.size for x in self.wrt)

    def set_direction(self, v: np.ndarray) -> None:
        """Hold the flat vector `v` in the direction constants (in place: the graph's plan
        reads constants when it runs)."""
        start = 0
        for x, holder in zip(self.wrt, self.directions):
            assert holder.const is not None
            holder.const[...] = np.reshape(v[start:start + x.size], x.shape)
            start += x.size

    def split(self, v: np.ndarray) -> list[np.ndarray]:
        parts, start = [], 0
        for x in self.wrt:
            parts.append(np.reshape(v[start:start + x.size], x.shape))
            start += x.size
        return parts


def second_order(source: str, values: Mapping[str, object] | None, wrt: Sequence[str] | None,
                 limits: Limits = LIMITS, deadline: Deadline | None = None,
                 output: str | None = None, overrides: Collection[str] | None = None
                 ) -> SecondOrder:
    """Build the program, the backward graph of its (scalar) output with respect to `wrt`
    (default: every input) and g · v."""
    program = parse(source, limits)
    builder, out = built_program(program, values, limits,
                                 deadline or Deadline(limits.max_seconds), overrides, output)
    if out.shape:
        raise ChainruleError(f"a Hessian needs a scalar output, but it has shape "
                             f"{list(out.shape)}: reduce it with sum(...)", out.span, "shape")
    names = list(builder.inputs) if wrt is None else list(wrt)
    for name in names:
        if name not in builder.inputs:
            known = ", ".join(builder.inputs) or "none"
            raise ChainruleError(f"'{name}' is not an input of the program (its inputs: "
                                 f"{known})", None, "unknown_name")
    xs = [builder.nodes[builder.inputs[name]] for name in names]
    if not xs:
        raise ChainruleError("the program has no input to differentiate", None, "grad")
    span = (0, len(source))
    with builder.group("backward", f"grad({out.name or 'output'}, [{', '.join(names)}])", span):
        grads = gradients(builder, out, xs, None, span, "hessian")
        directions = [builder.leaf("const", np.zeros(x.shape), span) for x in xs]
        dot: Node | None = None
        for g, v in zip(grads, directions):
            term = builder.apply("sum", [builder.apply("mul", [g, v], span)], span)
            dot = term if dot is None else builder.apply("add", [dot, term], span)
    assert dot is not None
    graph = builder.finish(dot)
    return SecondOrder(graph, out, xs, grads, directions, dot)


def tangents(graph: Graph, values: Values, seeds: Mapping[int, np.ndarray],
             upto: int) -> dict[int, np.ndarray]:
    """Forward mode over nodes [0, upto]: each node's tangent from its operands' (the op
    table's JVPs), starting from `seeds` by node id."""
    t = dict(seeds)
    with np.errstate(all="ignore"):
        for node in graph.nodes[:upto + 1]:
            if node.op in ("input", "const") or not any(i in t for i in node.inputs):
                continue
            graph.deadline.check()
            op = graph.ops[node.op]
            args = [values[i] for i in node.inputs]
            total = np.zeros(node.shape)
            for pos, src in enumerate(node.inputs):
                if src in t and pos not in op.data:
                    total = total + np.asarray(op.jvps[pos](
                        t[src], values[node.id], *args, **dict(node.params))).reshape(node.shape)
            t[node.id] = total
    return t


def hvp_both(s: SecondOrder, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """H v forward over reverse and reverse over reverse (flat)."""
    s.set_direction(v)
    values = forward(s.graph)
    seeds = {x.id: part for x, part in zip(s.wrt, s.split(v))}
    t = tangents(s.graph, values, seeds, max(g.id for g in s.grads))
    fwd = np.concatenate([np.ravel(t.get(g.id, np.zeros(g.shape))) for g in s.grads])
    grads = backward(s.graph, values, record=False).grads
    rev = np.concatenate([np.ravel(grads[x.id]) if x.id in grads else np.zeros(x.size)
                          for x in s.wrt])
    return fwd, rev


def hessian_at(s: SecondOrder) -> tuple[Values, np.ndarray, np.ndarray]:
    """At the inputs' current values: the forward values, the gradient (flat) and the Hessian
    (N × N), by one forward sweep and N forward-over-reverse HVPs, column j being H e_j (the
    tangents stop at the last gradient, before g · v: the direction constants are not read)."""
    values = forward(s.graph)
    n, last_g = s.size, max(g.id for g in s.grads)
    gradient = np.concatenate([np.ravel(values[g.id]) for g in s.grads])
    matrix = np.zeros((n, n))
    for j in range(n):
        seeds = {x.id: part for x, part in zip(s.wrt, s.split(np.eye(n)[j]))}
        t = tangents(s.graph, values, seeds, last_g)
        matrix[:, j] = np.concatenate([np.ravel(t.get(g.id, np.zeros(g.shape)))
                                       for g in s.grads])
    return values, gradient, matrix


def costs(s: SecondOrder) -> dict[str, dict[str, object]]:
    """Per way, one HVP's passes, nodes swept and arrays alive at the peak."""
    nodes = s.graph.nodes
    last_g = max(g.id for g in s.grads)
    kept = {g.id for g in s.grads}
    alive = _peak_alive(nodes[:last_g + 1], kept)
    forward_nodes = sum(1 for n in nodes if n.id <= s.output.id)
    return {
        "forward_over_reverse": {
            "passes": 1, "nodes": last_g + 1,
            "peak_alive": 2 * alive,
            "note": "one sweep carrying each node's value and tangent through the forward "
                    "and the backward graph; each pair freed after its last reader"},
        "reverse_over_reverse": {
            "passes": 2, "nodes": len(nodes),
            "peak_alive": len(nodes) + 1,
            "note": "the forward sweep over the forward graph, the backward graph and g · v, "
                    "then a backward sweep from g · v: every value is kept until it turns"},
        "graph": {"forward_nodes": forward_nodes,
                  "backward_nodes": sum(1 for n in nodes[forward_nodes:last_g + 1])},
    }


def _peak_alive(nodes: Sequence[Node], kept: set[int]) -> int:
    """The most values alive at once in a sweep in creation order: each from its node to its
    last reader (or to the end, for `kept`)."""
    last = {n.id: n.id for n in nodes}
    for n in nodes:
        for i in n.inputs:
            last[i] = max(last[i], n.id)
    end = nodes[-1].id if nodes else 0
    for i in kept:
        last[i] = end
    frees = np.zeros(end + 2, dtype=int)
    for i, stop in last.items():
        frees[stop + 1] += 1
    peak = count = 0
    for n in nodes:
        count += 1 - int(frees[n.id])
        peak = max(peak, count)
    return int(peak)


def hessian_data(source: str, values: Mapping[str, object] | None = None, *,
                 wrt: Sequence[str] | None = None, v: object = None,
                 output: str | None = None, limits: Limits = LIMITS,
                 deadline: Deadline | None = None) -> dict[str, object]:
    """The Hessian of the program's output by N HVPs each way, column by column; with `v`
    (flat, N numbers), H v both ways too. JSON-ready (`POST /api/v1/hessian`)."""
    s = second_order(source, values, wrt, limits, deadline, output)
    n = s.size
    if n > MAX_HESSIAN:
        raise ChainruleError(f"the inputs have {n} elements: a Hessian here takes at most "
                             f"{MAX_HESSIAN} (one HVP per column)", None, "limit")
    columns, matrix = [], np.zeros((n, n))
    for j in range(n):
        fwd, rev = hvp_both(s, np.eye(n)[j])
        matrix[:, j] = fwd
        columns.append({"index": j, "forward_over_reverse": encode(fwd),
                        "reverse_over_reverse": encode(rev),
                        "difference": float(np.max(np.abs(fwd - rev))) if n else 0.0})
    values_ = forward(s.graph)
    answer: dict[str, object] = {
        "source": source,
        "output": s.output.name or s.output.bare.plain,
        "value": float(values_[s.output.id]),
        "wrt": _layout(s),
        "size": n,
        "gradient": encode(np.concatenate([np.ravel(values_[g.id]) for g in s.grads])),
        "hessian": encode(matrix),
        "symmetric": bool(np.allclose(matrix, matrix.T, rtol=1e-9, atol=1e-12)),
        "columns": columns,
        "cost": {**costs(s), "hessian_hvps": n},
        "kinks": kinks(s, values_),
    }
    if v is not None:
        direction = np.ravel(np.asarray(v, dtype=np.float64))
        if direction.size != n:
            raise ChainruleError(f"v has {direction.size} numbers; the inputs have {n}",
                                 None, "shape")
        fwd, rev = hvp_both(s, direction)
        answer["hvp"] = {"v": encode(direction), "forward_over_reverse": encode(fwd),
                         "reverse_over_reverse": encode(rev)}
    return answer


def kinks(s: SecondOrder, values: Values) -> list[dict[str, object]]:
    """The forward nodes on their op's kink at this point: there the first derivative takes
    its convention and the second jumps (relu's is 0 on both sides, but its first derivative
    steps from 0 to 1), so the Hessian is the one of the side the convention picks."""
    found: list[dict[str, object]] = []
    for node in s.graph.nodes[:s.output.id + 1]:
        op = s.graph.ops.get(node.op)
        if op is None or op.kink is None:
            continue
        args = [values[i] for i in node.inputs]
        where = np.asarray(op.kink.where(values[node.id], *args, **dict(node.params)))
        if where.any():
            found.append({"node": node_key(node.id), "op": op.name, "point": op.kink.point,
                          "elements": int(where.sum())})
    return found


def _layout(s: SecondOrder) -> list[dict[str, object]]:
    """Each input differentiated: its name, shape and first place among the N."""
    out: list[dict[str, object]] = []
    start = 0
    for x in s.wrt:
        out.append({"name": x.name, "shape": list(x.shape), "offset": start})
        start += x.size
    return out

