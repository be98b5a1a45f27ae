"""Grading a learner's gradients, tensor by tensor: against chainrule's, and against the
chain rule applied to the learner's own upstream.

The learner gives dL/dT for some of the forward pass's named tensors T (`chainrule.grade`
finds the names). Each is compared twice:
- with chainrule's gradient (`verdict`): `exact` (equal, element for element), `approx`
  (within the tolerance below), `wrong`, `shape` (not T's shape, nor one that broadcasts to
  it element for element: (64,) for (1, 64) is read as (1, 64)), or `missing`;
- given the learner's upstream (`given_your_upstream`): one reverse sweep in which every
  given (and well-shaped) gradient replaces the one the sweep computed, so that each named
  tensor receives, from its consumers, the op table's VJPs applied to the learner's own
  gradients of the nearest given tensors downstream of it (through any unnamed nodes; where a
  path reaches the output without crossing one, from the true seed). A named tensor that is
  missing, or given in a wrong shape, is passed through as if it had no name: a gradient given
  for a group's input alone (`logits` with none of probs, logprobs, ...) is then graded as
  the whole group's rule (the fused cross entropy, the fused batchnorm).
The first row, in backward order, wrong given its own upstream (`wrong` or `shape`) is
`first_wrong`: the learner's own rule is wrong there; the rows after it that are right given
their upstream say so instead of cascading.

Tolerance: |yours - expected| <= rtol |expected| + atol G elementwise, G the largest |dL/dx|
of chainrule's whole backward pass (or of the expected tensor, if larger): a sum that cancels
to ~0 (makemore's db1, after the batchnorm) is then judged at the scale of its terms. Float64:
rtol 1e-9, atol 1e-12; a forward pass or gradients in a narrower float (float32): rtol 1e-5,
atol 1e-6 (float32's eps is 1.2e-7; torch.allclose's rtol is 1e-5; makemore's right float32
gradients are within 2e-7 of chainrule's float64 ones, with G about 2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.graph import Graph, Node, node_key
from ..core.numbers import encode
from ..core.ops import unbroadcast
from ..core.sweeps import Grads, Values

VERDICTS = ("exact", "approx", "wrong", "shape", "missing")
RIGHT = ("exact", "approx")
WRONG = ("wrong", "shape")  # what makes a row first_wrong, given its upstream
SEED = -1  # among a tensor's sources: the output's seed, reached through no given tensor
FURTHER_UP = "the mistake is further up"
MAX_SOURCES = 6  # sources and pass-throughs kept per tensor, for the hints
FLOAT64_TOLERANCE = (1e-9, 1e-12)
NARROW_TOLERANCE = (1e-5, 1e-6)


@dataclass(frozen=True)
class Tolerance:
    """|yours - expected| <= rtol |expected| + atol max(scale, max |expected|)."""

    rtol: float
    atol: float
    scale: float  # G: the largest |gradient| of chainrule's backward pass
    precision: str  # "float64", or "float32" for a narrower forward pass or gradients

    @classmethod
    def of(cls, narrow: bool, scale: float) -> Tolerance:
        """The tolerance for a float64 pass, or a narrower one (`narrow`)."""
        rtol, atol = NARROW_TOLERANCE if narrow else FLOAT64_TOLERANCE
        return cls(rtol, atol, scale, "float32" if narrow else "float64")

    def bound(self, expected: np.ndarray) -> np.ndarray:
        """The largest difference allowed, per element."""
        top = float(np.max(np.abs(expected), initial=0.0)) if np.all(np.isfinite(expected)) \
            else 0.0
        return self.rtol * np.abs(expected) + self.atol * max(self.scale, top)

    def data(self) -> dict[str, object]:
        return {"rtol": self.rtol, "atol": self.atol, "scale": encode(self.scale),
                "precision": self.precision}


@dataclass
class Upstream:
    """The sweep from the learner's own gradients: what each node received from its
    consumers, and from which given tensors (`sources`, SEED for the output's seed) through
    which named tensors not given (`through`)."""

    received: dict[int, np.ndarray]
    sources: dict[int, frozenset[int]]
    through: dict[int, frozenset[int]]


def broadcasts_to(given: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    """Whether an array of shape `given` stands for one of `shape` element for element: the
    same shape, or one that broadcasting turns into it without repeating any element."""
    if given == shape:
        return True
    try:
        return np.broadcast_shapes(given, shape) == shape and math.prod(given) == math.prod(shape)
    except ValueError:
        return False


def grade_graph(graph: Graph, values: Values, grads: Grads, seed: np.ndarray,
                given: Mapping[int, np.ndarray], named: Mapping[int, str],
                narrow: bool) -> dict[str, Any]:
    """The grading of the arrays `given` (by node id) for the graph's named tensors `named`
    (node id -> the learner's name): `rows` in backward order, `first_wrong` (a name or None)
    and `tolerance`, as plain JSON-ready data (see the module's docstring)."""
    nodes = graph.nodes
    usable = {i: np.asarray(a, dtype=np.float64).reshape(nodes[i].shape)
              for i, a in given.items() if broadcasts_to(np.shape(a), nodes[i].shape)}
    upstream = your_upstream(graph, values, seed, usable, named)
    scale = max((float(np.max(np.abs(grads[i]), initial=0.0)) for i in grads
                 if np.all(np.isfinite(grads[i]))), default=1.0)
    tolerance = Tolerance.of(narrow, scale)
    consumers = _consumers(graph)
    rows = []
    for i in backward_order(graph, [i for i in named if i in given or _needs(graph, grads, i)],
                            consumers):
        true = grads[i] if i in grads else np.zeros(nodes[i].shape)
        rows.append(_row(graph, i, named, given.get(i), usable.get(i), true, upstream,
                         tolerance, consumers))
    first = next((row for row in rows if row["given_your_upstream"]["verdict"] in WRONG), None)
    if first is not None:
        first["hint"] = "the first mistake: " + first["hint"]
        for row in rows:
            row["hint"] = row["hint"].replace(FURTHER_UP, f"{FURTHER_UP}, at {first['name']}")
    return {"rows": rows, "first_wrong": None if first is None else first["name"],
            "tolerance": tolerance.data()}


def _needs(graph: Graph, grads: Grads, i: int) -> bool:
    """Whether a named tensor has a gradient to give: reached by the backward pass, and not
    the output itself (whose gradient is the seed)."""
    return i in grads and i != graph.output and graph.nodes[i].requires_grad


def your_upstream(graph: Graph, values: Values, seed: np.ndarray,
                  usable: Mapping[int, np.ndarray], named: Mapping[int, str]) -> Upstream:
    """One reverse sweep from the output's `seed` in which each node's gradient is the
    learner's where one is `usable`, else the sum of what its consumers sent it; a node's
    `received` is that sum, before its own replaces it (its gradient given the learner's
    upstream). Contributions add up in the backward sweep's order (consumers from the output
    back), so the learner's exact upstream gives chainrule's gradient bit for bit."""
    out = graph.output
    received: dict[int, np.ndarray] = {out: np.asarray(seed, dtype=np.float64)}
    sources: dict[int, frozenset[int]] = {out: frozenset({SEED})}
    through: dict[int, frozenset[int]] = {out: frozenset()}
    check = graph.deadline.check
    for k in range(out, -1, -1):
        if k not in received or not graph.nodes[k].inputs:
            continue
        if k % 256 == 0:
            check()
        node = graph.nodes[k]
        mine = k in usable
        g = usable[k] if mine else received[k]
        sent = frozenset({k}) if mine else sources[k]
        passed = frozenset() if mine else (
            through[k] | {k} if k in named and k != out and len(through[k]) < MAX_SOURCES
            else through[k])
        for pos, src, contribution in _contributions(graph, node, g, values):
            received[src] = contribution if src not in received else received[src] + contribution
            sources[src] = _capped(sources.get(src, frozenset()), sent)
            through[src] = _capped(through.get(src, frozenset()), passed)
    return Upstream(received, sources, through)


def _capped(a: frozenset[int], b: frozenset[int]) -> frozenset[int]:
    return a if len(a) >= MAX_SOURCES or b <= a else frozenset(sorted(a | b)[:MAX_SOURCES])


def _contributions(graph: Graph, node: Node, g: np.ndarray, values: Values
                   ) -> list[tuple[int, int, np.ndarray]]:
    """(position, operand, dL/d operand's share) for each operand that needs a gradient: the
    op table's VJP at the upstream `g`, broadcasting undone."""
    op = graph.ops[node.op]
    ans = values[node.id]
    args = [values[i] for i in node.inputs]
    params = dict(node.params)
    out = []
    with np.errstate(all="ignore"):
        for pos, src in enumerate(node.inputs):
            operand = graph.nodes[src]
            if not operand.requires_grad or pos in op.data:
                continue
            raw = np.asarray(op.vjps[pos](g, ans, *args, **params))
            if op.elementwise and raw.shape != np.shape(ans):
                raw = np.broadcast_to(raw, np.shape(ans))
            out.append((pos, src, np.asarray(unbroadcast(operand.shape, raw), dtype=np.float64)))
    return out


def _consumers(graph: Graph) -> list[list[tuple[int, int]]]:
    """Per node: (consumer, position) for each use of it, among the nodes up to the output."""
    consumers: list[list[tuple[int, int]]] = [[] for _ in graph.nodes]
    for node in graph.nodes[:graph.output + 1]:
        for pos, src in enumerate(node.inputs):
            consumers[src].append((node.id, pos))
    return consumers


def backward_order(graph: Graph, ids: list[int], consumers: list[list[tuple[int, int]]]
                   ) -> list[int]:
    """The tensors `ids` in the order the backward pass completes their gradients: a tensor's
    is complete once its first consumer (the earliest node that reads it) has sent its share;
    tensors completed by the same node, in the order of its operands."""
    def key(i: int) -> tuple[float, int, int]:
        if not consumers[i]:
            return (math.inf if i == graph.output else -math.inf, 0, -i)
        first, pos = min(consumers[i])
        return (first, -pos, i)
    return sorted(ids, key=key, reverse=True)


# ---------------------------------------------------------------- one row


def _row(graph: Graph, i: int, named: Mapping[int, str], given: np.ndarray | None,
         usable: np.ndarray | None, true: np.ndarray, upstream: Upstream,
         tolerance: Tolerance, consumers: list[list[tuple[int, int]]]) -> dict[str, Any]:
    """One tensor's row: its verdict against chainrule's gradient and given its upstream."""
    node = graph.nodes[i]
    name = named[i]
    base = {"name": name, "node": node_key(i), "shape": list(node.shape),
            "given_shape": None if given is None else list(np.shape(given))}
    if given is None:
        verdict = _verdict("missing")
        return {**base, **verdict, "given_your_upstream": {**verdict, "from": [],
                "through": [], "seed": False},
                "hint": "not given: graded through with chainrule's rules"}
    local = upstream.received.get(i, np.zeros(node.shape))
    came = _origin(upstream, i, named)
    if usable is None:
        hint = shape_hint(graph, node, name, np.shape(given), consumers)
        verdict = _verdict("shape")
        return {**base, **verdict, "given_your_upstream": {**verdict, **came}, "hint": hint}
    row = {**base, **compare(usable, true, tolerance)}
    mine = {**compare(usable, local, tolerance), **came}
    row["given_your_upstream"] = mine
    row["hint"] = _hint(name, row, mine, np.shape(given) != node.shape, node.shape)
    return row


def _verdict(verdict: str) -> dict[str, Any]:
    return {"verdict": verdict, "max_diff": None, "index": None, "yours": None,
            "expected": None}


def compare(yours: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> dict[str, Any]:
    """`exact`, `approx` or `wrong`, with the largest difference; for `wrong`, the worst
    element (the one furthest past the tolerance): its index and both numbers."""
    yours = np.asarray(yours, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if np.array_equal(yours, expected):
        return {"verdict": "exact", "max_diff": 0.0, "index": None, "yours": None,
                "expected": None}
    with np.errstate(all="ignore"):
        diff = np.abs(yours - expected)
        excess = np.where(np.isnan(diff), np.inf, diff - tolerance.bound(expected))
    max_diff = encode(float(np.max(np.where(np.isnan(diff), np.inf, diff))))
    if np.all(excess <= 0):
        return {"verdict": "approx", "max_diff": max_diff, "index": None, "yours": None,
                "expected": None}
    flat = int(np.argmax(excess))
    index = [int(k) for k in np.unravel_index(flat, expected.shape)]
    return {"verdict": "wrong", "max_diff": max_diff, "index": index,
            "yours": encode(float(yours.reshape(-1)[flat])),
            "expected": encode(float(expected.reshape(-1)[flat]))}


def _origin(upstream: Upstream, i: int, named: Mapping[int, str]) -> dict[str, Any]:
    """Where a tensor's upstream came from: the given tensors (`from`), the named ones passed
    through with chainrule's rules (`through`), and whether the output's seed (`seed`)."""
    sources = upstream.sources.get(i, frozenset())
    return {"from": [named.get(s, f"n{s}") for s in sorted(sources, reverse=True) if s != SEED],
            "through": [named[s] for s in sorted(upstream.through.get(i, frozenset()),
                                                 reverse=True) if s in named],
            "seed": SEED in sources}


def _d(name: str) -> str:
    """`dW1` for W1; `d(0.weight)` for a path."""
    return f"d{name}" if name.isidentifier() else f"d({name})"


def _from_words(mine: dict[str, Any]) -> str:
    """`your dprobs, dh` / `the loss's seed`, and the tensors passed through."""
    parts = [f"your {', '.join(_d(n) for n in mine['from'])}"] if mine["from"] else []
    if mine["seed"]:
        parts.append("the output's seed (dL/dL = 1)")
    words = " and ".join(parts) or "nothing (it does not reach the output)"
    if mine["through"]:
        words += (f", through chainrule's rules for {', '.join(mine['through'])} "
                  "(not given, or not usable)")
    return words


def _hint(name: str, row: dict[str, Any], mine: dict[str, Any], reshaped: bool,
          shape: tuple[int, ...]) -> str:
    """What a row says: right; right from the learner's upstream though wrong itself (a
    mistake further up); or the learner's own rule wrong here, with the worst element."""
    source = _from_words(mine)
    note = f" (your shape {row['given_shape']} read as {list(shape)})" if reshaped else ""
    if mine["verdict"] in RIGHT:
        if row["verdict"] in RIGHT:
            return f"right{note}"
        return f"right, from {source}: {FURTHER_UP}{note}"
    at = f" at {mine['index']}" if mine["index"] else ""
    return (f"your rule for {_d(name)} is wrong: from {source}, the chain rule gives "
            f"{_number(mine['expected'])}{at}, yours is {_number(mine['yours'])}{note}")


def _number(x: object) -> str:
    return f"{x:.6g}" if isinstance(x, float) else str(x)


# ---------------------------------------------------------------- shapes, in words


def shape_hint(graph: Graph, node: Node, name: str, given: tuple[int, ...],
               consumers: list[list[tuple[int, int]]]) -> str:
    """Why the gradient of `node` has its shape, from the op that consumed or produced it:
    a tensor broadcast in an elementwise op has its gradient summed back over the broadcast
    axes; a tensor reduced along an axis has its gradient broadcast back along it."""
    expected = tuple(node.shape)
    tail = f": expected {_shape(expected)}, got {_shape(given)}"
    bigger = math.prod(given) > math.prod(expected)
    for consumer_id, _ in consumers[node.id]:
        consumer = graph.nodes[consumer_id]
        op = graph.ops[consumer.op]
        what = graph.label(consumer)
        if bigger and op.elementwise and len(consumer.inputs) > 1 and \
                tuple(consumer.shape) != expected:
            axes = _broadcast_axes(expected, tuple(consumer.shape))
            return (f"{name} {_shape(expected)} is broadcast along {_axes(axes)} in {what} "
                    f"{_shape(consumer.shape)}, so its gradient is summed over {_axes(axes)} "
                    f"back to {_shape(expected)}{tail}")
        if not bigger and "axis" in dict(op.params):
            axis = dict(consumer.params).get("axis")
            return (f"the forward pass reduced {name} with {op.name} over {_axes(axis)} (in "
                    f"{what}), so the gradient is broadcast back along {_axes(axis)}{tail}")
    producer = graph.ops.get(node.op)
    if producer is not None and "axis" in dict(producer.params):
        params = dict(node.params)
        keep = " (keepdims)" if params.get("keepdims") else ""
        return (f"{name} is a {producer.name} over {_axes(params.get('axis'))}{keep}: its "
                f"gradient has its shape{tail}")
    if len(given) == len(expected) > 1 and tuple(reversed(given)) == expected:
        return f"transposed? the gradient of {name} has {name}'s own shape{tail}"
    return f"the gradient of {name} has {name}'s own shape{tail}"


def _broadcast_axes(shape: tuple[int, ...], to: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of `to` along which an array of `shape` is stretched or added."""
    padded = (1,) * (len(to) - len(shape)) + shape
    return tuple(k for k, (a, b) in enumerate(zip(padded, to)) if a != b)


def _axes(axis: object) -> str:
    if axis is None:
        return "every axis"
    if isinstance(axis, int):
        return f"axis {axis}"
    axes = list(axis)  # type: ignore[call-overload]
    return f"axis {axes[0]}" if len(axes) == 1 else f"axes {', '.join(map(str, axes))}"


def _shape(shape: tuple[int, ...] | list[int]) -> str:
    return str(tuple(shape))
