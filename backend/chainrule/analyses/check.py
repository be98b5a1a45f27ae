"""The gradient check: backprop's gradient against central differences, two ways.

Element by element: a central difference (f(x + h) - f(x - h)) / 2h per input element needs 2N
evaluations of the function for N input elements, where backprop needs one forward and one
backward pass. The 2N evaluations run as one vectorized pass (a batch axis of 2N rows), in
chunks that bound memory; past a budget (`max_check_work`) an even sample is checked.

By directions, as `torch.autograd.gradcheck(fast_mode=True)` does: for each input tensor,
random unit directions v (`check_directions`, one by default as in gradcheck), comparing
(f(x + hv) - f(x - hv)) / 2h with the gradient's projection ∇f · v. Every element of the
tensor moves in every direction, so 2 x directions x tensors evaluations cover every tensor,
whatever its size; a wrong gradient still shows in its tensor's directions, and that tensor's
elements are then checked one by one (within the budget) to find the element.

`gradient_check` picks one: element by element for a few input elements (`check_elements_up_to`),
by directions above, or whichever the request asks for; the answer says which ran, over what,
and why.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from ..core.graph import Graph, Node, node_key
from ..core.narration import say
from ..core.numbers import encode
from ..core.ops import Op
from ..core.sweeps import evaluate_output, forward, short
from ..errors import ChainruleError
from ..settings import LIMITS, Limits

RELATIVE_STEP = 1e-6
RTOL, ATOL = 1e-5, 1e-7
KINDS = ("auto", "elements", "directions")
DIRECTION_SEED = 0  # the directions are random but the same at every run: answers repeat

ELEMENTS_METHOD = "central difference (f(x + h) - f(x - h)) / 2h, h = 1e-6 * max(1, |x|)"
ELEMENTS_TOLERANCE = f"|backprop - numeric| <= {ATOL:g} * (1 + |f|) + {RTOL:g} * |numeric|"
DIRECTIONS_TOLERANCE = (f"|∇f · v - numeric| <= {ATOL:g} * (1 + |f|) + {RTOL:g} * "
                        "sum |∇f_i v_i|")


def check_kind(check: bool | str) -> str | None:
    """The check a `check` option asks for: None (no check) for False, "auto" for True, else
    "auto", "elements" or "directions" as given."""
    if check is True:
        return "auto"
    if check is False or check is None:
        return None
    if check not in KINDS:
        raise ChainruleError(f"`check` must be true, false, \"auto\", \"elements\" or "
                             f"\"directions\", not {check!r}", None, "request")
    return str(check)


def gradient_check(graph: Graph, order: list[Node], grads: Mapping[int, np.ndarray],
                   output: float, limits: Limits = LIMITS, seed: np.ndarray | None = None,
                   values: Mapping[int, np.ndarray] | None = None,
                   kind: str = "auto") -> dict[str, object]:
    """Backprop's gradient against central differences: element by element, or by random
    directions per input tensor (`kind`; "auto" picks by the number of input elements), and
    each of the program's own derivative rules against central differences of its primitive
    (`rule_checks`; `values` are the nodes' values, computed again if not given).

    `output` is L, the number differentiated: the output, or sum(seed * output) for an array
    output swept backward from the cotangent `seed`.
    """
    own = any(op.defined is not None for op in graph.ops.values())
    rules = rule_checks(graph, forward(graph) if values is None else values, grads) \
        if own else []
    probe = _Probe(graph, order, grads, output, limits, np.ones(1) if seed is None else seed)
    chosen, reason = _choose(probe, kind)
    result = probe.by_elements(reason) if chosen == "elements" else probe.by_directions(reason)
    result["rules"] = rules
    result["ok"] = bool(result["ok"]) and all(r["ok"] for r in rules)
    return result


def finite_difference_check(graph: Graph, order: list[Node], grads: Mapping[int, np.ndarray],
                            output: float, limits: Limits = LIMITS,
                            seed: np.ndarray | None = None,
                            values: Mapping[int, np.ndarray] | None = None) -> dict[str, object]:
    """The check element by element (`gradient_check` with kind "elements")."""
    return gradient_check(graph, order, grads, output, limits, seed, values, "elements")


def _choose(probe: _Probe, kind: str) -> tuple[str, str]:
    """The check to run and why, in a sentence."""
    n, most = probe.elements, probe.limits.check_elements_up_to
    if kind == "elements":
        return "elements", "asked for"
    if kind == "directions":
        return "directions", "asked for"
    if n <= most and probe.element_budget() >= n:
        return "elements", (f"{n:,} input element{'' if n == 1 else 's'}, at most "
                            f"{most:,}: each is checked on its own")
    if probe.directions_for(probe.inputs) >= n:
        return "elements", (f"{n:,} input elements in {len(probe.inputs):,} inputs of one or "
                            "a few numbers each: random directions would take as many "
                            "evaluations as each element on its own")
    why = (f"over {most:,}" if n > most else
           f"too many evaluations to check each of them ({2 * n:,})")
    return "directions", (f"{n:,} input elements, {why}: random directions per input tensor "
                          "cover every tensor in a few evaluations")


class _Probe:
    """One check's graph, gradient and budget, and the two ways to check."""

    def __init__(self, graph: Graph, order: list[Node], grads: Mapping[int, np.ndarray],
                 output: float, limits: Limits, seed: np.ndarray) -> None:
        self.graph, self.output, self.limits, self.seed = graph, output, limits, seed
        self.inputs = [graph.node(i) for i in graph.inputs.values()]
        self.elements = sum(node.size for node in self.inputs)
        self.work = max(1, sum(graph.work(n) for n in order))  # numbers one evaluation computes
        self.grads = {node.id: np.asarray(grads[node.id], dtype=float).reshape(-1)
                      if node.id in grads else np.zeros(node.size) for node in self.inputs}

    def directions_for(self, nodes: Sequence[Node]) -> int:
        """Directions the check by directions takes over `nodes`: `check_directions` for each
        (as many as its elements for a smaller one: a number has one direction)."""
        return sum(min(self.limits.check_directions, node.size) for node in nodes)

    def element_budget(self) -> int:
        """Elements the per-element check can afford (2 evaluations each)."""
        return max(1, self.limits.max_check_work // (2 * self.work))

    def by_elements(self, reason: str) -> dict[str, object]:
        """Every input element on its own (an even sample past the budget)."""
        items = [(node, k) for node in self.inputs for k in range(node.size)]
        checked = _sample(items, self.element_budget())
        entries = self.element_entries(checked)
        counts: dict[int, int] = defaultdict(int)
        for node, _ in checked:
            counts[node.id] += 1
        inputs = [_input_entry(node, 0, counts[node.id],
                               all(e["ok"] for e in entries if e["node"] == node_key(node.id)))
                  for node in self.inputs]
        return self.summary("elements", ELEMENTS_METHOD, ELEMENTS_TOLERANCE, reason,
                            len(checked), len(checked) == len(items), 2 * len(checked),
                            entries, [], inputs)

    def by_directions(self, reason: str) -> dict[str, object]:
        """Random unit directions per input tensor; a tensor that fails is then checked
        element by element, within the budget."""
        per = self.limits.check_directions
        afford = self.limits.max_check_work // (2 * self.work)
        covered = self.inputs
        if self.directions_for(self.inputs) > afford:  # one direction each, as far as it goes
            per, covered = 1, self.inputs[:afford]
        counts_per = [min(per, node.size) for node in covered]
        directions = self.direction_entries(covered, counts_per)
        wrong = {d["node"] for d in directions if not d["ok"]}
        failed = [node for node in covered if node_key(node.id) in wrong]
        budget = max(0, self.element_budget() - len(directions))
        followed = _sample([(node, k) for node in failed for k in range(node.size)], budget) \
            if budget else []
        entries = self.element_entries(followed)
        counts: dict[int, int] = defaultdict(int)
        for node, _ in followed:
            counts[node.id] += 1
        inputs = [_input_entry(node, counts_per[k] if k < len(covered) else 0,
                               counts[node.id], node_key(node.id) not in wrong)
                  for k, node in enumerate(self.inputs)]
        if len(covered) < len(self.inputs):
            reason += (f"; the work budget covered {len(covered)} of {len(self.inputs)} input "
                       "tensors")
        if failed:
            names = ", ".join(str(node.name) for node in failed)
            reason += (f"; {names} disagreed, so {'its' if len(failed) == 1 else 'their'} "
                       f"elements were checked one by one ({len(followed):,} of them)")
        method = (f"directional central difference (f(x + hv) - f(x - hv)) / 2h against ∇f · v "
                  f"for {per} random unit direction{'s' if per > 1 else ''} v per input tensor "
                  "(one per element of a smaller one), h = 1e-6 * max(1, max |x|)")
        return self.summary("directions", method, DIRECTIONS_TOLERANCE, reason,
                            sum(node.size for node in covered), len(covered) == len(self.inputs),
                            2 * len(directions) + 2 * len(followed), entries, directions, inputs)

    def summary(self, kind: str, method: str, tolerance: str, reason: str, checked: int,
                complete: bool, evaluations: int, entries: list[dict[str, object]],
                directions: list[dict[str, object]], inputs: list[dict[str, object]]
                ) -> dict[str, object]:
        errors = [float(e["rel_error"]) for e in [*entries, *directions]  # type: ignore[arg-type]
                  if isinstance(e["rel_error"], float)]
        return {
            "kind": kind,
            "reason": reason,
            "method": method,
            "tolerance": tolerance,
            "elements": self.elements,
            "checked": checked,
            "complete": complete,
            "evaluations": evaluations,
            "evaluations_for_all": 2 * self.elements,
            "backprop_passes": {"forward": 1, "backward": 1},
            "max_rel_error": max(errors, default=0.0),
            "ok": all(e["ok"] for e in [*entries, *directions]),
            "inputs": inputs,
            "directions": directions,
            "entries": entries,
        }

    def element_entries(self, checked: list[tuple[Node, int]]) -> list[dict[str, object]]:
        """A central difference for each (input, element) of `checked`, in chunks."""
        per_chunk = max(1, self.limits.check_chunk_elements // (2 * self.work))
        entries = []
        for start in range(0, len(checked), per_chunk):
            chunk = checked[start:start + per_chunk]
            base = np.array([float(n.const.reshape(-1)[k]) for n, k in chunk])  # type: ignore[union-attr]
            steps = RELATIVE_STEP * np.maximum(1.0, np.abs(base))
            with np.errstate(all="ignore"):
                out = perturbed_output(self.graph, chunk, steps, self.seed, self.limits)
                numeric = (out[0::2] - out[1::2]) / (2 * steps)
            for (node, k), fd in zip(chunk, numeric.tolist(), strict=True):
                entries.append(_entry(node, k, float(self.grads[node.id][k]), fd, self.output))
        return entries

    def direction_entries(self, nodes: Sequence[Node], per: Sequence[int]
                          ) -> list[dict[str, object]]:
        """`per[k]` random unit directions for input `nodes[k]`: all 2 x sum(per) evaluations
        in one batched pass (rows 2r and 2r + 1 are x + hv and x - hv of direction r)."""
        rng = np.random.default_rng(DIRECTION_SEED)
        rows = 2 * sum(per)
        leaves = {n.id: np.repeat(n.const.reshape(1, -1), rows, axis=0)  # type: ignore[union-attr]
                  for n in self.inputs}
        noise = rng.standard_normal(sum(c * n.size for n, c in zip(nodes, per, strict=True)))
        steps, projected, scales, moves = [], [], [], []
        first = drawn = 0
        for node, count in zip(nodes, per, strict=True):
            x = node.const.reshape(-1)  # type: ignore[union-attr]
            step = RELATIVE_STEP * max(1.0, float(np.max(np.abs(x))))
            v = noise[drawn:drawn + count * node.size].reshape(count, node.size)
            drawn += count * node.size
            v /= np.maximum(np.sqrt(np.einsum("ij,ij->i", v, v))[:, None], 1e-300)
            leaves[node.id][first:first + 2 * count:2] += step * v
            leaves[node.id][first + 1:first + 2 * count:2] -= step * v
            first += 2 * count
            g = self.grads[node.id]
            steps += [step] * count
            projected.append(v @ g)
            scales.append(np.abs(v * g).sum(axis=1))
            moves += [(node, d) for d in range(count)]
        with np.errstate(all="ignore"):
            out = _loss_rows(self.graph, leaves, rows, self.seed, self.limits)
            numeric = (out[0::2] - out[1::2]) / (2 * np.array(steps))
        return [_direction_entry(node, d, bp, scale, fd, self.output)
                for (node, d), bp, scale, fd in zip(
                    moves, np.concatenate(projected).tolist(), np.concatenate(scales).tolist(),
                    numeric.tolist(), strict=True)]


def _sample(items: list[tuple[Node, int]], budget: int) -> list[tuple[Node, int]]:
    if len(items) <= budget:
        return items
    picks = np.linspace(0, len(items) - 1, budget).round().astype(int)
    return [items[i] for i in sorted(set(picks.tolist()))]


def _loss_rows(graph: Graph, leaves: dict[int, np.ndarray], rows: int, seed: np.ndarray,
               limits: Limits) -> np.ndarray:
    """L = sum(seed * f) at each row of the inputs' values (`leaves`: rows x size each)."""
    shaped = {i: v.reshape((rows, *graph.node(i).shape)) for i, v in leaves.items()}
    out = evaluate_output(graph, shaped, limits.check_chunk_elements)
    return np.broadcast_to(out.reshape(out.shape[0], -1) @ seed.reshape(-1), (rows,))


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
    return _loss_rows(graph, leaves, rows, seed, limits)


def _input_entry(node: Node, directions: int, elements: int, ok: bool) -> dict[str, object]:
    """What the check covered of one input tensor."""
    return {"input": node.name, "node": node_key(node.id), "shape": list(node.shape), "size": node.size,
            "directions": directions, "elements_checked": elements, "ok": bool(ok)}


def _direction_entry(node: Node, k: int, projected: float, scale: float, numeric: float,
                     output: float) -> dict[str, object]:
    abs_error = abs(projected - numeric)
    larger = max(abs(projected), abs(numeric))
    rel_error = abs_error / larger if larger > 0 else 0.0
    finite = math.isfinite(abs_error)
    ok = finite and abs_error <= ATOL * (1 + abs(output)) + RTOL * scale
    return {
        "input": node.name,
        "node": node_key(node.id),
        "direction": k,
        "backprop": encode(projected),
        "numeric": encode(numeric),
        "abs_error": encode(abs_error),
        "rel_error": rel_error if finite else encode(rel_error),
        "ok": bool(ok),
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
        "node": node_key(node.id),
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


def rule_checks(graph: Graph, values: Mapping[int, np.ndarray],
                grads: Mapping[int, np.ndarray]) -> list[dict[str, object]]:
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
                values: Mapping[int, np.ndarray]) -> dict[str, object]:
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
        "wrong_nodes": _wrong_nodes(nodes, first, wrong, badness,
                                    np.broadcast_to(rule, numeric.shape), numeric),
        "primitive": op.name,
        "argument": params[pos],
        "position": pos,
        "node": node_key(node.id),
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


def _wrong_nodes(nodes: list[Node], first: np.ndarray, wrong: np.ndarray, badness: np.ndarray,
                 rule: np.ndarray, numeric: np.ndarray) -> list[dict[str, object]]:
    """Each node where the rule disagrees with central differences, in graph order, at its
    element that disagrees most: the steps that apply the wrong rule, with both numbers."""
    out: list[dict[str, object]] = []
    for k, node in enumerate(nodes):
        start, end = int(first[k]), int(first[k + 1])
        if not wrong[start:end].any():
            continue
        w = start + int(np.argmax(np.where(wrong[start:end], badness[start:end], -1.0)))
        out.append({"node": node_key(node.id),
                    "index": _index(w - start, node.shape),
                    "rule": encode(float(rule[w])), "numeric": encode(float(numeric[w]))})
    return out
