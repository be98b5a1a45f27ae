"""The memory of reverse mode: what the tape keeps, its peak, and checkpointing.

The memory line (`memory_line`, the answer's `memory`): the forward steps are the computed
nodes in order, then come the backward steps (the answer's `columns.steps`). A forward value is
held from the step that makes it (the inputs and constants: from the first step) through its
last use: the last backward step that reads it (core/tape.py says which values a step reads),
or, when no backward step does, the last forward step that consumes it (the output: at least to
the end of the forward pass). A gradient is held from the first backward step that adds to it
(the output's: its own step, the seed) through its node's own step (an input's: to the end).
`bytes_at[t]` counts what is held at step t: what the step reads and makes included, each value
its elements × 8 bytes (the engine computes in float64).

Checkpointing (`schedule`) replays the same differentiation as a list of steps over the forward
positions 1..F (position 0: the inputs and constants, always at hand). A checkpoint at position
m keeps the values made up to m that a later step reads (for a chain, the one value x_m); a
segment is then recomputed from it, taped, before its backward steps. Strategies: `all` (keep
everything: plain reverse mode), `none` (recompute from the inputs before every backward
step), `every_k` (a checkpoint every k positions), `sqrt` (every ⌈√F⌉, Chen et al. 2016), and
`revolve` (Griewank and Walther's binomial checkpointing with `slots` checkpoints: the fewest
forward steps there are for that memory). The schedule is played with numbers, each step
reading only what the store holds, so that the gradients it ends with are the evidence that
it kept enough.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..core.graph import Graph
from ..core.numbers import encode
from ..core.ops import unbroadcast
from ..core.sweeps import Values
from ..core.tape import step_reads
from ..errors import ChainruleError
from ..settings import LIMITS, Limits

ITEMSIZE = 8  # bytes of a float64: every value and gradient of the engine
STRATEGIES = ("all", "none", "every_k", "sqrt", "revolve")
KINDS = ("forward", "recompute", "backward")


# ---------------------------------------------------------------- the memory line


def memory_line(graph: Graph) -> dict[str, object]:
    """The tape of the answer's own sweeps, as columns (see the module's docstring)."""
    nodes, plan = graph.nodes, graph.plan
    reads = step_reads(graph)
    forward = [n.id for n in nodes if n.inputs]
    steps = plan.steps.tolist()
    n_fwd, total = len(forward), len(forward) + len(steps)
    when_made = {i: t for t, i in enumerate(forward)}
    last = [-1] * len(nodes)
    for t, i in enumerate(forward):
        last[i] = max(last[i], t)
        for j in nodes[i].inputs:
            last[j] = max(last[j], t)
    for s, i in enumerate(steps):
        for j in reads.get(i, ()):
            last[j] = max(last[j], n_fwd + s)
    last[graph.output] = max(last[graph.output], n_fwd - 1)
    kept = [None if last[i] < 0 else [when_made.get(i, 0), last[i]] for i in range(len(nodes))]
    grad = _grad_spans(graph, steps, n_fwd, total)
    sizes = np.array([n.size * ITEMSIZE for n in nodes], dtype=np.int64)
    both = _held(kept, sizes, total) + _held(grad, sizes, total)
    counts = _held(kept, np.ones(len(nodes), dtype=np.int64), total)
    peak = int(np.argmax(both)) if total else 0
    return {
        "forward_steps": n_fwd,
        "reads": [reads.get(i, []) for i in steps],
        "kept_at": kept,
        "grad_at": grad,
        "bytes_at": both.tolist(),
        "values_at": counts.tolist(),
        "peak": {"step": peak, "bytes": int(both[peak]) if total else 0,
                 "values": int(counts[peak]) if total else 0},
        "itemsize": ITEMSIZE,
    }


def _grad_spans(graph: Graph, steps: list[int], n_fwd: int,
                total: int) -> list[list[int] | None]:
    """Per node, the steps [first, last] its gradient is held (None: it has none)."""
    plan = graph.plan
    at = {i: n_fwd + s for s, i in enumerate(steps)}
    first: dict[int, int] = {graph.output: at.get(graph.output, n_fwd)} if steps else {}
    for node, src in zip(plan.term_node.tolist(), plan.term_input.tolist()):
        first.setdefault(src, at[node])  # terms come in step order: the first is the earliest
    inputs = set(graph.inputs.values())
    spans: list[list[int] | None] = [None] * len(graph.nodes)
    for i, t in first.items():
        spans[i] = [t, total - 1 if i in inputs else at.get(i, t)]
    return spans


def _held(spans: list[list[int] | None], sizes: np.ndarray, total: int) -> np.ndarray:
    """Per step, the sum of `sizes` over the spans that hold it."""
    delta = np.zeros(total + 1, dtype=np.int64)
    for i, span in enumerate(spans):
        if span is not None:
            delta[span[0]] += sizes[i]
            delta[span[1] + 1] -= sizes[i]
    return np.cumsum(delta[:-1])


# ---------------------------------------------------------------- checkpointing


def binomial(length: int, slots: int) -> tuple[int, int]:
    """Griewank's repetition number r (the fewest with C(slots + 1 + r, slots + 1) >= length)
    and the fewest forward steps beyond one per position that reverse `length` steps with
    `slots` checkpoints besides the inputs: r·length − C(slots + 1 + r, slots + 2)."""
    r = 0
    while math.comb(slots + 1 + r, slots + 1) < length:
        r += 1
    return r, r * length - math.comb(slots + 1 + r, slots + 2)


def _split(length: int, slots: int) -> int:
    """Where revolve puts its next checkpoint, counted from the segment's start: a place
    that reaches the binomial count (tests/test_memory.py checks it against a DP)."""
    r, _ = binomial(length, slots)
    return max(math.comb(slots + r - 1, slots + 1), length - math.comb(slots + r, slots), 1)


@dataclass
class _Tape:
    """The graph read as positions, with who reads each value forward and backward."""

    graph: Graph
    at: list[int]  # position -> node id (position 0: the leaves)
    pos: list[int]  # node id -> position
    fwd: list[list[int]]  # node id -> positions of its forward consumers, ascending
    bwd: list[list[int]]  # node id -> positions of the backward steps that read it
    reads: dict[int, list[int]]  # node id -> ids its backward step reads (if any)
    swept: list[bool]
    bytes: list[int]  # node id -> bytes of its value (and of its gradient)

    @classmethod
    def of(cls, graph: Graph) -> _Tape:
        nodes = graph.nodes
        at = [-1] + [n.id for n in nodes if n.inputs]
        pos = [0] * len(nodes)
        for p, i in enumerate(at[1:], 1):
            pos[i] = p
        fwd: list[list[int]] = [[] for _ in nodes]
        bwd: list[list[int]] = [[] for _ in nodes]
        reads = step_reads(graph)
        swept = graph.plan.swept.tolist()
        for p, i in enumerate(at[1:], 1):
            for j in dict.fromkeys(nodes[i].inputs):
                fwd[j].append(p)
            if swept[i]:
                for j in reads.get(i, ()):
                    bwd[j].append(p)
        for lst in bwd:
            lst.sort()
        return cls(graph, at, pos, fwd, bwd, reads, swept,
                   [n.size * ITEMSIZE for n in nodes])

    @property
    def length(self) -> int:
        return len(self.at) - 1


def _read_in(positions: list[int], lo: int, hi: int) -> bool:
    """Whether some position lies in (lo, hi]."""
    k = bisect_right(positions, lo)
    return k < len(positions) and positions[k] <= hi


@dataclass
class _Play:
    """One schedule played: the store of values, the gradients, the counts and the steps."""

    tape: _Tape
    leaves: dict[int, np.ndarray | None]
    numeric: bool
    shown: int
    store: dict[int, np.ndarray | None] = field(default_factory=dict)
    grads: dict[int, np.ndarray | None] = field(default_factory=dict)
    protected: set[int] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)
    value_bytes: int = 0
    grad_bytes: int = 0
    counts: list[int] = field(default_factory=lambda: [0, 0, 0])
    peak: tuple[int, int] = (0, 0)  # (values, bytes) at the peak of bytes
    peak_values: int = 0
    total: int = 0  # steps taken
    steps: dict[str, list[int]] = field(default_factory=lambda: {
        "kind": [], "node": [], "values": [], "bytes": []})

    def __post_init__(self) -> None:
        for i, value in self.leaves.items():
            self._hold(i, value)

    def _hold(self, i: int, value: np.ndarray | None) -> None:
        self.store[i] = value
        self.value_bytes += self.tape.bytes[i]

    def _drop(self, i: int) -> None:
        if i in self.store and i not in self.protected and self.tape.pos[i] > 0:
            del self.store[i]
            self.value_bytes -= self.tape.bytes[i]

    def _record(self, kind: int, node: int) -> None:
        self.counts[kind] += 1
        self.total += 1
        held = self.value_bytes + self.grad_bytes
        if held > self.peak[1]:
            self.peak = (len(self.store), held)
        self.peak_values = max(self.peak_values, len(self.store))
        if len(self.steps["kind"]) < self.shown:
            for key, number in zip(self.steps, (kind, node, len(self.store), held)):
                self.steps[key].append(number)
        if not self.total & 1023:
            self.tape.graph.deadline.check()

    def compute(self, p: int, b: int, lo: int | None) -> None:
        """Make position p's value; then drop what no step up to b needs: a value is kept
        if a forward step in (p, b] reads it, or a backward step in (lo, b] (`lo` None: a
        taped segment, whose every backward step counts)."""
        tape, i = self.tape, self.tape.at[p]
        node = tape.graph.nodes[i]
        missing = [j for j in node.inputs if j not in self.store]
        if missing:
            raise AssertionError(f"schedule lost n{missing[0]} before n{i}")
        value = None
        if self.numeric:
            op = tape.graph.ops[node.op]
            args = [np.asarray(self.store[j]) for j in node.inputs]
            with np.errstate(all="ignore"):
                value = np.asarray(op.forward(*(a[None] for a in args), **dict(node.params))[0],
                                   dtype=np.float64)
        self._hold(i, value)
        self._record(0 if p not in self.seen else 1, i)
        self.seen.add(p)
        for u in (i, *node.inputs):
            if u in self.store and not self._kept(u, p, b, lo):
                self._drop(u)

    def _kept(self, u: int, p: int, b: int, lo: int | None) -> bool:
        tape = self.tape
        pu = tape.pos[u]
        return pu == 0 or u in self.protected or _read_in(tape.fwd[u], p, b) or _read_in(
            tape.bwd[u], pu - 1 if lo is None else lo, b)

    def advance(self, a: int, m: int, b: int) -> list[int]:
        """Run positions a+1..m keeping only what steps after m up to b read: the
        checkpoint at m (its values, returned)."""
        for p in range(a + 1, m + 1):
            self.compute(p, b, m)
        return [i for i in self.tape.at[a + 1:m + 1] if i in self.store]

    def taped(self, a: int, b: int) -> None:
        """Run positions a+1..b (those not held), keeping what their backward steps read."""
        for p in range(a + 1, b + 1):
            if self.tape.at[p] not in self.store:
                self.compute(p, b, None)

    def reverse(self, a: int, b: int) -> None:
        """The backward steps of positions b down to a+1."""
        for p in range(b, a, -1):
            if self.tape.swept[self.tape.at[p]]:
                self.backward(p)

    def backward(self, p: int) -> None:
        tape, i = self.tape, self.tape.at[p]
        graph, node = tape.graph, tape.graph.nodes[i]
        if i not in self.grads:  # the output's: the seed
            self._grad(i, np.ones(node.shape) if self.numeric else None)
        missing = [j for j in tape.reads.get(i, ()) if j not in self.store]
        if missing:
            raise AssertionError(f"schedule lost n{missing[0]} before n{i}'s backward step")
        if self.numeric:
            self._vjps(i)
        else:
            for j in node.inputs:
                if tape.swept[j] and j not in self.grads:
                    self._grad(j, None)
        self._record(2, i)
        if i not in graph.inputs.values():
            self.grads.pop(i)
            self.grad_bytes -= self.tape.bytes[i]
        for u in (i, *tape.reads.get(i, ())):
            pu = tape.pos[u]
            if u in self.store and not _read_in(tape.bwd[u], pu - 1, p - 1):
                self._drop(u)

    def gradient(self, i: int) -> np.ndarray:
        """An input's gradient as the schedule left it (zeros if nothing reached it)."""
        value = self.grads.get(i)
        return np.zeros(self.tape.graph.nodes[i].shape) if value is None else value

    def _grad(self, i: int, value: np.ndarray | None) -> None:
        self.grads[i] = value
        self.grad_bytes += self.tape.bytes[i]

    def _vjps(self, i: int) -> None:
        graph = self.tape.graph
        node = graph.nodes[i]
        op = graph.ops[node.op]
        g = self.grads[i]
        ans = self.store.get(i, np.zeros(node.shape))  # not read where not held
        args = [self.store.get(j, np.zeros(graph.nodes[j].shape)) for j in node.inputs]
        params = dict(node.params)
        for pos, j in enumerate(node.inputs):
            if not self.tape.swept[j]:
                continue
            with np.errstate(all="ignore"):
                raw = np.asarray(op.vjps[pos](g, ans, *args, **params))
            if op.elementwise:
                raw = np.broadcast_to(raw, node.shape)
            part = unbroadcast(graph.nodes[j].shape, raw)
            if j in self.grads:
                self.grads[j] = self.grads[j] + part
            else:
                self._grad(j, np.array(part, dtype=np.float64))

    def checkpoint(self, ids: list[int], on: bool) -> None:
        """Keep a checkpoint's values (`on`), or let them go."""
        if on:
            self.protected.update(ids)
            return
        self.protected.difference_update(ids)
        for i in ids:
            self._drop(i)


