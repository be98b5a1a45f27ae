"""The HTTP API: post, check the status, then the keys; and every bad input is a clear 4xx."""

from __future__ import annotations

import dataclasses
import math

import pytest
from chainrule import ChainruleError, backprop
from chainrule.answer.models import Answer
from chainrule.answer.schemas import BackpropResponse, HealthResponse
from chainrule.server.app import create_app
from chainrule.settings import LIMITS
from fastapi.testclient import TestClient

from .oracles import MORE_OPS_SOURCE, assert_close, more_ops_by_micrograd

KEYS = {"output", "nodes", "edges", "forward", "backward", "gradients", "check", "warnings"}


def test_backprop_answers_every_step(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "sin(x*y) + x**2",
                                              "values": {"x": 1.5, "y": 2}})
    assert r.status_code == 200
    body = r.json()
    assert KEYS <= body.keys()
    assert_close(body["gradients"]["x"], 2 * math.cos(3.0) + 3.0)
    assert_close(body["gradients"]["y"], 1.5 * math.cos(3.0))
    assert len(body["forward"]) == len(body["nodes"])
    assert body["check"]["evaluations"] == 4
    assert body["check"]["backprop_passes"] == {"forward": 1, "backward": 1}
    for node in body["nodes"]:
        start, end = node["span"]
        assert 0 <= start <= end <= len(body["source"])
    assert len(body["edges"]) == sum(len(n["inputs"]) for n in body["nodes"])


def test_values_travel_as_nested_lists(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "sum(W @ x)",
                                              "values": {"W": [[1, 2], [3, 4]], "x": [1, 1]}})
    assert r.status_code == 200
    assert r.json()["gradients"] == {"W": [[1.0, 1.0], [1.0, 1.0]], "x": [4.0, 6.0]}


def test_non_finite_numbers_are_strings_and_warned(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "1/x + log(y)", "values": {"x": 0, "y": 1}})
    assert r.status_code == 200
    body = r.json()
    assert body["output"]["value"] == "Infinity"
    assert body["warnings"]


CASES = [("1/x + log(y)", {"x": 0, "y": 1}), ("sum(x + [[1], [2]])", {"x": [1, 2, 3]}),
         ("y = x\nz = 2\nw = y*z", {"x": 1, "z": 3, "q": 1}), ("sqrt(x - 2)", {"x": 1}),
         ("relu(x) + max(x, y)", {"x": 0, "y": 0})]


def _cases(client: TestClient, extra: dict[str, object]) -> list[tuple[str, object]]:
    cases = [(e["source"], e["values"]) for e in client.get("/api/v1/examples").json()] + CASES
    return [(source, values) for source, values in cases
            if not extra.get("wrt") or "x" in values or "x =" in source]


@pytest.mark.parametrize("extra", [{}, {"mode": "forward", "wrt": "x"}, {"check": False}])
def test_http_answer_is_exactly_the_validated_model(client: TestClient, extra) -> None:
    """Both routes encode plain data without pydantic: each must validate as its model, and the
    Python API's answer (constructed, not validated) must dump to the same JSON."""
    for source, values in _cases(client, extra):
        body = {"source": source, "values": values, **extra}
        v1 = client.post("/api/v1/backprop", json=body)
        v2 = client.post("/api/v2/backprop", json=body)
        assert v1.status_code == v2.status_code == 200, (source, v1.json(), v2.json())
        validated = BackpropResponse.model_validate(v1.json())
        assert v1.json() == validated.model_dump(mode="json", by_alias=True), source
        compact = Answer.model_validate(v2.json())
        assert v2.json() == compact.model_dump(mode="json", by_alias=True), source
        model = backprop(source, values, **extra)
        assert v2.json() == model.model_dump(mode="json", by_alias=True), source


