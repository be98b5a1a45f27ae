"""Kinks: at abs(0), relu(0) and ties of max/min the answer says the derivative is a convention,
with the one-sided derivatives, checked here by one-sided finite differences."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient

from .test_cli import run as run_cli

H = 1e-7
# (source, values, the function of the node's first input with the others fixed at the point)
AT_KINK = [
    ("relu(x)", {"x": 0.0}, lambda t: max(t, 0.0)),
    ("abs(x)", {"x": 0.0}, abs),
    ("max(x, y)", {"x": 2.0, "y": 2.0}, lambda t: max(t, 2.0)),
    ("min(x, y)", {"x": 2.0, "y": 2.0}, lambda t: min(t, 2.0)),
]


def post(client: TestClient, source: str, values: dict[str, float]) -> dict:
    r = client.post("/api/v1/backprop", json={"source": source, "values": values})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize(("source", "values", "f"), AT_KINK)
def test_at_a_kink_the_answer_gives_the_convention_and_one_sided_derivatives(
        client: TestClient, source: str, values: dict[str, float], f) -> None:
    body = post(client, source, values)
    kinks = [w for w in body["warnings"] if w["kind"] == "kink"]
    assert len(kinks) == 1
    kink = kinks[0]
    node = next(n for n in body["nodes"] if n["id"] == kink["node"])
    assert node["id"] == body["output"]["node"] and kink["span"] == node["span"]
    x = values["x"]
    left = (f(x) - f(x - H)) / H
    right = (f(x + H) - f(x)) / H
    first = kink["kink"]["inputs"][0]
    assert math.isclose(first["left"], left, abs_tol=1e-6)
    assert math.isclose(first["right"], right, abs_tol=1e-6)
    assert first["left"] <= first["taken"] <= first["right"] or \
        first["right"] <= first["taken"] <= first["left"]
    assert math.isclose(body["gradients"]["x"], first["taken"])
    assert f"from the left {left:.0f}, from the right {right:.0f}" in kink["message"]
    # The formula shown is the rule used: its value is the local derivative taken.
    term = next(t for s in body["backward"] for t in s["terms"] if t["position"] == 0)
    assert math.isclose(float(Fraction(term["rule"]["plain"])), term["local"])
    assert "on a kink" in next(s["text"] for s in body["backward"] if s["terms"])


def test_relu_at_zero_reads_as_the_issue_says(client: TestClient) -> None:
    body = post(client, "relu(x)", {"x": 0.0})
    message = next(w["message"] for w in body["warnings"] if w["kind"] == "kink")
    assert "relu'(0) is taken as 0; from the left 0, from the right 1" in message


@pytest.mark.parametrize(("source", "values"), [
    ("relu(x)", {"x": 0.3}), ("relu(x)", {"x": -0.3}), ("abs(x)", {"x": -1e-9}),
    ("max(x, y)", {"x": 2.0, "y": 2.5}), ("min(x, y)", {"x": 2.0, "y": 1.999}),
])
def test_away_from_a_kink_there_is_no_kink_warning(client: TestClient, source: str,
                                                   values: dict[str, float]) -> None:
    body = post(client, source, values)
    assert not [w for w in body["warnings"] if w["kind"] == "kink"]
    term = body["backward"][0]["terms"][0]
    assert "if" in term["rule"]["plain"] or "sign" in term["rule"]["plain"]


def test_a_tie_shows_the_half_it_takes_not_the_comparison(client: TestClient) -> None:
    body = post(client, "max(x, y)", {"x": 2.0, "y": 2.0})
    terms = body["backward"][0]["terms"]
    assert [(t["rule"]["plain"], t["local"]) for t in terms] == [("1/2", 0.5), ("1/2", 0.5)]


def test_array_kinks_count_their_elements(client: TestClient) -> None:
    body = post(client, "sum(relu(x))", {"x": [-1.0, 0.0, 2.0, 0.0]})
    kink = next(w for w in body["warnings"] if w["kind"] == "kink")
    assert kink["kink"]["elements"] == 2 and "at 2 of 4 elements" in kink["message"]


def test_the_op_table_holds_each_kink(client: TestClient) -> None:
    ops = {op["name"]: op for op in client.get("/api/v1/ops").json()}
    assert {name for name, op in ops.items() if op["kink"]} == {
        "abs", "relu", "max", "min", "clip", "leaky_relu", "elu"}
    assert ops["relu"]["kink"]["left"] == [0.0] and ops["relu"]["kink"]["right"] == [1.0]


def test_the_cli_shows_the_kink() -> None:
    r = run_cli("max(x, y)", "x=2", "y=2")
    assert r.returncode == 0, r.stderr
    assert "1/2" in r.stdout and "1 if x > y else 0" not in r.stdout
    assert "warning: max(x, y) is not differentiable here" in r.stdout
