"""The two classic mistakes played (analyses/naive.py), through the Python and the HTTP API.

The oracles: micrograd's own Value class, transcribed below with the naive backward its issues
propose (PR #64's `backward_bad`) and its `backward()` called twice, run on the same program;
and sympy for the right gradients.
"""

from __future__ import annotations

import dataclasses
import math
import time

import pytest
from chainrule import ChainruleError, naive
from chainrule.answer.schemas import NaiveResponse
from chainrule.settings import LIMITS
from fastapi.testclient import TestClient

from .oracles import assert_close, more_ops_values, sympy_gradients

ISSUE_64 = "a = x; b = a + a; c = b + b"  # micrograd PR #64's minimal example (a = 1)
ISSUE_68 = "c = a + b; d = a * b; e = c + d; f = c * d; y = e + f"  # a = 2, b = 3
ISSUE_53 = "c = a + b; e = c * d"  # a = 3, b = 2, d = 1: a's gradient 1, then 3 (not 2)


class Value:
    """micrograd's engine.Value (karpathy/micrograd, engine.py), the ops these programs use.

    `_prev` is micrograd's `set(_children)` with `PREV = "distinct"`, kept as an ordered set
    (dict.fromkeys: the same members, in operand order, where a set's order is arbitrary), and
    the children one per operand (`b + b`: b twice) with `PREV = "operands"`, the variant whose
    visit order PR #64 prints.
    """

    PREV = "distinct"

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = (list(dict.fromkeys(_children)) if Value.PREV == "distinct"
                      else list(_children))
        self._op = _op
        self.label = label

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t**2) * out.grad
        out._backward = _backward
        return out

    def backward(self):  # micrograd's, as it is
        topo = []
        visited = set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def backward_bad(self, root=True, order=None):  # PR #64's, recording the visits
        if root:
            self.grad = 1
        if order is not None:
            order.append(self.label)
        self._backward()
        [child.backward_bad(False, order) for child in self._prev]


def micrograd(source: str, values: dict[str, float], children: str, how: str
              ) -> tuple[dict[str, float], list[str]]:
    """Run `source` (lines `name = a + b`, `a * b`, `tanh(a)`) on transcribed micrograd Values;
    `how`: "naive" (backward_bad), "twice" (backward, backward) or "right" (backward). Returns
    the leaves' gradients by name and the naive recursion's visits by label."""
    Value.PREV = children
    env = {name: Value(v, label=name) for name, v in values.items()}
    out = None
    for line in source.split(";"):
        target, expr = (part.strip() for part in line.split("="))
        if expr.startswith("tanh("):
            out = env[expr[5:-1]].tanh()
        else:
            left, op, right = expr.split()
            out = env[left] + env[right] if op == "+" else env[left] * env[right]
        out.label = target
        env[target] = out
    order: list[str] = []
    if how == "naive":
        out.backward_bad(order=order)
    else:
        out.backward()
        if how == "twice":
            out.backward()
    return {name: env[name].grad for name in values}, order


def visited(result: NaiveResponse) -> list[str]:
    return [result.labels[step.node] for step in result.naive.steps]


def post(client: TestClient, body: dict) -> dict:
    r = client.post("/api/v1/naive", json=body)
    assert r.status_code == 200, r.text
    return r.json()


# ---- the naive recursion


def test_issue_64_naive_recursion_gives_the_transcriptions_wrong_gradient() -> None:
    result = naive(ISSUE_64, x=1.0)
    theirs, order = micrograd(ISSUE_64.replace("a = x; ", "").replace("a", "x"), {"x": 1.0},
                              "operands", "naive")
    assert order == ["c", "b", "x", "x", "b", "x", "x"]  # PR #64's "c, b, a, a, b, a, a"
    assert visited(result) == order
    assert result.naive.gradients["x"] == theirs["x"]
    right = sympy_gradients(ISSUE_64, {"x": 1.0})["x"]
    assert_close(result.right.gradients["x"], right)
    assert not math.isclose(result.naive.gradients["x"], right)
    parts = result.naive.parts
    assert parts is not None and parts.name == "b" and parts.step == 4
    assert parts.got == 2 * parts.right and "reached it a second time" in parts.reason
    assert result.naive.differs == [k for k, v in result.labels.items() if v == "x"]