def _segments(play: _Play, bounds: list[int]) -> None:
    """Checkpoints at `bounds` (0 first, ascending, below F): the forward pass keeps only
    them and tapes the last segment; each segment is then recomputed, taped, and reversed."""
    last = play.tape.length
    held: list[list[int]] = []
    for a, m in itertools.pairwise(bounds):
        ids = play.advance(a, m, last)
        play.checkpoint(ids, True)
        held.append(ids)
    ends = [*bounds[1:], last]
    for a, b in reversed(list(zip(bounds, ends))):
        play.taped(a, b)
        play.reverse(a, b)
        if held and a == bounds[len(held)]:
            play.checkpoint(held.pop(), False)


def _revolve(play: _Play, a: int, b: int, slots: int) -> None:
    """Reverse positions (a, b] holding a's checkpoint and `slots` more (binomial)."""
    while b - a > 1:
        m = a + (_split(b - a, slots) if slots else b - a - 1)
        ids = play.advance(a, m, b)
        play.checkpoint(ids, True)
        _revolve(play, m, b, max(slots - 1, 0))
        play.checkpoint(ids, False)
        b = m
    if b > a:
        play.taped(a, b)
        play.reverse(a, b)


@dataclass(frozen=True)
class Strategy:
    """A checkpointing strategy and its number: `k` for every_k (sqrt's is ⌈√F⌉), `slots`
    for revolve."""

    name: str
    k: int | None = None
    slots: int | None = None

    def work(self, length: int, backward: int) -> int:
        """Steps the schedule takes, counted before it is played."""
        if self.name in ("none", "revolve"):
            return length + binomial(length, self.slots or 0)[1] + backward
        return 2 * length + backward

    def play(self, play: _Play) -> None:
        length = play.tape.length
        if self.name == "all":
            play.taped(0, length)
            play.reverse(0, length)
        elif self.name in ("none", "revolve"):
            _revolve(play, 0, length, self.slots or 0)
        else:
            k = max(1, self.k or 1)
            _segments(play, list(range(0, max(length, 1), k)))


