"""The sum over paths: d output / d input is the sum, over every path from the input to the
output, of the product of the local derivatives along its edges.

Backprop computes that sum in time linear in the edges, by factoring it: the paths through a node
share the sum of everything after it (colah's "Calculus on Computational Graphs"). This module
shows the sum itself: how many paths there are (counted exactly by dynamic programming over the
DAG, never by enumeration, so 2^40 paths are counted in microseconds) and the largest ones, found
best-first: a search that pops partial paths in order of the best |product| any completion of
them can reach, so the k largest paths come out first without listing the others.

A path multiplies scalar local derivatives, so every node between the input and the output must be
a scalar; an array node on the way is refused (its Jacobian is a matrix, and a path through it
would be a path through one of its elements). See README.md, "Sum over paths".
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..core.graph import Graph, Node, node_key
from ..core.numbers import encode
from ..core.sweeps import local_derivative
from ..errors import ChainruleError
from ..settings import LIMITS, Limits

INT_DIGITS_CHUNK = 1000  # decimal digits converted at once (Python refuses > 4300 in one go)


@dataclass(frozen=True)
class Edge:
    """One edge of the graph on some path from the input to the output, with its local factor."""

    id: str  # the answer's edge id, e<k>
    source: int
    target: int
    position: int
    factor: float


def find_paths(graph: Graph, order: list[Node], values: Mapping[int, np.ndarray],
               grads: Mapping[int, np.ndarray], wrt: str, limit: int,
               limits: Limits = LIMITS) -> dict[str, object]:
    """Count every path from input `wrt` to the output, and list the `limit` largest by |product|.

    `grads` are backprop's gradients (the answer's `gradient`). Raises ChainruleError when `wrt`
    is not an input, or when a node between it and the output is an array.
    """
    if wrt not in graph.inputs:
        known = ", ".join(graph.inputs) or "none"
        raise ChainruleError(f"paths: '{wrt}' is not an input of the program (its inputs: "
                             f"{known})", None, "unknown_name")
    start = graph.inputs[wrt]
    edges = _edges_between(graph, order, values, start)
    counts = count_paths(order, edges, start)
    count = counts.get(graph.output, 0)
    listed = _best_paths(graph, order, edges, start, min(limit, limits.max_paths),
                         limits.max_path_entries) if count else []
    gradient = float(np.asarray(grads.get(start, np.zeros(()))).reshape(()))
    listed_sum = math.fsum(p["product"] for p in listed)  # type: ignore[misc]
    complete = len(listed) == count
    return {
        "wrt": wrt,
        "output": node_key(graph.output),
        "count": count if count.bit_length() < 4 * 3300 else None,
        "count_text": decimal_text(count),
        "gradient": encode(gradient),
        "listed_sum": encode(listed_sum),
        "rest_sum": encode(gradient - listed_sum),
        "complete": complete,
        "labels": {node_key(i): graph.node(i).bare.plain for i in _ids_on(edges, start)},
        "edges": [{"id": e.id, "source": node_key(e.source), "target": node_key(e.target),
                   "position": e.position,
                   "factor": encode(e.factor)} for e in edges],
        "paths": [{**p, "product": encode(p["product"]),  # type: ignore[arg-type]
                   "factors": [encode(f) for f in p["factors"]]}  # type: ignore[attr-defined]
                  for p in listed],
        "note": _note(count, len(listed), complete,
                      len(listed) < min(limit, count), limits.max_path_entries),
    }


def count_paths(order: list[Node], edges: list[Edge], start: int) -> dict[int, int]:
    """Paths from `start` to each node, as exact integers: each node adds up its in-edges'."""
    counts = {start: 1}
    incoming: dict[int, list[Edge]] = {}
    for e in edges:
        incoming.setdefault(e.target, []).append(e)
    for node in order:
        if node.id in incoming:
            counts[node.id] = sum(counts.get(e.source, 0) for e in incoming[node.id])
    return counts


def decimal_text(n: int) -> str:
    """The decimal digits of a non-negative integer of any size (in chunks: Python converts at
    most 4,300 digits at once)."""
    chunks: list[str] = []
    base = 10**INT_DIGITS_CHUNK
    while n >= base:
        n, low = divmod(n, base)
        chunks.append(str(low).zfill(INT_DIGITS_CHUNK))
    return str(n) + "".join(reversed(chunks))


def _edges_between(graph: Graph, order: list[Node], values: Mapping[int, np.ndarray],
                   start: int) -> list[Edge]:
    """The edges on some path from `start` to the output, each with its local derivative."""
    reached = {start}
    for node in order:
        if any(i in reached for i in node.inputs):
            reached.add(node.id)
    leads = {graph.output} if graph.output in reached else set()
    for node in reversed(order):
        if node.id in leads:
            leads.update(i for i in node.inputs if i in reached)
    for node_id in sorted(leads):
        _require_scalar(graph.node(node_id))
    return [Edge(k, src, dst, pos, _factor(graph, values, src, dst, pos))
            for k, src, dst, pos in graph.edges() if src in leads and dst in leads]


