"""Values and literals never disagree silently: which one is in force, and the answer says so."""

from __future__ import annotations

import math

from chainrule.optimize import optimize
from fastapi.testclient import TestClient

from .test_cli import run as run_cli

PROGRAM = "x = 1.5\ny = -2.0\nz = 0.5\nf = (x*y + sin(x)) * exp(z*x)"


def f(x: float, y: float, z: float) -> float:
    return (x * y + math.sin(x)) * math.exp(z * x)


def df_dy(x: float, z: float) -> float:
    return x * math.exp(z * x)


def post(client: TestClient, **body: object) -> dict:
    r = client.post("/api/v1/backprop", json={"source": PROGRAM, **body})
    assert r.status_code == 200, r.text
    return r.json()


def node_named(body: dict, name: str) -> dict:
    return next(n for n in body["nodes"] if n["name"] == name)


def test_a_given_value_overrides_a_literal_and_the_answer_says_so(client: TestClient) -> None:
    body = post(client, values={"y": 2})
    assert math.isclose(body["output"]["value"], f(1.5, 2.0, 0.5), rel_tol=1e-12)
    y = node_named(body, "y")
    assert y["value"] == 2.0
    assert y["literal"] == {"text": "-2.0", "line": 2, "span": [12, 16], "given": 2.0,
                            "overridden": True}
    assert PROGRAM[12:16] == "-2.0"
    overrides = [w for w in body["warnings"] if w["kind"] == "override"]
    assert [(w["node"], w["span"]) for w in overrides] == [(y["id"], [12, 16])]
    assert "overrides the literal -2.0 of line 2" in overrides[0]["message"]
    step = next(s for s in body["forward"] if s["node"] == y["id"])
    assert step["text"] == "Input y = 2, overriding the literal -2.0 of line 2."


def test_a_value_not_named_in_overrides_is_set_aside_and_the_literal_stands(
        client: TestClient) -> None:
    body = post(client, values={"y": 2, "x": 1.5}, overrides=[])
    assert math.isclose(body["output"]["value"], f(1.5, -2.0, 0.5), rel_tol=1e-12)
    assert math.isclose(body["gradients"]["y"], df_dy(1.5, 0.5), rel_tol=1e-12)
    y, x = node_named(body, "y"), node_named(body, "x")
    assert y["value"] == -2.0 and y["literal"]["given"] == 2.0
    assert not y["literal"]["overridden"]
    assert x["literal"]["given"] == 1.5 and not x["literal"]["overridden"]
    kinds = [(w["kind"], w["node"]) for w in body["warnings"]]
    assert kinds == [("set_aside", y["id"])]  # x agrees with its literal: nothing to say
    step = next(s for s in body["forward"] if s["node"] == y["id"])
    assert "overriding" not in step["text"]


def test_overrides_names_the_values_that_may_override(client: TestClient) -> None:
    body = post(client, values={"y": 2, "z": 1}, overrides=["z"])
    assert math.isclose(body["output"]["value"], f(1.5, -2.0, 1.0), rel_tol=1e-12)
    assert node_named(body, "z")["literal"]["overridden"]
    assert not node_named(body, "y")["literal"]["overridden"]
    assert node_named(body, "x")["literal"] == {"text": "1.5", "line": 1, "span": [4, 7],
                                                "given": None, "overridden": False}


def test_a_literal_after_a_multi_line_array_has_its_own_line(client: TestClient) -> None:
    source = "W = [[1, 2],\n     [3, 4]]\ny = -2.0\nsum(W) * y"
    r = client.post("/api/v1/backprop", json={"source": source, "values": {"y": 3}})
    body = r.json()
    y = node_named(body, "y")
    assert y["literal"]["line"] == 3
    start, end = y["literal"]["span"]
    assert source[start:end] == "-2.0"
    assert node_named(body, "W")["literal"]["text"] == "[[1, 2],\n     [3, 4]]"


def test_nodes_without_a_literal_have_none(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "x*y", "values": {"x": 1, "y": 2}})
    assert all(n["literal"] is None for n in r.json()["nodes"])


def test_optimize_starts_from_the_literal_when_the_value_is_set_aside(
        client: TestClient) -> None:
    source = "w = 3.0\n(w - 1)**2"
    r = client.post("/api/v1/optimize", json={"source": source, "values": {"w": 10},
                                              "overrides": [], "steps": 1})
    assert r.status_code == 200
    assert r.json()["iterations"][0]["values"]["w"] == 3.0
    assert [w["kind"] for w in r.json()["warnings"]] == ["set_aside"]
    assert optimize(source, {"w": 10}, steps=1).iterations[0].values["w"] == 10.0


def test_the_cli_marks_an_override() -> None:
    r = run_cli(PROGRAM, "y=2")
    assert r.returncode == 0, r.stderr
    assert "input, overriding -2.0 (line 2)" in r.stdout
    assert "warning: y = 2 from the values overrides the literal -2.0 of line 2" in r.stdout