def strategies(length: int, k: int | None, slots: int | None) -> Iterator[Strategy]:
    """Every strategy, with its number (defaults: k 10, slots ⌈log2(F + 1)⌉)."""
    k = k or 10
    slots = slots if slots is not None else max(1, math.ceil(math.log2(length + 1)))
    yield Strategy("all")
    yield Strategy("none")
    yield Strategy("every_k", k=k)
    yield Strategy("sqrt", k=max(1, math.isqrt(max(length - 1, 0)) + 1) if length else 1)
    yield Strategy("revolve", slots=slots)


def schedule(graph: Graph, values: Values, strategy: str = "sqrt", *, k: int | None = None,
             slots: int | None = None, limits: Limits = LIMITS) -> dict[str, object]:
    """The differentiation replayed under `strategy` (its steps, the first
    `limits.max_schedule_steps` listed, and the gradients it ends with), and every strategy's
    counts and peak for the table."""
    if strategy not in STRATEGIES:
        raise ChainruleError(f"strategy must be one of {', '.join(STRATEGIES)}, not "
                             f"{strategy!r}", None, "request")
    if (k is not None and k < 1) or (slots is not None and slots < 0):
        raise ChainruleError("`k` must be at least 1 and `slots` at least 0", None, "request")
    tape = _Tape.of(graph)
    backward = sum(tape.swept[i] for i in tape.at[1:])
    chosen = {s.name: s for s in strategies(tape.length, k, slots)}
    summary = [_summary(tape, values, s, backward, limits) for s in chosen.values()]
    pick = chosen[strategy]
    played = _played(tape, values, pick, backward, limits, numeric=True)
    row = next(r for r in summary if r["strategy"] == strategy)
    steps = None if played is None else played.steps
    return {
        "strategy": strategy, "k": pick.k, "slots": pick.slots,
        "positions": tape.length, "backward_steps": backward,
        "kinds": list(KINDS),
        "steps": steps,
        "total_steps": row["forward"] + row["recompute"] + row["backward"],  # type: ignore[operator]
        "complete": played is not None and len(steps["kind"]) == sum(played.counts),  # type: ignore[index]
        "gradients": None if played is None else {
            name: encode(played.gradient(i)) for name, i in graph.inputs.items()},
        "summary": summary,
    }


