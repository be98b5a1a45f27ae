"""Bounded answers and quick refusals, through the HTTP API: a small request never buys a huge
answer or a long-busy worker, and what cannot be answered is refused before the work.
(The 413 read by urllib, requests and httpx is in test_serve.py, on a real server.)"""

from __future__ import annotations

import gzip
import json
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from chainrule.answer.encoding import Records, encode_answer
from chainrule.differentiate import backprop_data
from chainrule.errors import ChainruleError, Deadline
from chainrule.server.pool import compute
from chainrule.settings import LIMITS
from fastapi.testclient import TestClient

from .oracles import assert_close

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from programs import fan_out, wide_sum  # the benchmarks' own programs

BACKPROP, OPTIMIZE = "/api/v1/backprop", "/api/v1/optimize"
GZIP, PLAIN = {"accept-encoding": "gzip"}, {"accept-encoding": "identity"}


def timed(client: TestClient, url: str, body: dict[str, object],
          headers: dict[str, str] | None = None) -> tuple[float, object]:
    start = time.monotonic()
    response = client.post(url, json=body, headers=headers)
    return time.monotonic() - start, response


# ---------------------------------------------------------------- /optimize: amplification


def test_a_big_array_descent_answers_its_loss_curve_and_a_thinned_record(
        client: TestClient) -> None:
    x = np.random.rand(100_000)
    lr, steps = 0.1, 100
    for headers in (GZIP, PLAIN):
        seconds, r = timed(client, OPTIMIZE, {"source": "sum(x*x)", "values": {"x": x.tolist()},
                                              "steps": steps, "learning_rate": lr}, headers)
        assert r.status_code == 200
        assert r.num_bytes_downloaded <= LIMITS.max_answer_bytes  # was 374 MB
        assert seconds < LIMITS.max_seconds  # was 8.7 s, encoding included
        body = r.json()
        # sgd on sum(x^2): x_k = x_0 (1 - 2 lr)^k, so the output is sum(x_0^2) (1 - 2 lr)^(2k)
        assert_close(body["losses"], [float(np.sum(x * x)) * (1 - 2 * lr) ** (2 * k)
                                      for k in range(steps + 1)], rtol=1e-9)
        kept = [it["k"] for it in body["iterations"]]
        assert kept[0] == 0 and kept[-1] == steps and len(kept) < steps + 1
        assert body["thinned"] and f"{len(kept)} of the {steps + 1} iterations" in body["thinned"]
        assert_close(body["iterations"][-1]["values"]["x"], x * (1 - 2 * lr) ** steps)
        assert_close(body["iterations"][-1]["gradients"]["x"], 2 * x * (1 - 2 * lr) ** steps)


def test_a_descent_over_its_budget_is_refused_before_any_work(client: TestClient) -> None:
    x = [0.5] * 100_000
    body = {"source": "sum(x*x)", "values": {"x": x}, "steps": 1000}
    seconds, r = timed(client, OPTIMIZE, body)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["kind"] == "limit"
    numbers = 2 * len(x) + 1  # x, x*x and the sum
    assert f"{numbers:,} numbers × 1,001 iterations = {numbers * 1001:,}" in error["message"]
    assert f"{LIMITS.optimize_element_budget:,}" in error["message"]
    assert seconds < 1  # was 88 s and 4.26 GB; most of this is the 1.3 MB request itself


def test_a_big_graph_descent_is_refused_by_its_node_budget(client: TestClient) -> None:
    source = fan_out(5_000)  # nodes x 1,001 iterations is over the node budget
    r = client.post(OPTIMIZE, json={"source": source, "values": {"x": 0.3}, "steps": 1000})
    assert r.status_code == 422 and r.json()["error"]["kind"] == "limit"
    assert "nodes × 1,001 iterations" in r.json()["error"]["message"]


def test_a_two_input_descent_keeps_its_whole_path(client: TestClient) -> None:
    r = client.post(OPTIMIZE, json={"source": "(x - 1)**2 + 10*(y + 2)**2",
                                    "values": {"x": 3, "y": 1}, "learning_rate": 0.01,
                                    "steps": 1000})
    assert r.status_code == 200
    body = r.json()
    assert body["thinned"] is None
    assert [it["k"] for it in body["iterations"]] == list(range(1001))
    assert body["losses"] == [it["output"] for it in body["iterations"]]
    assert body["contour"] is not None


# ---------------------------------------------------------------- every answer: size, time


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_compressed_answers_decode_to_the_same_data_as_plain_ones(client: TestClient,
                                                                  coding: str) -> None:
    body = {"source": "sum(W @ x) + sum(sin(x*y)) + y**2", "values": {
        "W": [[1, 2], [3, 4]], "x": [1.5, -2], "y": 2}}
    plain = client.post(BACKPROP, json=body, headers=PLAIN)
    packed = client.post(BACKPROP, json=body, headers={"accept-encoding": coding})
    assert plain.status_code == packed.status_code == 200
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == coding
    assert packed.headers["vary"] == "Accept-Encoding"
    assert packed.num_bytes_downloaded < plain.num_bytes_downloaded / 3
    assert packed.json() == plain.json()


