"""Jacobians of array outputs through the HTTP API, against finite differences computed here."""

from __future__ import annotations

import numpy as np
import pytest
from chainrule.settings import LIMITS
from fastapi.testclient import TestClient

from .oracles import assert_close, central_difference, sympy_gradients

W = [[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]]
X = [0.3, -0.7]


def post(client: TestClient, **body: object) -> dict:
    r = client.post("/api/v1/backprop", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def numeric_jacobian(f, *inputs: list) -> np.ndarray:
    """Central differences over the inputs' elements, flattened one after the other."""
    arrays = [np.asarray(a, dtype=float) for a in inputs]
    sizes = [a.size for a in arrays]
    flat = np.concatenate([a.reshape(-1) for a in arrays])

    def split(v: np.ndarray) -> list[np.ndarray]:
        parts = np.split(v, np.cumsum(sizes)[:-1])
        return [p.reshape(a.shape) for p, a in zip(parts, arrays, strict=True)]

    columns = [central_difference(lambda v, i=i: float(np.asarray(f(*split(v))).reshape(-1)[i]),
                                  flat) for i in range(np.asarray(f(*arrays)).size)]
    return np.array(columns)


def test_an_array_output_answers_its_jacobian(client: TestClient) -> None:
    body = post(client, source="W @ sin(x)", values={"W": W, "x": X})
    j = body["jacobian"]
    assert j["output_shape"] == [3] and j["rows"] == 3 and j["columns"] == 8
    assert j["inputs"] == [{"name": "W", "shape": [3, 2], "offset": 0},
                           {"name": "x", "shape": [2], "offset": 6}]
    expected = numeric_jacobian(lambda w, x: w @ np.sin(x), W, X)
    assert_close(j["matrix"], expected, rtol=1e-6, atol=1e-8)
    assert j["cost"]["reverse_passes"] == 3 and j["cost"]["forward_passes"] == 8
    assert body["cost"]["outputs"] == 3 and body["cost"]["reverse"]["passes"] == 3
    assert body["output"]["shape"] == [3]


def test_a_matrix_output_flattens_row_major(client: TestClient) -> None:
    a = [[0.2, -0.4], [1.1, 0.6]]
    body = post(client, source="softmax(A) * A.T", values={"A": a})
    j = body["jacobian"]
    assert j["output_shape"] == [2, 2] and j["rows"] == 4 and j["columns"] == 4

    def f(m: np.ndarray) -> np.ndarray:
        e = np.exp(m - m.max())
        return e / e.sum() * m.T
    assert_close(j["matrix"], numeric_jacobian(f, a), rtol=1e-6, atol=1e-8)


def test_the_backward_pass_starts_from_the_seed(client: TestClient) -> None:
    seed = [2.0, 0.0, -1.0]
    body = post(client, source="W @ sin(x)", values={"W": W, "x": X}, seed=seed)
    assert body["seed"]["value"] == seed
    jac = numeric_jacobian(lambda w, x: w @ np.sin(x), W, X)
    vjp = np.asarray(seed) @ jac  # s^T J, by the test's own differences
    assert_close(np.ravel(body["gradients"]["W"]), vjp[:6], atol=1e-8)
    assert_close(body["gradients"]["x"], vjp[6:], atol=1e-8)
    assert body["check"]["ok"] is True
    assert body["backward"][0]["seed"] and "cotangent" in body["backward"][0]["text"]


def test_the_default_seed_is_ones_and_named(client: TestClient) -> None:
    body = post(client, source="x * x", values={"x": [1.0, -3.0]})
    assert body["seed"]["value"] == [1.0, 1.0]
    assert "ones" in body["seed"]["note"]
    assert_close(body["gradients"]["x"], [2.0, -6.0])
    assert_close(body["jacobian"]["matrix"], np.diag([2.0, -6.0]))


def test_a_scalar_output_answers_one_row_when_asked(client: TestClient) -> None:
    values = {"x": 1.5, "y": -0.5}
    body = post(client, source="sin(x*y) + x**2", values=values, jacobian=True)
    expected = sympy_gradients("sin(x*y) + x**2", values)
    assert_close(body["jacobian"]["matrix"], [[expected["x"], expected["y"]]])
    assert post(client, source="x*y", values=values)["jacobian"] is None


def test_forward_mode_on_an_array_output_gives_a_column_sum(client: TestClient) -> None:
    body = post(client, source="W @ sin(x)", values={"W": W, "x": X}, mode="forward", wrt="x")
    jac = numeric_jacobian(lambda w, x: w @ np.sin(x), W, X)
    assert_close(body["tangent"]["derivative"], jac[:, 6:].sum(axis=1), atol=1e-8)


def test_a_seed_of_the_wrong_shape_is_refused(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "x * 2", "values": {"x": [1, 2]},
                                              "seed": [1, 2, 3]})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["kind"] == "shape" and "[3]" in error["message"] and "[2]" in error["message"]


def test_a_jacobian_past_the_limit_is_refused_before_work(client: TestClient) -> None:
    n = int(LIMITS.max_jacobian_entries ** 0.5) + 1
    r = client.post("/api/v1/backprop", json={"source": "x * 2", "values": {"x": [1.0] * n},
                                              "check": False})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["kind"] == "limit" and f"{n * n:,}" in error["message"]


@pytest.mark.parametrize("source", ["x * 2", "W @ x"])
def test_the_optimizer_still_needs_a_scalar_output(client: TestClient, source: str) -> None:
    r = client.post("/api/v1/optimize", json={"source": source,
                                              "values": {"x": [1.0, 2.0], "W": W}})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["kind"] == "shape" and "gradient descent" in error["message"]
    start, end = error["span"]
    assert source[start:end] == source