@pytest.mark.parametrize("extra", [{}, {"mode": "forward", "wrt": "x"}])
def test_compact_answer_spells_out_exactly_the_v1_records(client: TestClient, extra) -> None:
    """Rendered from the columns, every node, edge and step equals what v1 answers; a step
    range asked for in `records` is exactly those steps of v1's `backward`."""
    for source, values in _cases(client, extra):
        body = {"source": source, "values": values, **extra}
        v1 = client.post("/api/v1/backprop", json=body).json()
        model = backprop(source, values, **extra)
        for key in ("nodes", "edges", "forward", "backward"):
            assert [r.model_dump(mode="json", by_alias=True) for r in getattr(model, key)] == \
                v1[key], (source, key)
        steps = len(v1["backward"])
        for start, stop in [(0, steps), (steps // 2, steps), (1, 2), (steps, steps)]:
            r = client.post("/api/v2/backprop", json={**body, "records": [start, stop]})
            assert r.json()["records"]["backward"] == v1["backward"][start:stop], (source, start)


def test_compact_answer_refuses_a_backward_range(client: TestClient) -> None:
    r = client.post("/api/v2/backprop", json={"source": "x*y", "values": {"x": 1, "y": 2},
                                                "records": [3, 1]})
    assert r.status_code == 422
    assert "records" in r.json()["error"]["message"]


def test_ops_lists_the_table_with_formulas(client: TestClient) -> None:
    ops = {op["name"]: op for op in client.get("/api/v1/ops").json()}
    assert {"sin", "matmul", "softmax", "logsumexp", "max"} <= ops.keys()
    assert ops["sin"]["derivatives"][0]["plain"] == "cos($u)"
    assert {name: ops[name]["symbol"] for name in ("add", "mul", "max", "sigmoid", "sum")} == {
        "add": "+", "mul": "×", "max": "max", "sigmoid": "σ", "sum": "Σ"}
    assert all(op["symbol"] and "$" not in op["symbol"] for op in ops.values())


def test_nodes_carry_their_ops_symbol_not_a_piece_of_a_formula(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "h = max(x, y)\nmin(h, y) * sigmoid(x)",
                                              "values": {"x": 1.5, "y": 2}})
    assert r.status_code == 200
    ops = {op["name"]: op["symbol"] for op in client.get("/api/v1/ops").json()}
    nodes = {n["id"]: n for n in r.json()["nodes"]}
    for node in nodes.values():
        if node["op"] in ops:
            assert node["symbol"] == ops[node["op"]]
            assert node["label"] == (node["name"] or ops[node["op"]])
    assert {n["label"] for n in nodes.values() if n["op"] not in ("input", "const")} == \
        {"h", "min", "σ", "×"}


def test_each_term_carries_its_derivative_in_parts(client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": "max(x, y) * y", "values": {"x": 3, "y": 2},
                                              "mode": "forward", "wrt": "x"})
    body = r.json()
    nodes = {n["id"]: n for n in body["nodes"]}
    terms = [t for s in body["backward"] for t in s["terms"]] + \
        [t for s in body["tangent"]["steps"] for t in s["terms"]]
    rules = {(nodes[t["input"]]["expr"]["plain"], t["rule"]["plain"]) for t in terms}
    assert ("x", "1 if x > y else 0") in rules and ("y", "1 if y > x else 0") in rules
    for t in terms:
        assert t["formula"] == f"{t['partial']['plain']} = {t['rule']['plain']}"
        assert t["latex"] == f"{t['partial']['latex']} = {t['rule']['latex']}"


def test_every_example_runs_and_its_check_says_what_the_gallery_says(client: TestClient
                                                                     ) -> None:
    examples = client.get("/api/v1/examples").json()
    assert len(examples) >= 8
    for example in examples:
        r = client.post("/api/v1/backprop", json={"source": example["source"],
                                                  "values": example["values"]})
        assert r.status_code == 200, (example["title"], r.json())
        assert r.json()["check"]["ok"] == example["check_passes"], example["title"]
    assert [e["title"] for e in examples if not e["check_passes"]] == [
        "Your own rule, wrong: sigmoid"]


