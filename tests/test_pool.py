"""The server computes in worker processes (api/pool.py), on a real socket: a computation that
runs past its deadline without checking it is killed and its worker replaced, while /healthz
and the next request are answered; a full queue is refused at once with 429 and Retry-After; a
client that leaves stops its computation; a worker's memory is capped; SIGTERM stops the server
within seconds whatever is computing.

The slow computation is the doubling program of tests/test_hardening.py with the work limits
raised as an operator could raise them: each primitive calls the one before it twice, so one
call of f22 runs 2^22 small numpy operations inside one op's forward, where no deadline is
checked (minutes of work): only the pool's kill can stop it.
"""

from __future__ import annotations

import math
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from chainrule.server.pool import Computations
from chainrule.settings import LIMITS

from .servers import running_server, workers_of
from .test_hardening import _doubling_primitives

DEADLINE = 1.0
RAISED = {"CHAINRULE_MAX_FUNCTION_WORK": str(10**9), "CHAINRULE_MAX_TOTAL_WORK": str(10**12),
          "CHAINRULE_MAX_SECONDS": str(DEADLINE)}
SLOW = {"source": _doubling_primitives(23), "values": {"x": 0.5}, "check": False}
TYPICAL = {"source": "sin(x*y) + x**2", "values": {"x": 1.5, "y": 2}}
BACKPROP = "/api/v2/backprop"


@pytest.fixture(scope="module")
def one_worker() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with running_server(CHAINRULE_WORKERS="1", CHAINRULE_QUEUE="1", **RAISED) as server:
        yield server


def _post_in_background(url: str, body: dict[str, object], results: list[httpx.Response],
                        timeout: float = 30) -> threading.Thread:
    def post() -> None:
        try:
            results.append(httpx.post(url, json=body, timeout=timeout))
        except httpx.TransportError:
            pass
    thread = threading.Thread(target=post)
    thread.start()
    return thread


def _wait_busy(url: str, busy: int = 1, seconds: float = 10) -> dict[str, object]:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        health = httpx.get(f"{url}/healthz").json()
        if health["busy"] >= busy:
            return health  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError(f"no computation started within {seconds} s")


def test_a_computation_past_its_deadline_is_killed_and_the_next_request_served(
        one_worker) -> None:
    url, proc = one_worker
    worker = workers_of(proc.pid)
    results: list[httpx.Response] = []
    start = time.monotonic()
    thread = _post_in_background(url + BACKPROP, SLOW, results)
    health = _wait_busy(url)
    assert health["status"] == "ok" and health["busy"] == 1 and health["accepting"] is True
    thread.join(timeout=30)
    took = time.monotonic() - start
    (r,) = results
    assert r.status_code == 503, r.text[:300]
    error = r.json()["error"]
    assert error["kind"] == "timeout" and f"longer than {DEADLINE:g} s" in error["message"]
    assert "replaced" in error["message"]
    assert DEADLINE <= took < DEADLINE + 5  # killed at the deadline (+1 s grace), not minutes
    after = httpx.post(url + BACKPROP, json=TYPICAL, timeout=10)
    assert after.status_code == 200  # d/dy (sin(xy) + x^2) = x cos(xy)
    assert after.json()["gradients"]["y"] == pytest.approx(1.5 * math.cos(3.0), rel=1e-12)
    assert workers_of(proc.pid) != worker  # a new process took the killed one's place
    assert httpx.get(f"{url}/healthz").json()["busy"] == 0


def test_healthz_and_refusals_answer_at_once_while_a_computation_runs(one_worker) -> None:
    url, _ = one_worker
    results: list[httpx.Response] = []
    first = _post_in_background(url + BACKPROP, SLOW, results)
    _wait_busy(url)
    queued = _post_in_background(url + BACKPROP, SLOW, results)  # waits: the queue holds one
    time.sleep(0.2)
    start = time.monotonic()
    refused = httpx.post(url + BACKPROP, json=TYPICAL, timeout=10)
    assert refused.status_code == 429 and refused.json()["error"]["kind"] == "busy"
    assert 1 <= int(refused.headers["retry-after"]) <= 30
    health = httpx.get(f"{url}/healthz", timeout=10)
    assert time.monotonic() - start < DEADLINE  # neither waited for the computation
    assert health.status_code == 200 and health.json()["waiting"] == 1
    first.join(timeout=30)
    queued.join(timeout=30)
    assert [r.status_code for r in results] == [503, 503]


