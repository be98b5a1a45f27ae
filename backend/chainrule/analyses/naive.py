"""The two classic mistakes of a hand-written backward pass, played beside the right one.

micrograd's issues ask most why `backward` sorts the nodes first (#21, #64, #67, #68, #81, #91,
#96), and report what a second `backward()` does without zeroing (#2, #53, PR #102). Both are
replayed here on any graph at its values, step by step, with the op table's own rules (a step is
one run of a node's rule: the gradient it holds, passed on to each operand as a contribution):

- **right**: reverse topological order: each node's rule runs once, when every use of the node
  has added its part (the numbers `core.sweeps.backward` computes, replayed node by node).
- **naive**: the recursion proposed instead of the sort (PR #64, issues #21, #68)::

      def backward(self):          # the output's grad set to 1 first
          self._backward()         # pass on the gradient it holds now, to every operand
          for child in self._prev:
              child.backward()

  A node passes on the whole gradient it holds each time the recursion reaches it: before the
  later uses' contributions have arrived, and again each time it is reached again. Its children
  are its operands one per edge (`children="operands"`: `b + b` reaches b twice, the order PR
  #64 prints, "c, b, a, a, b, a, a"), or micrograd's `_prev = set(_children)`
  (`children="distinct"`: `b + b` reaches b once), in operand order where micrograd's set has
  an arbitrary one. Constants are not visited: no gradient is asked of them.
- **twice**: micrograd's `backward()` run a second time without zeroing: the output's gradient is
  set to 1 again (`self.grad = 1`), every other node keeps what the first pass left and the
  second adds onto it. A node between passes on its stale gradient with the new one, so a leaf
  behind it gets more than twice its gradient (#53's a: 3, not 2); a leaf the output uses
  directly gets exactly twice. So its numbers depend on which nodes the graph has: `c - d` is
  one node here and two in micrograd (`c + (-d)`); a micrograd Value read as `from_micrograd`
  reads it has micrograd's nodes, and micrograd's numbers.

The right and the second pass run in reverse creation order (a topological order; micrograd's
is its depth-first sort's, reversed): the gradients do not depend on which, the step where the
second pass first parts may.

Where a pass parts from the right one: the first step whose contributions differ from the right
pass's at that node (for the naive pass: its rule run with a gradient not yet complete, or run
again; for the second pass: a gradient that was not zeroed), with both numbers and why.

Bounded: the recursion reaches a node once per path from the output (2^40 times behind 40
diamonds). It stops after `limits.max_naive_steps` steps or `limits.max_naive_numbers` numbers
recorded and says so; the number of steps it would take is counted exactly beforehand.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..core.graph import Graph, Node, node_key
from ..core.numbers import encode
from ..core.ops import unbroadcast
from ..core.sweeps import SHORT_VECTOR, short
from ..errors import ChainruleError
from ..settings import LIMITS, Limits
from .paths import decimal_text

CHILDREN = ("operands", "distinct")
RTOL, ATOL = 1e-9, 1e-12  # two gradients agree when numpy's isclose says so at these


def replay(graph: Graph, values: Mapping[int, np.ndarray], *, children: str = "operands",
           limits: Limits = LIMITS) -> dict[str, object]:
    """The right pass, the naive recursion and a second pass without zeroing over `graph` at
    its forward `values`, each as steps, final gradients and where it parts from the right one
    (see the module's docstring), as plain JSON-ready data (`POST /api/v1/naive`)."""
    if children not in CHILDREN:
        raise ChainruleError(f"children must be 'operands' (one per edge) or 'distinct' "
                             f"(micrograd's set), not {children!r}", None, "request")
    rules = _Rules(graph, values, limits)
    right = rules.sweep({})
    twice = rules.sweep(right.grads)
    naive = rules.recursion(children, right.grads)
    return {
        "source": graph.source,
        "output": node_key(graph.output),
        "labels": {node_key(i): rules.label(i) for i in rules.order},
        "children": children,
        "max_steps": limits.max_naive_steps,
        "right": {**right.data(rules), "note": "Reverse topological order: a node's rule runs "
                  "once, after every use of it has added its part."},
        "naive": naive.compared(rules, right),
        "twice": twice.compared(rules, right),
    }


@dataclass
class _Pass:
    """One pass's steps and its gradients at the end (or where it stopped)."""

    kind: str  # "right", "naive" or "twice"
    steps: list[dict[str, object]] = field(default_factory=list)
    grads: dict[int, np.ndarray] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)  # each step's node
    parts: dict[str, object] | None = None
    complete: bool = True
    total_steps: int = 0

    def data(self, rules: _Rules) -> dict[str, object]:
        """The steps and the final gradients, by input name and by node id."""
        return {"steps": self.steps, "gradients": {
            name: encode(self.grads.get(i, np.zeros(rules.graph.node(i).shape)))
            for name, i in rules.graph.inputs.items()},
            "node_gradients": {node_key(i): encode(self.grads.get(i, rules.zeros(i)))
                               for i in rules.order}}

    def compared(self, rules: _Rules, right: _Pass) -> dict[str, object]:
        """`data` with where this pass parts from the right one and which gradients differ."""
        differs = [node_key(i) for i in rules.order
                   if not _close(self.grads.get(i, rules.zeros(i)), right.grads[i])]
        return {**self.data(rules), "complete": self.complete,
                "total_steps": str(self.total_steps or len(self.steps)),
                "parts": self.parts, "differs": differs,
                "note": self.note(rules, differs)}

    def note(self, rules: _Rules, differs: list[str]) -> str:
        """What happened, in a sentence or two."""
        cut = "" if self.complete else (
            f"Stopped after {len(self.steps):,} of the {decimal_text(self.total_steps)} steps the "
            "recursion would take (it reaches a node once per path from the output): the "
            "gradients are those it had then. ")
        if self.parts is None:
            return cut + ("They never part: no node is reached before all its uses have added "
                          "their parts, nor twice, so every gradient is right."
                          if self.kind == "naive" else "They never part.")
        wrong = ", ".join(rules.label(int(k[1:])) for k in differs[:8]) or "none"
        return (cut + f"They part at step {self.parts['step']} ({self.parts['name']}): "
                f"{self.parts['reason']}. Gradients that end wrong: {wrong}"
                + (f" and {len(differs) - 8} more" if len(differs) > 8 else "") + ".")


