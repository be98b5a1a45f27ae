"""Forward mode: the tangent carried from one input to the output equals backprop's gradient
(summed over an array's elements, the seed being all ones), and sympy's derivative."""

from __future__ import annotations

import numpy as np
import pytest
from chainrule import backprop
from chainrule.core.numbers import decode
from fastapi.testclient import TestClient

from .oracles import assert_close, sympy_gradients
from .test_engine import ARRAY_CORPUS, SCALAR_CORPUS


@pytest.mark.parametrize(("source", "values"), SCALAR_CORPUS)
def test_forward_mode_matches_reverse_mode_and_sympy(source: str, values: dict[str, float]
                                                     ) -> None:
    expected = sympy_gradients(source, values)
    for name in values:
        result = backprop(source, values, mode="forward", wrt=name, check=False)
        assert result.tangent is not None and result.tangent.wrt == name
        assert_close(result.tangent.derivative, result.gradients[name])
        assert_close(result.tangent.derivative, expected[name])


@pytest.mark.parametrize(("source", "fun", "shapes"), ARRAY_CORPUS)
def test_forward_mode_on_arrays_is_the_gradient_summed(source, fun, shapes) -> None:
    values = {n: np.random.normal(size=s).tolist() for n, s in shapes.items()}
    for name in shapes:
        result = backprop(source, values, mode="forward", wrt=name, check=False)
        assert result.tangent is not None
        assert_close(result.tangent.derivative, decode(result.gradients[name]).sum())
        assert "ones" in result.tangent.seed_note or not shapes[name]


def test_forward_steps_start_at_wrt_and_follow_evaluation_order() -> None:
    result = backprop("a = x*y\nb = a + x\nsin(b) * a + y", x=0.3, y=1.7, mode="forward",
                      wrt="x")
    assert result.tangent is not None
    steps = result.tangent.steps
    x_id = next(n.id for n in result.nodes if n.name == "x")
    y_id = next(n.id for n in result.nodes if n.name == "y")
    assert steps[0].node == x_id and steps[0].tangent == 1.0 and steps[0].terms == []
    assert [s.index for s in steps] == list(range(len(steps)))
    position = {s.node: k for k, s in enumerate(steps)}
    assert y_id not in position
    for step in steps[1:]:
        for term in step.terms:  # every tangent flowing in was computed by an earlier step
            assert position[term.input] < position[step.node]
        assert_close(step.tangent, sum(float(t.contribution) for t in step.terms))
    assert steps[-1].node == result.output.node
    assert r"\partial" in steps[1].terms[0].latex


def test_forward_mode_sums_both_uses_of_a_repeated_input() -> None:
    result = backprop("x*x", x=3.0, mode="forward", wrt="x")
    assert result.tangent is not None
    last = result.tangent.steps[-1]
    assert len(last.terms) == 2 and last.tangent == 6.0


def test_output_independent_of_wrt_has_zero_derivative() -> None:
    result = backprop("y = 2\nx = 1\nsin(y)", mode="forward", wrt="x", check=False)
    assert result.tangent is not None and result.tangent.derivative == 0.0
    assert len(result.tangent.steps) == 1


def test_cost_counts_passes_of_each_method() -> None:
    result = backprop("sum(W @ x)", W=[[1, 2], [3, 4]], x=[1, 1])
    assert result.tangent is None
    cost = result.cost
    assert (cost.input_elements, cost.outputs) == (6, 1)
    assert (cost.reverse.passes, cost.forward.passes, cost.finite_differences.passes) == (1, 6, 12)


def test_api_forward_mode(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "sin(x*y) + x**2",
                                              "values": {"x": 1.5, "y": 2}, "mode": "forward",
                                              "wrt": "y"})
    assert r.status_code == 200
    body = r.json()
    assert set(body["tangent"]) == {"wrt", "seed_note", "steps", "derivative"}
    assert set(body["tangent"]["steps"][1]["terms"][0]) == {
        "input", "formula", "latex", "partial", "rule", "tangent_in", "contribution"}
    assert_close(body["tangent"]["derivative"], body["gradients"]["y"])
    assert body["cost"]["finite_differences"] == {
        "passes": 4, "evaluations": 4, "note": body["cost"]["finite_differences"]["note"]}
    r = client.post("/api/v1/backprop", json={"source": "x**2", "values": {"x": 1}})
    assert r.json()["tangent"] is None and r.json()["cost"]["forward"]["passes"] == 1


@pytest.mark.parametrize(("extra", "kind"), [
    ({"mode": "forward"}, "request"),
    ({"mode": "forward", "wrt": "z"}, "unknown_name"),
    ({"mode": "sideways", "wrt": "x"}, "request"),
])
def test_api_forward_mode_refuses_a_missing_or_unknown_wrt(client: TestClient, extra: dict,
                                                           kind: str) -> None:
    r = client.post("/api/v1/backprop", json={"source": "x**2", "values": {"x": 1}, **extra})
    assert r.status_code == 422
    assert r.json()["error"]["kind"] == kind
    assert "wrt" in r.json()["error"]["message"] or "mode" in r.json()["error"]["message"] \
        or "'z'" in r.json()["error"]["message"]
