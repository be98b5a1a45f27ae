"""The sum over paths, through the HTTP API, against oracles computed here: path counts by this
file's own DP and brute-force enumeration over the answer's edges, and gradients by sympy."""

from __future__ import annotations

import dataclasses
import math

import pytest
from chainrule.differentiate import paths_data
from chainrule.settings import LIMITS
from fastapi.testclient import TestClient

from .oracles import assert_close, sympy_gradients

DIAMOND = "a = x*y; b = a + x; c = sin(a) * b; c + x*x"


def post(client: TestClient, source: str, values: dict[str, float], wrt: str,
         limit: int = 20) -> dict:
    r = client.post("/api/v1/paths", json={"source": source, "values": values, "wrt": wrt,
                                           "limit": limit})
    assert r.status_code == 200, r.text
    return r.json()


def ladder(rungs: int) -> str:
    """a{i} = a{i-1} * x + a{i-1}: two paths into each rung, 2^rungs paths from a0."""
    lines = ["a0 = 1.0", "x = 0.5"]
    lines += [f"a{i} = a{i - 1} * x + a{i - 1}" for i in range(1, rungs + 1)]
    return "\n".join([*lines, f"a{rungs}"])


def own_count(edges: list[dict], start: str, end: str) -> int:
    """Paths from start to end over the edges, by DP in Python integers (this test's own)."""
    memo: dict[str, int] = {end: 1}
    out: dict[str, list[str]] = {}
    for e in edges:
        out.setdefault(e["source"], []).append(e["target"])
    order = _topological(edges)
    for node in reversed(order):
        if node != end:
            memo[node] = sum(memo.get(t, 0) for t in out.get(node, []))
    return memo.get(start, 0)


def _topological(edges: list[dict]) -> list[str]:
    indegree: dict[str, int] = {}
    for e in edges:
        indegree.setdefault(e["source"], 0)
        indegree[e["target"]] = indegree.get(e["target"], 0) + 1
    ready = [n for n, d in indegree.items() if d == 0]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for e in edges:
            if e["source"] == node:
                indegree[e["target"]] -= 1
                if indegree[e["target"]] == 0:
                    ready.append(e["target"])
    return order


def enumerate_paths(edges: list[dict], start: str, end: str) -> list[tuple[list[str], float]]:
    """Every path as (edge ids, product of factors), by depth-first enumeration."""
    out: dict[str, list[dict]] = {}
    for e in edges:
        out.setdefault(e["source"], []).append(e)
    found = []
    stack: list[tuple[str, list[str], float]] = [(start, [], 1.0)]
    while stack:
        node, ids, product = stack.pop()
        if node == end:
            found.append((ids, product))
            continue
        for e in out.get(node, []):
            stack.append((e["target"], [*ids, e["id"]], product * e["factor"]))
    return found


def test_every_path_listed_sums_to_the_sympy_gradient(client: TestClient) -> None:
    values = {"x": 0.7, "y": -1.3}
    body = post(client, DIAMOND, values, "x")
    every = enumerate_paths(body["edges"], body["paths"][0]["nodes"][0], body["output"])
    assert body["count"] == len(every) == own_count(body["edges"], "n0", body["output"])
    assert body["complete"] is True
    assert sorted(tuple(p["edges"]) for p in body["paths"]) == sorted(tuple(i) for i, _ in every)
    expected = sympy_gradients(DIAMOND, values)["x"]
    assert_close(body["gradient"], expected)
    assert_close(math.fsum(p["product"] for p in body["paths"]), expected)
    assert_close(body["listed_sum"], expected)


def test_paths_are_ordered_by_absolute_product_and_multiply_their_factors(
        client: TestClient) -> None:
    body = post(client, DIAMOND, {"x": 0.7, "y": -1.3}, "y")
    magnitudes = [abs(p["product"]) for p in body["paths"]]
    assert magnitudes == sorted(magnitudes, reverse=True)
    factor_of = {e["id"]: e["factor"] for e in body["edges"]}
    for p in body["paths"]:
        assert len(p["nodes"]) == len(p["edges"]) + 1 == len(p["factors"]) + 1
        assert p["factors"] == [factor_of[i] for i in p["edges"]]
        assert_close(p["product"], math.prod(p["factors"]))