class _Rules:
    """The graph's nodes on the way to the output, and each node's rule as a function of the
    gradient it holds."""

    def __init__(self, graph: Graph, values: Mapping[int, np.ndarray], limits: Limits) -> None:
        self.graph, self.values, self.limits = graph, values, limits
        self.order = _reached(graph)  # topological order
        self.on_way = set(self.order)
        self.uses: dict[int, list[tuple[int, int]]] = {i: [] for i in self.order}
        for i in self.order:
            for pos, j in enumerate(graph.node(i).inputs):
                if j in self.on_way:
                    self.uses[j].append((i, pos))
        out = graph.node(graph.output)
        self.seed = np.ones(out.shape)  # micrograd's `self.grad = 1`; ones for an array
        self.numbers = 0  # numbers recorded in every pass's steps so far
        self._refuse_beyond_bounds()

    def _refuse_beyond_bounds(self) -> None:
        nodes = len(self.order)
        one_pass = sum(self.graph.node(i).size * (1 + 2 * len(self.uses[i])) for i in self.order)
        if nodes > self.limits.max_naive_steps or 2 * one_pass > self.limits.max_naive_numbers:
            raise ChainruleError(
                f"the passes are replayed step by step for graphs of at most "
                f"{self.limits.max_naive_steps:,} nodes and {self.limits.max_naive_numbers:,} "
                f"numbers recorded: this one has {nodes:,} nodes on the way to the output, "
                f"and one pass records {one_pass:,} numbers", None, "limit")

    def zeros(self, i: int) -> np.ndarray:
        """A zero gradient for node `i`."""
        return np.zeros(self.graph.node(i).shape)

    def label(self, i: int) -> str:
        """How a sentence names node `i`: its name, else its formula."""
        node = self.graph.node(i)
        return node.name or node.bare.plain

    def contributions(self, node: Node, g: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        """(position, operand id, contribution) for each operand on the way to the output: the
        node's rule (its op's VJPs) at the gradient `g`, summed back to the operand's shape."""
        if node.op in ("input", "const"):
            return []
        op = self.graph.ops[node.op]
        ans = self.values[node.id]
        args = [self.values[j] for j in node.inputs]
        out = []
        with np.errstate(all="ignore"):
            for pos, j in enumerate(node.inputs):
                if j not in self.on_way:
                    continue
                raw = np.asarray(op.vjps[pos](g, ans, *args, **dict(node.params)))
                if op.elementwise and raw.shape != node.shape:
                    raw = np.broadcast_to(raw, node.shape)
                out.append((pos, j, unbroadcast(self.graph.node(j).shape, raw)))
        return out

    def run(self, node: Node, grads: dict[int, np.ndarray], step: dict[str, object]
            ) -> list[tuple[int, int, np.ndarray]]:
        """Run `node`'s rule at the gradient it holds in `grads`, adding its contributions to
        its operands' there; `step` records them (with each operand's gradient after)."""
        g = grads.get(node.id, self.zeros(node.id))
        made = self.contributions(node, g)
        recorded = []
        for pos, j, c in made:
            grads[j] = grads.get(j, self.zeros(j)) + c
            recorded.append({"to": node_key(j), "position": pos, "value": encode(c),
                             "after": encode(grads[j])})
            self.numbers += 2 * np.size(c)
        self.numbers += np.size(g)
        step.update({"node": node_key(node.id), "grad": encode(g), "contributions": recorded})
        return made

    def sweep(self, left: Mapping[int, np.ndarray]) -> _Pass:
        """The right pass (`left` empty), or a second pass adding onto the gradients `left`
        from a first: the output's set to the seed, then every rule once in reverse order."""
        done = _Pass("twice" if left else "right", grads=dict(left))
        done.grads[self.graph.output] = self.seed
        for i in reversed(self.order):
            self.graph.deadline.check()
            node = self.graph.node(i)
            step: dict[str, object] = {}
            if left:  # what the first pass left (the output's is set to the seed again)
                step["stale"] = encode(left[i])
            self.run(node, done.grads, step)
            done.steps.append(step)
            done.ids.append(i)
            if left:
                step["wrong"] = not _close(done.grads[i], left[i])
            if step.get("wrong") and done.parts is None:
                done.parts = self._not_zeroed(len(done.steps) - 1, i, done.grads[i], left[i])
        return done

    def recursion(self, children: str, right: Mapping[int, np.ndarray]) -> _Pass:
        """The naive recursion, iterative (a stack of the visits to come, so depth is no
        limit) and stopped past the limits: each visit runs the node's rule at the gradient it
        holds then, and compares its contributions with the right pass's at that node (all of
        them on the first visit, none after)."""
        done = _Pass("naive", grads={self.graph.output: self.seed})
        kids = {i: self._children(i, children) for i in self.order}
        done.total_steps = _visits(self.graph.output, self.order, kids)
        visits: Counter[int] = Counter()
        passed: dict[int, np.ndarray] = {}  # the gradients each node has passed on, added up
        arrived: dict[int, set[tuple[int, int]]] = {i: set() for i in self.order}
        stack: list[tuple[int, int, int | None]] = [(self.graph.output, 0, None)]
        while stack:
            if len(done.steps) >= self.limits.max_naive_steps or \
                    self.numbers > self.limits.max_naive_numbers:
                done.complete = False
                break
            self.graph.deadline.check()
            i, depth, caller = stack.pop()
            visits[i] += 1
            node = self.graph.node(i)
            held = done.grads.get(i, self.zeros(i))
            step: dict[str, object] = {"visit": visits[i], "depth": depth, "caller": caller}
            made = self.run(node, done.grads, step)
            if made:
                passed[i] = passed.get(i, self.zeros(i)) + held
            for pos, j, _ in made:
                arrived[j].add((i, pos))
            expected = self.contributions(node, right[i]) if visits[i] == 1 else []
            step["wrong"] = not all(_close(c, expected[k][2] if expected else 0 * c)
                                    for k, (_, _, c) in enumerate(made))
            done.steps.append(step)
            done.ids.append(i)
            if step["wrong"] and done.parts is None:
                done.parts = self._naive_parting(len(done.steps) - 1, i, visits[i], held,
                                                 passed[i], right[i], arrived[i], caller, done)
            stack.extend((j, depth + 1, len(done.steps) - 1) for j in reversed(kids[i]))
        return done

    def _children(self, i: int, children: str) -> list[int]:
        kids = [j for j in self.graph.node(i).inputs if j in self.on_way]
        return list(dict.fromkeys(kids)) if children == "distinct" else kids

    def _naive_parting(self, step: int, i: int, visit: int, held: np.ndarray,
                       passed: np.ndarray, right: np.ndarray, arrived: set[tuple[int, int]],
                       caller: int | None, done: _Pass) -> dict[str, object]:
        name, uses = self.label(i), self.uses[i]
        times = _times(len(uses))
        at, (held_, passed_, right_) = _worst(passed, right, held, passed, right)
        if visit == 1:
            missing = [u for u in uses if u not in arrived]
            waiting = _and([self.label(c) for c, _ in missing])
            reason = (f"{name} was used {times}: it passed its gradient on{at} ({held_}) "
                      f"before the use{'s' if len(missing) > 1 else ''} by {waiting} arrived; "
                      f"its gradient is {right_}")
        else:
            via = "" if caller is None else " from " + self.label(done.ids[caller])
            operands = _and(list(dict.fromkeys(
                self.label(j) for j in self.graph.node(i).inputs if j in self.on_way)))
            reason = (f"{name} was used {times}: the recursion reached it a {_nth(visit)} "
                      f"time{via} and it passed its whole gradient on again{at} ({held_}; "
                      f"{passed_} in all), so {operands} received it {_times(visit)}")
        return {"step": step, "node": node_key(i), "name": name, "got": encode(passed),
                "right": encode(right), "reason": reason}

    def _not_zeroed(self, step: int, i: int, got: np.ndarray, right: np.ndarray
                    ) -> dict[str, object]:
        name = self.label(i)
        at, (added, left, held) = _worst(got, right, got - right, right, got)
        reason = (f"{name}'s gradient was not zeroed: the second backward() added {added} "
                  f"onto the {left} left from the first{at}, so {name} holds {held} where its "
                  f"gradient is {left}")
        return {"step": step, "node": node_key(i), "name": name, "got": encode(got),
                "right": encode(right), "reason": reason}


def _worst(got: np.ndarray, right: np.ndarray, *shown: np.ndarray) -> tuple[str, list[str]]:
    """The numbers `shown` as a sentence writes them: whole when short (a number, a vector of
    up to SHORT_VECTOR), else their elements where `got` and `right` differ most, and which
    element that is (" at [0, 1]")."""
    got = np.asarray(got)
    if got.ndim == 0 or (got.ndim == 1 and got.size <= SHORT_VECTOR):
        return "", [short(x) for x in shown]
    with np.errstate(all="ignore"):
        gap = np.nan_to_num(np.abs(got - np.asarray(right)), nan=np.inf)
    where = np.unravel_index(int(np.argmax(gap)), got.shape)
    index = ", ".join(str(int(k)) for k in where)
    return f" at [{index}]", [short(float(np.asarray(x)[where])) for x in shown]


def _reached(graph: Graph) -> list[int]:
    """The ids of the output and of every node it depends on that depends on an input (what
    needs a gradient), in topological order."""
    on_way = {graph.output}
    for node in reversed(graph.nodes):
        if node.id in on_way:
            on_way.update(j for j in node.inputs if graph.node(j).requires_grad)
    return sorted(on_way)


def _visits(output: int, order: list[int], kids: Mapping[int, list[int]]) -> int:
    """The recursion's visits in all, exactly: a node is visited once for each of its
    visited parents' visits (a dynamic program in reverse order, never the recursion)."""
    count = Counter({output: 1})
    for i in reversed(order):
        for j in kids[i]:
            count[j] += count[i]
    return sum(count.values())


def _close(a: np.ndarray | float, b: np.ndarray | float) -> bool:
    return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n:,} times")


def _nth(n: int) -> str:
    return {2: "second", 3: "third"}.get(n, f"{n:,}th")


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