def _played(tape: _Tape, values: Values, strategy: Strategy, backward: int, limits: Limits,
            numeric: bool) -> _Play | None:
    """The schedule played (None: over `limits.max_schedule_work` steps)."""
    if strategy.work(tape.length, backward) > limits.max_schedule_work:
        return None
    graph = tape.graph
    read = {j for i in tape.at[1:] for j in graph.nodes[i].inputs} | {
        j for lst in tape.reads.values() for j in lst}
    leaves = {i: (values[i] if numeric else None) for i in graph.plan.leaves if i in read}
    play = _Play(tape, leaves, numeric, limits.max_schedule_steps if numeric else 0)
    strategy.play(play)
    return play


def _summary(tape: _Tape, values: Values, strategy: Strategy, backward: int,
             limits: Limits) -> dict[str, object]:
    """A strategy's counts and peak (the peak measured by playing it without numbers; null
    past `limits.max_schedule_work` steps, the counts then from their formulas)."""
    length = tape.length
    played = _played(tape, values, strategy, backward, limits, numeric=False)
    if played is not None:
        forward, recompute, back = played.counts
    else:
        forward, back = length, backward
        recompute = strategy.work(length, backward) - length - backward
    return {
        "strategy": strategy.name, "k": strategy.k, "slots": strategy.slots,
        "forward": forward, "recompute": recompute, "backward": back,
        "peak_values": None if played is None else played.peak_values,
        "peak_bytes": None if played is None else played.peak[1],
        "played": played is not None,
        "bound": binomial(length, strategy.slots or 0)[1]
        if strategy.name in ("revolve", "none") else None,
    }


