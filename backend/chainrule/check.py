"""The finite-difference check: the other way to get the same numbers, and why it is not used.

A central difference (f(x + h) - f(x - h)) / 2h per input element needs 2N evaluations of the
function for N input elements, where backprop needs one forward and one backward pass. The 2N
evaluations run as one vectorized pass (a batch axis of 2N rows), in chunks that bound memory.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from .engine import evaluate_output, forward, short
from .graph import Graph, Node
from .narration import say
from .ops import Op
from .settings import LIMITS, Limits
from .values import encode

RELATIVE_STEP = 1e-6
RTOL, ATOL = 1e-5, 1e-7


def _elements(graph: Graph, order: list[Node]) -> list[tuple[Node, int]]:
    return [(graph.node(i), k) for i in graph.inputs.values() for k in range(graph.node(i).size)]


def _sample(items: list[tuple[Node, int]], budget: int) -> list[tuple[Node, int]]:
    if len(items) <= budget:
        return items
    picks = np.linspace(0, len(items) - 1, budget).round().astype(int)
    return [items[i] for i in sorted(set(picks.tolist()))]


def perturbed_output(graph: Graph, chunk: list[tuple[Node, int]], steps: np.ndarray,
                     seed: np.ndarray, limits: Limits = LIMITS) -> np.ndarray:
    """L = sum(seed * f) at x + h e_k and x - h e_k for each element k of the chunk: 2 rows per
    element (for a scalar output the seed is 1, so L is f)."""
    rows = 2 * len(chunk)
    leaves = {}
    for node_id in graph.inputs.values():
        node = graph.node(node_id)
        assert node.const is not None
        leaves[node_id] = np.repeat(node.const.reshape(1, -1), rows, axis=0)
    for r, ((node, k), h) in enumerate(zip(chunk, steps, strict=True)):
        leaves[node.id][2 * r, k] += h
        leaves[node.id][2 * r + 1, k] -= h
    shaped = {i: v.reshape((rows, *graph.node(i).shape)) for i, v in leaves.items()}
    out = evaluate_output(graph, shaped, limits.check_chunk_elements)
    return np.broadcast_to(out.reshape(out.shape[0], -1) @ seed.reshape(-1), (rows,))


def finite_difference_check(graph: Graph, order: list[Node], grads: Mapping[str, np.ndarray],
                            output: float, limits: Limits = LIMITS,
                            seed: np.ndarray | None = None,
                            values: Mapping[str, np.ndarray] | None = None) -> dict[str, object]:
    """Compare backprop's gradient with a central difference for every input element, and
    each of the program's own derivative rules with central differences of its primitive
    (`rule_checks`; `values` are the nodes' values, computed again if not given).

    `output` is L, the number differentiated: the output, or sum(seed * output) for an array
    output swept backward from the cotangent `seed`.
    """
    own = any(op.defined is not None for op in graph.ops.values())
    rules = rule_checks(graph, forward(graph) if values is None else values, grads) \
        if own else []
    seed = np.ones(1) if seed is None else seed
    elements = _elements(graph, order)
    total = sum(graph.work(n) for n in order)  # numbers one evaluation computes
    budget = max(1, limits.max_check_work // max(1, 2 * total))
    checked = _sample(elements, budget)
    per_chunk = max(1, limits.check_chunk_elements // max(1, 2 * total))
    entries = []
    flat = {i: np.asarray(grads[i]).reshape(-1) for i in graph.inputs.values() if i in grads}
    for start in range(0, len(checked), per_chunk):
        chunk = checked[start:start + per_chunk]
        base = np.array([float(n.const.reshape(-1)[k]) for n, k in chunk])  # type: ignore[union-attr]
        steps = RELATIVE_STEP * np.maximum(1.0, np.abs(base))
        with np.errstate(all="ignore"):
            out = perturbed_output(graph, chunk, steps, seed, limits)
            numeric = (out[0::2] - out[1::2]) / (2 * steps)
        for (node, k), fd in zip(chunk, numeric.tolist(), strict=True):
            bp = float(flat[node.id][k]) if node.id in flat else 0.0
            entries.append(_entry(node, k, bp, fd, output))
    finite = [e for e in entries if isinstance(e["rel_error"], float)]
    return {
        "method": "central difference (f(x + h) - f(x - h)) / 2h, h = 1e-6 * max(1, |x|)",
        "tolerance": f"|backprop - numeric| <= {ATOL:g} * (1 + |f|) + {RTOL:g} * |numeric|",
        "elements": len(elements),
        "checked": len(checked),
        "complete": len(checked) == len(elements),
        "evaluations": 2 * len(checked),
        "evaluations_for_all": 2 * len(elements),
        "backprop_passes": {"forward": 1, "backward": 1},
        "max_rel_error": max((float(e["rel_error"]) for e in finite), default=0.0),  # type: ignore[arg-type]
        "ok": all(e["ok"] for e in entries) and all(r["ok"] for r in rules),
        "entries": entries,
        "rules": rules,
    }


def _entry(node: Node, k: int, bp: float, numeric: float, output: float
           ) -> dict[str, object]:
    abs_error = abs(bp - numeric)
    scale = max(abs(bp), abs(numeric))
    rel_error = abs_error / scale if scale > 0 else 0.0
    finite = math.isfinite(abs_error)
    ok = finite and abs_error <= ATOL * (1 + abs(output)) + RTOL * abs(numeric)
    return {
        "input": node.name,
        "node": node.id,
        "index": _index(k, node.shape),
        "backprop": encode(bp),
        "numeric": encode(numeric),
        "abs_error": encode(abs_error),
        "rel_error": rel_error if finite else encode(rel_error),
        "ok": bool(ok),
    }


def _index(k: int, shape: tuple[int, ...]) -> list[int]:
    """The place of flat element k in an array of `shape` (row-major), as numpy's
    unravel_index gives it, without its per-call cost (hundreds of entries a check)."""
    index = []
    for size in reversed(shape):
        k, i = divmod(k, size)
        index.append(i)
    return index[::-1]


def rule_checks(graph: Graph, values: Mapping[str, np.ndarray],
                grads: Mapping[str, np.ndarray]) -> list[dict[str, object]]:
    """Each of the program's own derivative rules against central differences of its
    primitive's forward (the function's body), one entry per primitive and argument, over
    every element of every node of it whose rule the backward sweep used for that argument."""
    nodes: dict[str, list[Node]] = defaultdict(list)
    for node in graph.nodes:
        op = graph.ops.get(node.op)
        if op is not None and op.defined is not None and node.id in grads:
            nodes[node.op].append(node)
    entries = []
    for name, of_op in nodes.items():
        op = graph.ops[name]
        assert op.defined is not None
        for pos in range(op.arity):
            used = [n for n in of_op if n.inputs[pos] in grads]
            if used:
                entries.append(_rule_entry(graph, op, pos, used, values))
    return entries


def _rule_entry(graph: Graph, op: Op, pos: int, nodes: list[Node],
                values: Mapping[str, np.ndarray]) -> dict[str, object]:
    """One rule of one primitive, at every element of its nodes: the learner's local
    derivative against (f(.., x + h, ..) - f(.., x - h, ..)) / 2h, elementwise; the element
    that disagrees most (relative to the tolerance) is the one named."""
    assert op.defined is not None
    points = np.concatenate([np.stack([np.broadcast_to(values[i], n.shape).reshape(-1)
                                       for i in n.inputs]) for n in nodes], axis=1)
    owner = np.concatenate([np.full(n.size, k) for k, n in enumerate(nodes)])
    first = np.cumsum([0, *(n.size for n in nodes)])
    steps = RELATIVE_STEP * np.maximum(1.0, np.abs(points[pos]))
    plus, minus = points.copy(), points.copy()
    plus[pos] += steps
    minus[pos] -= steps
    with np.errstate(all="ignore"):
        ans = op.forward(*points)
        numeric = (op.forward(*plus) - op.forward(*minus)) / (2 * steps)
        rule = op.vjps[pos](np.ones_like(ans), ans, *points)
        error = np.abs(rule - numeric)
        tolerance = ATOL * (1 + np.abs(ans)) + RTOL * np.abs(numeric)
        judged = np.isfinite(numeric)  # where the function itself is not smooth, no verdict
        wrong = judged & ~(error <= tolerance)
        badness = np.where(judged, np.nan_to_num(error / tolerance, nan=np.inf), -1.0)
    worst = int(np.argmax(np.where(wrong, badness, -1.0)) if wrong.any() else np.argmax(badness))
    node = nodes[int(owner[worst])]
    params = op.defined.params
    at = {p: float(points[k, worst]) for k, p in enumerate(params)}
    elements = int(points.shape[1])
    fields = {"primitive": op.name, "argument": params[pos], "elements": elements,
              "wrong": int(wrong.sum()), "rule": short(rule[worst]),
              "numeric": short(numeric[worst]),
              "at": ", ".join(f"{p} = {short(v)}" for p, v in at.items())}
    verdict = "rule_wrong" if wrong.any() else "rule_right"
    message = say(verdict, **fields) + (say(f"{verdict}_count", **fields) if elements > 1 else "")
    k = worst - int(first[int(owner[worst])])
    return {
        "primitive": op.name,
        "argument": params[pos],
        "position": pos,
        "node": node.id,
        "index": [int(i) for i in np.unravel_index(k, node.shape)] if node.shape else [],
        "at": {p: encode(v) for p, v in at.items()},
        "rule": encode(float(rule[worst])),
        "numeric": encode(float(numeric[worst])),
        "abs_error": encode(float(error[worst])),
        "elements": elements,
        "wrong": int(wrong.sum()),
        "ok": not wrong.any(),
        "message": message,
        "span": node.span,
        "decorator_span": op.defined.decorator,
        "def_span": op.defined.span,
    }