def test_a_fan_in_of_one_value_twice_is_two_paths(client: TestClient) -> None:
    body = post(client, "x*x", {"x": 3.0}, "x")
    assert body["count"] == 2
    assert [p["factors"] for p in body["paths"]] == [[3.0], [3.0]]
    assert_close(body["gradient"], 6.0)


def test_the_largest_paths_are_the_largest_of_all(client: TestClient) -> None:
    body = post(client, ladder(8), {"x": -0.8, "a0": 1.3}, "a0", limit=10)
    every = enumerate_paths(body["edges"], "n0", body["output"])
    assert body["count"] == len(every) == 2**8
    assert body["complete"] is False and len(body["paths"]) == 10
    top = sorted((abs(product) for _, product in every), reverse=True)[:10]
    assert_close([abs(p["product"]) for p in body["paths"]], top)
    assert_close(body["listed_sum"] + body["rest_sum"], math.fsum(pr for _, pr in every))


def test_a_40_rung_ladder_counts_2_to_the_40_paths(client: TestClient) -> None:
    body = post(client, ladder(40), {}, "a0", limit=50)
    assert body["count"] == 2**40 == own_count(body["edges"], "n0", body["output"])
    assert body["count_text"] == str(2**40)
    assert body["complete"] is False
    magnitudes = [abs(p["product"]) for p in body["paths"]]
    assert len(magnitudes) == 50 and magnitudes == sorted(magnitudes, reverse=True)
    # d a40 / d a0 = (1 + x)^40: the sum of every path, which backprop gives in one pass.
    assert_close(body["gradient"], 1.5**40)


def test_counts_past_2_to_the_53_are_exact(client: TestClient) -> None:
    r = client.post("/api/v1/paths", json={"source": ladder(70), "wrt": "x", "limit": 3})
    assert r.status_code == 200
    body = r.json()  # Python's json reads integers exactly, as JavaScript does not
    expected = own_count(body["edges"], "n1", body["output"])
    assert expected > 2**53
    assert body["count"] == expected and body["count_text"] == str(expected)
    assert f'"count":{expected},' in r.text


def test_array_nodes_on_the_way_are_refused_with_their_span(client: TestClient) -> None:
    source = "sum(W * x)"
    r = client.post("/api/v1/paths", json={"source": source, "values": {"W": [1, 2], "x": 2},
                                           "wrt": "x"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["kind"] == "shape" and "shape [2]" in error["message"]
    start, end = error["span"]
    assert source[start:end] == "W * x"


@pytest.mark.parametrize("body", [
    {"source": "x*y", "values": {"x": 1, "y": 2}, "wrt": "z"},
    {"source": "x*y", "values": {"x": 1, "y": 2}, "wrt": "x", "limit": LIMITS.max_paths + 1},
    {"source": "x*y", "values": {"x": 1, "y": 2}, "wrt": "x", "limit": 0},
    {"source": "x*y", "values": {"x": 1, "y": 2}},
])
def test_bad_requests_are_422(client: TestClient, body: dict) -> None:
    r = client.post("/api/v1/paths", json=body)
    assert r.status_code == 422
    assert r.json()["error"]["message"]


def test_an_input_the_output_ignores_has_no_paths(client: TestClient) -> None:
    body = post(client, "x*2 + 0*1", {"x": 1.0}, "x")
    assert body["count"] == 1
    body = post(client, "a = y*2; b = x*1; a + 1", {"y": 1.0, "x": 5.0}, "x")
    assert body["count"] == 0 and body["paths"] == [] and body["gradient"] == 0.0


def test_the_answer_size_is_bounded() -> None:
    # a doubled 300 times: 2^300 paths of 301 nodes each; at most 1,000 node ids are listed.
    lines = ["x = 1.0", "a0 = x", *(f"a{i} = a{i - 1} + a{i - 1}" for i in range(1, 301)),
             "a300"]
    limits = dataclasses.replace(LIMITS, max_path_entries=1000)
    body = paths_data("\n".join(lines), wrt="x", limit=100, limits=limits)
    assert body["count"] == 2**300
    assert sum(len(p["nodes"]) for p in body["paths"]) <= 1000  # type: ignore[union-attr]
    assert 0 < len(body["paths"]) < 100  # type: ignore[arg-type]
    assert "at most 1,000 node ids" in str(body["note"])