def test_a_client_that_leaves_stops_its_computation(one_worker) -> None:
    url, proc = one_worker
    worker = workers_of(proc.pid)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url + BACKPROP, json=SLOW, timeout=0.5)
    # Well before the pool's kill at its deadline would have stopped it (DEADLINE + 1 s from
    # the start): the pool ends the worker on its next round (every 0.1 s).
    end = time.monotonic() + DEADLINE / 2
    while time.monotonic() < end and (httpx.get(f"{url}/healthz").json()["busy"]
                                      or workers_of(proc.pid) == worker):
        time.sleep(0.02)
    assert httpx.get(f"{url}/healthz").json()["busy"] == 0
    assert workers_of(proc.pid) != worker


def test_a_computation_over_the_workers_memory_is_a_limit() -> None:
    """A 60,000-node program needs a few hundred MB; with each worker capped 64 MB above its
    idle size it is refused with 422 `limit`, and the server answers the next request."""
    source = "\n".join(f"a{i} = sin(a{i - 1}) * x" if i else "a0 = x" for i in range(30_000))
    with running_server(CHAINRULE_WORKERS="1", CHAINRULE_WORKER_MEMORY_MB="64") as (url, _):
        r = httpx.post(url + BACKPROP, json={"source": source, "values": {"x": 0.5}},
                       timeout=60)
        assert r.status_code == 422, r.text[:300]
        assert r.json()["error"]["kind"] == "limit" and "memory" in r.json()["error"]["message"]
        assert httpx.post(url + BACKPROP, json=TYPICAL, timeout=10).status_code == 200


def test_sigterm_stops_the_server_within_seconds_while_it_computes() -> None:
    with running_server(CHAINRULE_WORKERS="1", **RAISED) as (url, proc):
        results: list[httpx.Response] = []
        _post_in_background(url + BACKPROP, SLOW, results)
        _wait_busy(url)
        workers = workers_of(proc.pid)
        start = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        assert time.monotonic() - start < 8
        time.sleep(0.5)
        for pid in workers:  # no worker left computing
            assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_typical_expression_never_waits_behind_heavy_requests() -> None:
    """Two workers: heavy requests (bodies of 16 KB or more) take at most one of them, so with
    two heavy computations admitted a typical expression is computed at once by the other."""
    heavy = {**SLOW, "source": SLOW["source"] + "\n# " + "padding " * 2500}
    with running_server(CHAINRULE_WORKERS="2", **RAISED) as (url, _), httpx.Client() as client:
        client.get(f"{url}/healthz")  # the client's own set-up is not the server's time
        results: list[httpx.Response] = []
        threads = [_post_in_background(url + BACKPROP, heavy, results) for _ in range(2)]
        _wait_busy(url, busy=2)
        start = time.monotonic()
        r = client.post(url + BACKPROP, json=TYPICAL, timeout=10)
        assert r.status_code == 200
        assert time.monotonic() - start < DEADLINE / 2  # not behind a heavy one (1 s or more)
        for thread in threads:
            thread.join(timeout=30)
        assert [r.status_code for r in results] == [503, 503]


def test_a_request_behind_a_full_queue_of_heavy_ones_is_not_called_stuck() -> None:
    """Heavy requests go one at a time with two workers: the last of a full queue may wait
    for every admitted one to run to its deadline, and /healthz must not call that stuck."""
    computations = Computations(workers=2, queue=16, memory_mb=0)
    one = LIMITS.max_seconds + 1  # a computation, killed at the latest 1 s past its deadline
    assert computations.longest_wait() >= (2 + 16) * one