def test_health_and_openapi(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["accepting"] is True
    HealthResponse.model_validate(health.json())  # as /openapi.json documents it
    schema = client.get("/openapi.json").json()
    assert "/api/v1/backprop" in schema["paths"]
    assert "BackpropResponse" in schema["components"]["schemas"]


BAD = [
    ("sin(x*", {}, "syntax", "*"),
    ("x + z", {"x": 1}, "unknown_name", "z"),
    ("foo(x)", {"x": 1}, "unknown_function", "foo"),
    ("x * y", {"x": 1}, "unknown_name", "y"),
    ("a @ b", {"a": [1, 2], "b": [1, 2, 3]}, "shape", "a @ b"),
    ("sum(a + b)", {"a": [1, 2], "b": [1, 2, 3]}, "shape", "a + b"),
    ("x.__class__", {"x": 1}, "forbidden", ".__class__"),
    ("lambda: x", {"x": 1}, "forbidden", "lambda"),
    ("sum(x)", {"x": [[1, 2], [3]]}, "value", "x"),
    ("x = 1\nx = 2\nx", {}, "duplicate", "x"),
]


@pytest.mark.parametrize(("source", "values", "kind", "bad"), BAD)
def test_bad_input_is_a_422_with_a_span(client: TestClient, source, values, kind, bad) -> None:
    r = client.post("/api/v1/backprop", json={"source": source, "values": values})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["kind"] == kind
    start, end = error["span"]
    assert source[start:end] == bad
    assert error["message"]


@pytest.mark.parametrize("body", [{}, {"source": 3}, {"source": "x", "values": {"x": "a"}},
                                  {"source": "x", "extra": 1}, [1, 2], "x"])
def test_malformed_requests_are_422(client: TestClient, body) -> None:
    r = client.post("/api/v1/backprop", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("invalid request")


def test_limits_are_refused_with_a_clear_message(client: TestClient) -> None:
    too_many = "\n".join(f"a{i} = x * 2" for i in range(LIMITS.max_nodes // 2 + 10)) + "\nx"
    r = client.post("/api/v1/backprop", json={"source": too_many, "values": {"x": 1}})
    assert r.status_code in (413, 422)
    big = client.post("/api/v1/backprop", json={"source": "sum(x)",
                                                "values": {"x": [0.0] * 200_000}})
    assert big.status_code == 422 and big.json()["error"]["kind"] == "limit"


def test_twenty_thousand_node_graph_is_admitted(client: TestClient) -> None:
    source = "+".join(f"x*{i % 7}" for i in range(7_000))  # 3 nodes a term
    r = client.post("/api/v1/backprop", json={"source": source, "values": {"x": 1.0},
                                              "check": False})
    assert r.status_code == 200
    assert len(r.json()["nodes"]) >= 20_000
    assert_close(r.json()["gradients"]["x"], sum(i % 7 for i in range(7_000)))



def test_a_computation_over_its_time_budget_is_refused() -> None:
    with pytest.raises(ChainruleError) as info:
        backprop("x*x", x=1.0, limits=dataclasses.replace(LIMITS, max_seconds=0.0))
    assert info.value.kind == "timeout"


def test_a_timeout_is_answered_503() -> None:
    """A server whose deadline is already spent when the worker starts: the worker's own
    deadline stops it, and the route answers 503 `timeout`."""
    spent = TestClient(create_app(workers=1, limits=dataclasses.replace(LIMITS, max_seconds=0.0)))
    r = spent.post("/api/v1/backprop", json={"source": "x*x", "values": {"x": 1}})
    assert r.status_code == 503
    assert r.json()["error"]["kind"] == "timeout"
    assert "longer than 0 s" in r.json()["error"]["message"]


def test_micrograds_test_more_ops_pasted_as_typed_gives_micrograds_gradients(
        client: TestClient) -> None:
    r = client.post("/api/v1/backprop", json={"source": MORE_OPS_SOURCE, "values": {}})
    assert r.status_code == 200, r.text
    body = r.json()
    output, gradients = more_ops_by_micrograd()
    assert_close(body["output"]["value"], output)
    assert_close(body["gradients"]["a"], gradients["a"])
    assert_close(body["gradients"]["b"], gradients["b"])
    assert body["output"]["label"] == "g"
    # `d += 3 * d + (b - a).relu()`: one node for the whole line, spanning it.
    last_d = next(n for n in reversed(body["nodes"]) if n["name"] == "d")
    start, end = last_d["span"]
    assert MORE_OPS_SOURCE[start:end] == "d += 3 * d + (b - a).relu()"
    relus = [n for n in body["nodes"] if n["op"] == "relu"]
    assert [MORE_OPS_SOURCE[slice(*n["span"])] for n in relus] == ["(b + a).relu()",
                                                                    "(b - a).relu()"]