# ---------------------------------------------------------------- a network, by layers

LAYER_KINDS = ("layer", "loss")


def _layer_of(graph: Graph) -> list[str | None]:
    """Per node, the name of its innermost layer (or loss) group; None outside every one."""
    innermost: list[str | None] = []
    for group in graph.groups:
        inherited = innermost[group.parent] if group.parent is not None else None
        innermost.append(group.name if group.kind in LAYER_KINDS else inherited)
    return [None if n.group is None else innermost[n.group] for n in graph.nodes]


def by_layers(graph: Graph, limits: Limits = LIMITS) -> dict[str, object] | None:
    """A network's tape by layers: per layer (its groups of one name taken together), the
    forward values its backward steps read (each counted once per layer, where the layer
    that reads it keeps it, as torch's saved tensors are); and what checkpointing at the
    end of every run of one layer's steps, or of every ⌈√L⌉-th, holds at most and recomputes.
    None for a graph without layers."""
    layer = _layer_of(graph)
    if not any(layer):
        return None
    tape = _Tape.of(graph)
    names = list(dict.fromkeys(name for name in layer if name is not None))
    index = {name: k for k, name in enumerate(names)}
    kept: list[set[int]] = [set() for _ in names]
    for i, reads in tape.reads.items():
        if layer[i] is not None:
            kept[index[layer[i]]].update(reads)  # type: ignore[index]
    runs = [p for p in range(1, tape.length) if layer[tape.at[p]] != layer[tape.at[p + 1]]]
    every = math.isqrt(len(runs)) + 1  # ⌈√L⌉ runs per segment, L = len(runs) + 1
    return {
        "layers": {"name": names,
                   "kept_bytes": [sum(tape.bytes[i] for i in ids) for ids in kept],
                   "kept_values": [len(ids) for ids in kept]},
        "runs": len(runs) + 1,
        "strategies": [_by_bounds(tape, name, bounds, limits) for name, bounds in (
            ("all", []), ("every_layer", runs), ("sqrt_layers", runs[every - 1::every]))],
    }


def _by_bounds(tape: _Tape, name: str, bounds: list[int], limits: Limits) -> dict[str, object]:
    """Checkpoints at the ends of these positions, played without numbers."""
    graph = tape.graph
    read = {j for i in tape.at[1:] for j in graph.nodes[i].inputs} | {
        j for lst in tape.reads.values() for j in lst}
    play = _Play(tape, {i: None for i in graph.plan.leaves if i in read}, False, 0)
    _segments(play, [0, *bounds])
    forward, recompute, backward = play.counts
    return {"strategy": name, "checkpoints": len(bounds), "forward": forward,
            "recompute": recompute, "backward": backward, "peak_values": play.peak_values,
            "peak_bytes": play.peak[1]}