def test_micrograds_set_visits_b_once_so_issue_64_comes_out_right() -> None:
    result = naive(ISSUE_64, x=1.0, children="distinct")
    theirs, order = micrograd("b = x + x; c = b + b", {"x": 1.0}, "distinct", "naive")
    assert visited(result) == order == ["c", "b", "x"]
    assert result.naive.gradients["x"] == theirs["x"]
    assert_close(result.naive.gradients["x"], sympy_gradients(ISSUE_64, {"x": 1.0})["x"])
    assert result.naive.parts is None and "never part" in result.naive.note


@pytest.mark.parametrize("children", ["operands", "distinct"])
def test_issue_68_a_node_passes_its_gradient_on_before_its_second_use_arrives(
        children: str) -> None:
    values = {"a": 2.0, "b": 3.0}
    result = naive(ISSUE_68, values, children=children)
    theirs, order = micrograd(ISSUE_68, values, children, "naive")
    assert visited(result) == order
    right = sympy_gradients(ISSUE_68.replace("y = ", ""), values)
    for name in values:
        assert_close(result.naive.gradients[name], theirs[name])
        assert_close(result.right.gradients[name], right[name])
        assert not math.isclose(result.naive.gradients[name], right[name])
    parts = result.naive.parts
    assert parts is not None and parts.name == "c" and result.naive.steps[parts.step].wrong
    assert not any(step.wrong for step in result.naive.steps[:parts.step])
    assert "before the use by f arrived" in parts.reason
    assert not math.isclose(parts.got, parts.right)  # type: ignore[arg-type]


@pytest.mark.parametrize("children", ["operands", "distinct"])
def test_a_tree_gives_the_same_gradients_both_ways_and_they_never_part(children: str) -> None:
    source = "p = a * b; q = tanh(c); r = q * d; y = p + r"
    values = {"a": 0.5, "b": -1.5, "c": 0.3, "d": 2.0}
    result = naive(source, values, children=children)
    theirs, order = micrograd(source, values, children, "naive")
    assert visited(result) == order
    right = sympy_gradients(source.replace("y = ", ""), values)
    for name in values:
        assert_close(result.naive.gradients[name], right[name])
        assert_close(theirs[name], right[name])
    assert result.naive.parts is None and result.naive.differs == []
    assert not any(step.wrong for step in result.naive.steps)
    assert "never part" in result.naive.note


def test_each_step_adds_its_contributions_to_the_running_gradients() -> None:
    result = naive(ISSUE_68, a=2.0, b=3.0)
    running: dict[str, float] = {result.output: 1.0}
    for step in result.naive.steps:
        assert step.grad == running.get(step.node, 0.0)
        for c in step.contributions:
            running[c.to] = running.get(c.to, 0.0) + c.value  # type: ignore[operator]
            assert c.after == running[c.to]
    assert {k: running.get(k, 0.0) for k in result.naive.node_gradients} == \
        result.naive.node_gradients


# ---- twice without zeroing


@pytest.mark.parametrize(("source", "values"), [
    (ISSUE_53, {"a": 3.0, "b": 2.0, "d": 1.0}),
    (ISSUE_64.replace("a = x; ", "").replace("a", "x"), {"x": 1.0}),
    (ISSUE_68, {"a": 2.0, "b": 3.0}),
])
def test_backward_twice_without_zeroing_gives_the_transcriptions_gradients(
        source: str, values: dict[str, float]) -> None:
    result = naive(source, values)
    theirs, _ = micrograd(source, values, "distinct", "twice")
    for name in values:
        assert_close(result.twice.gradients[name], theirs[name])
    parts = result.twice.parts
    assert parts is not None and "was not zeroed" in parts.reason
    assert parts.got != parts.right


