"""Three ways to differentiate, through the HTTP API, against oracles computed here."""

from __future__ import annotations

import math

from fastapi.testclient import TestClient

from .test_cli import run as run_cli

PROGRAM = "x = 1.5\ny = -2.0\nz = 0.5\nf = (x*y + sin(x)) * exp(z*x)"
POINT = {"x": 1.5, "y": -2.0, "z": 0.5}


def f(x: float, y: float, z: float) -> float:
    return (x * y + math.sin(x)) * math.exp(z * x)


def central(name: str, h: float = 1e-6) -> float:
    up, down = dict(POINT), dict(POINT)
    up[name] += h
    down[name] -= h
    return (f(**up) - f(**down)) / (2 * h)


def post(client: TestClient, source: str, values: dict | None = None):
    return client.post("/api/v1/methods", json={"source": source, "values": values or {}})


def test_each_way_agrees_with_a_central_difference_computed_here(client: TestClient) -> None:
    r = post(client, PROGRAM)
    assert r.status_code == 200, r.text
    body = r.json()
    assert math.isclose(body["output"], f(**POINT), rel_tol=1e-12)
    assert [i["name"] for i in body["inputs"]] == ["x", "y", "z"]
    for entry in body["inputs"]:
        oracle = central(entry["name"])
        assert math.isclose(entry["symbolic"]["value"], oracle, rel_tol=1e-7)
        assert math.isclose(entry["backprop"], oracle, rel_tol=1e-7)
        assert entry["symbolic"]["size_cse"] <= entry["symbolic"]["size"]


def test_finite_differences_draw_the_v_of_truncation_against_rounding(client: TestClient) -> None:
    entry = post(client, PROGRAM).json()["inputs"][0]
    fd = entry["finite_differences"]
    assert len(fd["h"]) >= 12 and fd["h"][0] == 1e-1 and math.isclose(fd["h"][-1], 1e-13)
    x0 = POINT["x"]
    for h, forward_error in zip(fd["h"][:3], fd["forward_error"][:3], strict=True):
        mine = abs((f(x0 + h, -2.0, 0.5) - f(**POINT)) / h - entry["backprop"])
        assert math.isclose(forward_error, mine, rel_tol=1e-6)  # truncation: about h
    best = min(range(len(fd["h"])), key=lambda k: fd["central_error"][k])
    assert 0 < best < len(fd["h"]) - 1  # the bottom of the V is inside the range
    assert fd["central_error"][0] > 100 * fd["central_error"][best]
    assert fd["central_error"][-1] > 100 * fd["central_error"][best]
    assert min(fd["central_error"]) < min(fd["forward_error"])


def nested(x: float) -> float:
    """d = sin(c) * c, c = sin(b) * b, b = sin(a) * a, a = sin(x) * x."""
    for _ in range(4):
        x = math.sin(x) * x
    return x


def test_a_symbolic_derivative_swells_beyond_the_graph(client: TestClient) -> None:
    source = "a = sin(x) * x\nb = sin(a) * a\nc = sin(b) * b\nd = sin(c) * c\nd"
    body = post(client, source, {"x": 0.7}).json()
    entry = body["inputs"][0]
    assert entry["symbolic"]["size"] > 4 * body["graph_operations"]
    assert entry["symbolic"]["size_cse"] < entry["symbolic"]["size"]
    h = 1e-6
    assert math.isclose(entry["symbolic"]["value"], (nested(0.7 + h) - nested(0.7 - h)) / (2 * h),
                        rel_tol=1e-6)


def test_arrays_and_big_graphs_are_refused_before_work(client: TestClient) -> None:
    r = post(client, "sum(x * x)", {"x": [1, 2]})
    assert r.status_code == 422 and r.json()["error"]["kind"] == "limit"
    big = "+".join(f"sin(x*{k})" for k in range(40))
    r = post(client, big, {"x": 1})
    assert r.status_code == 422 and r.json()["error"]["kind"] == "limit"
    assert "limit is" in r.json()["error"]["message"]


def test_the_cli_shows_the_three_ways() -> None:
    r = run_cli(PROGRAM, "--methods")
    assert r.returncode == 0, r.stderr
    assert "Three ways to the derivatives" in r.stdout
    assert "Finite differences for x" in r.stdout and "1e-13" in r.stdout


def test_a_formula_that_would_swell_past_the_bound_is_refused_quickly(client: TestClient) -> None:
    source = "a0 = x * 1\n" + "\n".join(f"a{i} = sin(a{i-1}) * a{i-1}" for i in range(1, 20))
    r = post(client, source + "\na19", {"x": 0.7})
    assert r.status_code == 422 and r.json()["error"]["kind"] == "limit"
    assert "formula" in r.json()["error"]["message"]