@pytest.mark.parametrize(("accept", "coding"), [
    ("gzip, deflate, br, zstd", "zstd"),  # what Chrome and Firefox send
    ("gzip, deflate, br", "gzip"),  # what Safari sends
    ("gzip;q=1.0, zstd;q=0.5", "gzip"),
    ("zstd;q=0, gzip", "gzip"),
    ("*", "zstd"),
    ("x-gzip", "gzip"),
    ("br", None),
    ("*;q=0", None),
])
def test_the_answer_is_compressed_in_the_best_coding_the_client_accepts(
        client: TestClient, accept: str, coding: str | None) -> None:
    answer = client.post(BACKPROP, json={"source": "sum(sin(x) * x)",
                                         "values": {"x": np.linspace(0, 1, 64).tolist()}},
                         headers={"accept-encoding": accept})
    assert answer.status_code == 200
    assert answer.headers.get("content-encoding") == coding
    assert_close(answer.json()["gradients"]["x"], [
        np.sin(v) + v * np.cos(v) for v in np.linspace(0, 1, 64)])


@pytest.mark.parametrize("path", ["/", "the page's module", "/api/v1/ops", "/openapi.json"])
def test_the_page_and_fixed_answers_are_gzipped_too(client: TestClient, path: str) -> None:
    if path == "the page's module":  # built with a content hash in its name
        found = re.search(r'<script type="module" src="([^"]+)"', client.get("/").text)
        assert found, "the page loads its module"
        path = found.group(1)
    plain = client.get(path, headers=PLAIN)
    packed = client.get(path, headers=GZIP)
    assert plain.status_code == packed.status_code == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.num_bytes_downloaded < plain.num_bytes_downloaded / 2
    assert packed.content == plain.content


def test_an_answer_over_the_ceiling_is_refused_unless_it_fits_compressed(
        client: TestClient) -> None:
    # About 30 MB of JSON plain (the array five times over), about 13 MB gzip-compressed.
    body = {"source": "sum(x*x)", "values": {"x": np.random.rand(100_000).tolist()}}
    plain = client.post(BACKPROP, json=body, headers=PLAIN)
    assert plain.status_code == 422 and plain.json()["error"]["kind"] == "limit"
    assert f"{LIMITS.max_answer_bytes:,} bytes" in plain.json()["error"]["message"]
    assert "Accept-Encoding: gzip" in plain.json()["error"]["message"]
    packed = client.post(BACKPROP, json=body, headers=GZIP)
    assert packed.status_code == 200
    assert packed.num_bytes_downloaded <= LIMITS.max_answer_bytes
    assert_close(packed.json()["gradients"]["x"], 2 * np.asarray(body["values"]["x"]))


def _spends_the_deadline(*, deadline: Deadline, **kwargs: object) -> object:
    data = backprop_data(deadline=deadline, **kwargs)  # type: ignore[arg-type]
    deadline.end = time.monotonic()  # the computation took the whole budget
    return data


def test_the_deadline_covers_the_encoding() -> None:
    """What a worker runs (api/pool.compute): a computation that spent its budget before its
    answer was encoded is a `timeout`, not an answer late."""
    outcome = compute(_spends_the_deadline, {"source": "sum(x*x)", "values": {"x": [1.0] * 1000}},
                      "gzip", LIMITS)
    assert outcome.error is not None and outcome.error[2] == "timeout"
    on_time = compute(backprop_data, {"source": "sum(x*x)", "values": {"x": [1.0] * 1000}},
                      "gzip", LIMITS)
    assert on_time.error is None and on_time.coding == "gzip" and on_time.body


@pytest.mark.parametrize("program", [wide_sum, fan_out], ids=["wide sum", "fan-out"])
def test_the_benchmarks_50000_node_programs_still_answer(client: TestClient, program) -> None:
    r = client.post(BACKPROP, json={"source": program(50_000), "values": {"x": 0.3}},
                    headers=GZIP)
    assert r.status_code == 200
    assert 50_000 - 10 <= len(r.json()["nodes"]) <= 50_000
    assert r.num_bytes_downloaded <= LIMITS.max_answer_bytes