def test_issue_53_a_leaf_behind_a_node_gets_more_than_twice() -> None:
    values = {"a": 3.0, "b": 2.0, "d": 1.0}
    result = naive(ISSUE_53, values)
    right = sympy_gradients(ISSUE_53.replace("e = ", ""), values)
    assert_close(result.twice.gradients["d"], 2 * right["d"])  # used by the output itself
    assert_close(result.twice.gradients["a"], 3 * right["a"])  # #53: 1, then 3
    parts = result.twice.parts  # d comes first in reverse order (it is created after c)
    assert parts is not None and parts.name == "d"
    assert parts.reason.startswith("d's gradient was not zeroed: the second backward() added 5 "
                                   "onto the 5 left from the first")
    c = next(s for s in result.twice.steps if result.labels[s.node] == "c")
    assert (c.stale, c.grad, c.wrong) == (right["a"], 2 * right["a"], True)


def test_leaves_the_output_uses_directly_get_exactly_twice() -> None:
    values = {"x": 1.5, "y": -2.0}
    result = naive("x * y", values)
    theirs, _ = micrograd("p = x * y", values, "distinct", "twice")
    right = sympy_gradients("x * y", values)
    for name in values:
        assert_close(result.twice.gradients[name], 2 * right[name])
        assert_close(theirs[name], 2 * right[name])


# ---- arrays, the HTTP API, the limits


def test_arrays_replay_elementwise_as_their_elements_would() -> None:
    source = "b = x * w; c = b + x; y = c * b"
    xs, ws = [0.5, -1.0, 2.0], [3.0, 0.25, -0.5]
    result = naive(source, x=xs, w=ws)
    for k, (x, w) in enumerate(zip(xs, ws, strict=True)):
        theirs, _ = micrograd(source, {"x": x, "w": w}, "operands", "naive")
        twice, _ = micrograd(source, {"x": x, "w": w}, "distinct", "twice")
        right = sympy_gradients(source.replace("y = ", ""), {"x": x, "w": w})
        for name in ("x", "w"):
            assert_close(result.naive.gradients[name][k], theirs[name])  # type: ignore[index]
            assert_close(result.twice.gradients[name][k], twice[name])  # type: ignore[index]
            assert_close(result.right.gradients[name][k], right[name])  # type: ignore[index]
    assert result.naive.parts is not None and isinstance(result.naive.parts.got, list)


def test_a_matrix_program_is_replayed_and_its_reasons_name_an_element() -> None:
    x, w = [[1.0, 2.0]], [[1.0, 0.5], [2.0, -1.0]]
    result = naive("y = x @ W; sum(y * y)", x=x, W=w)
    # sum((xW)^2): dW = 2 x^T (xW), dx = 2 (xW) W^T; the naive pass gives both twice (y * y
    # reaches y twice), the second pass twice too (y's stale gradient plus the new one)
    y = [sum(x[0][k] * w[k][j] for k in range(2)) for j in range(2)]
    dx = [[sum(2 * y[j] * w[i][j] for j in range(2)) for i in range(2)]]
    dw = [[2 * x[0][i] * y[j] for j in range(2)] for i in range(2)]
    assert_close(result.right.gradients["x"], dx)
    assert_close(result.right.gradients["W"], dw)
    assert_close(result.naive.gradients["W"], [[2 * v for v in row] for row in dw])
    assert result.naive.parts is not None and " at [0, 0] " in result.naive.parts.reason
    assert result.twice.parts is not None and "at [0, 0]" in result.twice.parts.reason


def test_the_http_api_answers_the_same_and_validates(client: TestClient) -> None:
    body = post(client, {"source": ISSUE_64, "values": {"x": 1}})
    NaiveResponse.model_validate(body)
    theirs, _ = micrograd("b = x + x; c = b + b", {"x": 1.0}, "operands", "naive")
    assert body["naive"]["gradients"]["x"] == theirs["x"]
    assert body["naive"]["parts"]["step"] == 4 and body["naive"]["parts"]["name"] == "b"
    assert body["twice"]["parts"]["name"] == "b"
    distinct = post(client, {"source": ISSUE_64, "values": {"x": 1}, "children": "distinct"})
    assert distinct["naive"]["parts"] is None


