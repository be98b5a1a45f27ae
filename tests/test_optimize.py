"""The optimizer: a loop around backprop, not part of it. Each iteration's gradient is
backprop's at that point; the descent reaches a quadratic's minimum; the contour is the output."""

from __future__ import annotations

import numpy as np
import pytest
from chainrule import backprop
from chainrule.answer.schemas import OptimizeResponse
from chainrule.core.numbers import decode
from chainrule.optimize import optimize
from fastapi.testclient import TestClient

from .oracles import assert_close

BOWL = "(x - 1)**2 + 10*(y + 2)**2"


def test_sgd_reaches_the_minimum_of_a_quadratic() -> None:
    result = optimize(BOWL, {"x": 3.0, "y": 1.0}, learning_rate=0.04, steps=300)
    last = result.iterations[-1]
    assert [it.k for it in result.iterations] == list(range(301))
    assert_close([last.values["x"], last.values["y"]], [1.0, -2.0], atol=1e-6)
    assert float(last.output) < 1e-10  # type: ignore[arg-type]
    assert "separate loop" in result.note


@pytest.mark.parametrize("method", ["sgd", "momentum", "adam"])
def test_each_gradient_is_backprops_at_that_point(method: str) -> None:
    source = "sin(x*y) + x**2 + sum((w - 1)**2)"
    result = optimize(source, {"x": 0.5, "y": 0.3, "w": [0.0, 2.0]}, method=method,
                      learning_rate=0.05, steps=20)
    assert result.inputs == ["x", "y", "w"]
    for it in result.iterations:
        expected = backprop(source, it.values, check=False)
        assert_close(it.output, expected.output.value)
        for name in result.inputs:
            assert_close(decode(it.gradients[name]), decode(expected.gradients[name]))


def test_step_uses_the_previous_iterations_gradient() -> None:
    result = optimize("x**2", {"x": 1.0}, learning_rate=0.1, steps=3)
    for before, after in zip(result.iterations, result.iterations[1:]):
        x, g = float(before.values["x"]), float(before.gradients["x"])  # type: ignore[arg-type]
        assert_close(after.values["x"], x - 0.1 * g)


@pytest.mark.parametrize("method", ["momentum", "adam"])
def test_momentum_and_adam_descend(method: str) -> None:
    result = optimize(BOWL, {"x": 3.0, "y": 1.0}, method=method, learning_rate=0.02, steps=400)
    first, last = (float(it.output) for it in (result.iterations[0], result.iterations[-1]))  # type: ignore[arg-type]
    assert last < 1e-3 * first


def test_only_the_named_inputs_move() -> None:
    result = optimize("(x - t)**2", {"x": 0.0, "t": 5.0}, inputs=["x"], steps=5)
    assert result.inputs == ["x"] and set(result.iterations[-1].values) == {"x"}
    assert result.contour is None  # one scalar optimized: no landscape to draw


def test_contour_is_the_output_at_each_grid_point() -> None:
    source = "sin(x) * y + (x - c)**2"
    result = optimize(source, {"x": 0.5, "y": -1.0, "c": 0.3}, inputs=["x", "y"], steps=10)
    contour = result.contour
    assert contour is not None and (contour.x, contour.y) == ("x", "y")
    assert len(contour.xs) == len(contour.ys) == 40 and len(contour.z) == 40
    path = [float(it.values["x"]) for it in result.iterations]  # type: ignore[arg-type]
    assert contour.xs[0] < min(path) and contour.xs[-1] > max(path)
    for i, j in [(0, 0), (7, 31), (39, 39), (20, 3)]:
        expected = backprop(source, {"x": contour.xs[j], "y": contour.ys[i], "c": 0.3},
                            check=False).output.value
        assert_close(contour.z[i][j], expected)


def test_build_warnings_are_passed_on() -> None:
    result = optimize("x**2", {"x": 1.0, "unused": 2.0}, steps=2)
    assert any("unused" in w.message for w in result.warnings)


def test_divergence_stops_early_with_a_warning() -> None:
    result = optimize("x**4", {"x": 3.0}, learning_rate=10.0, steps=100)
    assert len(result.iterations) < 101
    assert "not finite" in result.warnings[0].message


def test_api_optimize(client: TestClient) -> None:
    r = client.post("/api/v1/optimize", json={"source": BOWL, "values": {"x": 3, "y": 1},
                                              "method": "adam", "steps": 30})
    assert r.status_code == 200
    body = r.json()
    assert {"method", "learning_rate", "steps", "inputs", "losses", "iterations", "thinned",
            "contour", "note", "safeguard", "warnings"} <= body.keys()
    assert set(body["iterations"][0]) == {"k", "output", "values", "gradients", "hessian",
                                          "shift", "safeguarded"}
    assert body["iterations"][0]["hessian"] is None and body["safeguard"] is None  # newton's
    assert set(body["contour"]) == {"x", "y", "xs", "ys", "z", "note"}
    assert np.shape(body["contour"]["z"]) == (40, 40)
    # The route encodes plain data; it is exactly what the documented model describes.
    assert OptimizeResponse.model_validate(body).model_dump(mode="json", by_alias=True) == body


@pytest.mark.parametrize(("body", "kind"), [
    ({"source": BOWL, "values": {"x": 1, "y": 1}, "learning_rate": 0}, "request"),
    ({"source": BOWL, "values": {"x": 1, "y": 1}, "steps": 1001}, "request"),
    ({"source": BOWL, "values": {"x": 1, "y": 1}, "method": "newtn"}, "request"),
    ({"source": BOWL, "values": {"x": 1, "y": 1}, "inputs": ["z"]}, "unknown_name"),
    ({"source": BOWL, "values": {"x": 1, "y": 1}, "inputs": []}, "request"),
    ({"source": "2 * 3"}, "request"),
    ({"source": "x +", "values": {"x": 1}}, "syntax"),
])
def test_api_optimize_refuses_bad_input(client: TestClient, body: dict, kind: str) -> None:
    r = client.post("/api/v1/optimize", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["kind"] == kind