def _require_scalar(node: Node) -> None:
    if node.shape:
        what = node.name or node.bare.plain
        raise ChainruleError(
            f"paths multiply scalar local derivatives, but {what} has shape {list(node.shape)}: "
            "between an array's elements a local derivative is a matrix, so a path would run "
            "through single elements. Use scalars here, or look at the Jacobian.",
            node.span, "shape")


def _factor(graph: Graph, values: Mapping[int, np.ndarray], src: int, dst: int,
            pos: int) -> float:
    node = graph.node(dst)
    args = [values[i] for i in node.inputs]
    with np.errstate(all="ignore"):
        local = local_derivative(graph, node, graph.node(src), pos, args, values[dst])
    assert local is not None  # a scalar node's local derivative is always a number
    return float(np.asarray(local).reshape(()))


def _log_abs(x: float) -> float:
    """log |x| for ordering paths; NaN ranks last (-inf) along with zero."""
    a = abs(x)
    return math.log(a) if a > 0 and not math.isnan(a) else -math.inf


def _best_paths(graph: Graph, order: list[Node], edges: list[Edge], start: int, limit: int,
                max_entries: int) -> list[dict[str, object]]:
    """The `limit` paths of largest |product|, largest first, by a best-first search.

    best[v] is the largest log|product| from v to the output (a DP in reverse order), which makes
    the search's bound exact: a partial path's priority is what its best completion reaches, so
    paths reach the output in order. Stops early once the listed paths hold `max_entries` nodes.
    """
    out_edges: dict[int, list[Edge]] = {}
    for e in edges:
        out_edges.setdefault(e.source, []).append(e)
    best = {graph.output: 0.0}
    best_edge: dict[int, Edge] = {}
    for node in reversed(order):
        for e in out_edges.get(node.id, []):
            reach = _log_abs(e.factor) + best[e.target]
            if node.id not in best_edge or reach > best[node.id]:
                best[node.id], best_edge[node.id] = reach, e
    # A partial path: (-priority, -tie-breaker, log|product so far|, node, linked list of
    # edges). Along a node's best edge the priority is carried over exactly, and ties pop the
    # newest first, so the search runs straight down to the output instead of widening
    # over equal paths (a+a doubled 20,000 times has 2^20000 paths of product 1).
    heap: list[tuple[float, int, float, int, tuple[Edge, object] | None]] = [
        (-best[start], 0, 0.0, start, None)]
    found: list[dict[str, object]] = []
    pushed, entries = 1, 0
    while heap and len(found) < limit:
        graph.deadline.check()
        neg_priority, _, logp, at, trail = heapq.heappop(heap)
        if at == graph.output:
            path = _unwind(start, trail)
            entries += len(path["nodes"])  # type: ignore[arg-type]
            if entries > max_entries:
                break
            found.append(path)
            continue
        for e in out_edges.get(at, []):
            step = logp + _log_abs(e.factor)
            priority = -neg_priority if e is best_edge[at] else min(
                -neg_priority, step + best[e.target])
            heapq.heappush(heap, (-priority, -pushed, step, e.target, (e, trail)))
            pushed += 1
    return found


def _unwind(start: int, trail: tuple[Edge, object] | None) -> dict[str, object]:
    chain: list[Edge] = []
    while trail is not None:
        edge, rest = trail
        chain.append(edge)
        trail = rest  # type: ignore[assignment]
    chain.reverse()
    product = 1.0
    for e in chain:
        product *= e.factor
    return {"nodes": [node_key(i) for i in (start, *(e.target for e in chain))], "edges": [e.id for e in chain],
            "positions": [e.position for e in chain], "factors": [e.factor for e in chain],
            "product": product}


def _ids_on(edges: list[Edge], start: int) -> list[int]:
    ids = {start, *(e.source for e in edges), *(e.target for e in edges)}
    return sorted(ids)


def _note(count: int, listed: int, complete: bool, cut: bool, max_entries: int) -> str:
    if complete:
        return (f"All {listed} paths are listed: their products add up to the gradient, which "
                "backprop computes in one pass over the edges without listing any path.")
    return (f"{decimal_text(count)} paths in all, counted by dynamic programming; the {listed} "
            "largest by |product| are listed"
            + (f" (an answer holds at most {max_entries:,} node ids over all its paths)"
               if cut else "")
            + ". Backprop sums all of them in one pass over the edges, by "
            "factoring: the paths through a node share everything after it.")