@pytest.mark.parametrize("body", [
    {"source": ISSUE_64, "values": {"x": 1}, "children": "set"},
    {"source": "a = x; b = a +", "values": {"x": 1}},
    {"source": ISSUE_64, "values": {"x": 1}, "steps": 3},
])
def test_bad_requests_are_422(client: TestClient, body: dict) -> None:
    r = client.post("/api/v1/naive", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["message"]


def diamonds(n: int) -> str:
    """a{i} = sin(a{i-1}) * cos(a{i-1}): n diamonds in a chain, 2^n paths from x."""
    lines = ["a0 = x"] + [f"a{i} = sin(a{i - 1}) * cos(a{i - 1})" for i in range(1, n + 1)]
    return "\n".join(lines)


def test_the_recursion_through_40_diamonds_stops_at_the_limit_quickly(
        client: TestClient) -> None:
    started = time.monotonic()
    body = post(client, {"source": diamonds(40), "values": {"x": 0.3}})
    assert time.monotonic() - started < 10
    recursion = body["naive"]
    assert not recursion["complete"] and len(recursion["steps"]) == LIMITS.max_naive_steps
    # a{40-k} is reached 2^k times, and its sin and cos each 2^k times (k < 40)
    assert recursion["total_steps"] == str((2**41 - 1) + 2 * (2**40 - 1))
    assert "Stopped after 10,000 of the" in recursion["note"]
    assert recursion["parts"] is not None  # a{39} is used twice: it parts at once
    assert body["twice"]["complete"] and len(body["right"]["steps"]) == 3 * 40 + 1


def test_the_steps_limit_is_a_setting() -> None:
    limits = dataclasses.replace(LIMITS, max_naive_steps=50)
    result = naive(diamonds(10), x=0.3, limits=limits)
    assert not result.naive.complete and len(result.naive.steps) == 50
    with pytest.raises(ChainruleError) as err:
        naive(diamonds(20), x=0.3, limits=limits)  # 61 nodes: the right pass alone is over
    assert err.value.kind == "limit" and "at most 50 nodes" in err.value.message


def test_a_graph_over_the_numbers_limit_is_refused_before_it_runs(client: TestClient) -> None:
    r = client.post("/api/v1/naive", json={"source": "sum(x * x)",
                                           "values": {"x": [0.5] * 100_000}})
    assert r.status_code == 422
    assert r.json()["error"]["kind"] == "limit" and "numbers" in r.json()["error"]["message"]


def test_a_chain_3000_deep_is_replayed_without_recursion() -> None:
    source = "\n".join(["a0 = x"] + [f"a{i} = sin(a{i - 1})" for i in range(1, 3001)])
    result = naive(source, x=0.5)
    assert result.naive.complete and len(result.naive.steps) == 3001
    assert max(step.depth or 0 for step in result.naive.steps) == 3000
    assert result.naive.parts is None and result.naive.gradients == result.right.gradients


# ---- micrograd itself (its Value, its `_prev` sets in their own order)


def more_ops() -> tuple[object, object, object]:
    """micrograd's test_more_ops (test/test_engine.py), built with micrograd's own Value."""
    return more_ops_values()


def test_micrograds_own_value_twice_and_naive_match_micrograd(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from micrograd.engine import Value as MicrogradValue

    a, b, g = more_ops()
    result = naive(g, inputs={"a": a, "b": b}, children="distinct")
    g.backward()  # type: ignore[attr-defined]
    right = {"a": a.grad, "b": b.grad}  # type: ignore[attr-defined]
    g.backward()  # type: ignore[attr-defined]
    for name, value in (("a", a), ("b", b)):
        assert_close(result.right.gradients[name], right[name])
        assert_close(result.twice.gradients[name], value.grad)  # type: ignore[attr-defined]
    monkeypatch.setattr(MicrogradValue, "backward_bad", Value.backward_bad, raising=False)
    a, b, g = more_ops()
    result = naive(g, inputs={"a": a, "b": b}, children="distinct")
    g.backward_bad()  # type: ignore[attr-defined]
    for name, value in (("a", a), ("b", b)):
        assert_close(result.naive.gradients[name], value.grad)  # type: ignore[attr-defined]
        assert not math.isclose(value.grad, right[name])  # type: ignore[attr-defined]
    assert result.naive.parts is not None