def test_a_50000_node_compact_answer_fits_the_ceiling_for_every_client(
        client: TestClient) -> None:
    """Plain JSON, no compression asked for: the compact answer of 50,000 nodes still fits."""
    r = client.post("/api/v2/backprop", json={"source": fan_out(50_000), "values": {"x": 0.3}},
                    headers={"accept-encoding": "identity"})
    assert r.status_code == 200 and "content-encoding" not in r.headers
    assert 50_000 - 10 <= len(r.json()["columns"]["nodes"]["op"]) <= 50_000
    assert len(r.content) <= LIMITS.max_answer_bytes


def test_a_program_at_the_node_limit_answers(client: TestClient) -> None:
    """The limit is a size the server answers, not one it only refuses above: a wide program
    (every line one generation deep, as a network's layer is) of as many nodes as it admits."""
    lines = LIMITS.max_nodes // 2 - 1  # a constant and a product a line, and the input x
    source = "\n".join(f"a{i} = x * {i % 7 + 2}" for i in range(lines))
    r = client.post("/api/v2/backprop", json={"source": source, "values": {"x": 0.3},
                                              "check": False}, headers=GZIP)
    assert r.status_code == 200, r.text[:300]
    assert LIMITS.max_nodes - 10 <= len(r.json()["columns"]["nodes"]["op"]) <= LIMITS.max_nodes


@pytest.mark.parametrize("accept", ["", "gzip", "zstd", "identity", "br"])
@pytest.mark.parametrize("size", [1, 2000], ids=["small", "large"])
def test_every_answer_says_vary_accept_encoding_once(client: TestClient, accept: str,
                                                     size: int) -> None:
    r = client.post(BACKPROP, json={"source": "sum(x*x)", "values": {"x": [1.0] * size}},
                    headers={"accept-encoding": accept})
    assert r.status_code == 200
    assert r.headers.get_list("vary") == ["Accept-Encoding"]


@pytest.mark.parametrize("coding", [None, "gzip", "zstd"])
def test_records_over_the_cap_are_refused_before_the_rest_are_made(coding: str | None) -> None:
    """v1's backward steps are rendered while they are encoded: once the bytes to send pass
    the cap, no further record is made."""
    made = 0

    def records() -> Iterator[dict[str, object]]:
        nonlocal made
        rng = np.random.default_rng(0)
        for i in range(100_000):  # about 10 MB of JSON in all
            made += 1
            yield {"index": i, "value": float(rng.standard_normal()), "text": f"step {i}"}

    with pytest.raises(ChainruleError) as info:
        encode_answer({"source": "x", "backward": Records(records())}, max_bytes=200_000,
                      coding=coding)
    assert info.value.kind == "limit"
    assert made < 50_000


def test_records_are_encoded_as_the_list_they_stand_for() -> None:
    items = [{"index": i, "text": f"step {i}"} for i in range(1000)]
    for coding in (None, "gzip"):
        lazy = encode_answer({"a": 1, "backward": Records(iter(items)), "z": [2]},
                             max_bytes=10**7, coding=coding)
        eager = encode_answer({"a": 1, "backward": items, "z": [2]}, max_bytes=10**7,
                              coding=coding)
        assert _plain(lazy) == _plain(eager)
        assert json.loads(_plain(lazy)) == {"a": 1, "backward": items, "z": [2]}


def _plain(encoded: Any) -> bytes:
    if encoded.coding == "gzip":
        return gzip.decompress(encoded.body)
    return encoded.body  # type: ignore[no-any-return]


def test_a_200000_deep_unary_chain_answers_its_gradient(client: TestClient) -> None:
    """Depth is no limit: 200,000 negations on one line are 200,000 generations of one node
    each (no stack, no recursion). d/dx of (-1)^n x is (-1)^n, exactly."""
    depth = 200_000
    r = client.post("/api/v2/backprop", json={"source": "-" * depth + "x", "values": {"x": 0.3}},
                    headers=GZIP)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert len(body["columns"]["nodes"]["op"]) == depth + 1
    assert body["output"]["value"] == 0.3 * (-1) ** depth
    assert body["gradients"]["x"] == (-1) ** depth
    assert body["check"]["ok"]  # central differences agree


def test_a_100000_term_one_line_sum_answers_its_gradient(client: TestClient) -> None:
    """A one-line sum of 100,000 terms, alternately x and sin(x): a left-deep tree of 99,999
    additions, x read 100,000 times. d/dx = 50,000 (1 + cos x)."""
    terms, x = 100_000, 0.3
    source = " + ".join(["x", "sin(x)"] * (terms // 2))
    r = client.post("/api/v2/backprop", json={"source": source, "values": {"x": x}},
                    headers=GZIP)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert len(body["columns"]["nodes"]["op"]) == terms + terms // 2  # adds, sins and x
    assert_close(body["output"]["value"], terms // 2 * (x + np.sin(x)), rtol=1e-9)
    assert_close(body["gradients"]["x"], terms // 2 * (1 + np.cos(x)), rtol=1e-9)
