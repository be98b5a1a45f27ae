"""Throughput of the HTTP API: a typical expression against /healthz, the framework's ceiling.

Reuses bench/load.py's server and client (the production command on a free loopback port; one
client process, httpx and asyncio, `clients` concurrent loops each sending its next request when
the last is answered). For each worker count: /healthz alone, then the typical expression alone,
as the compact answer (`POST /api/v2/backprop`) and as v1 records (`POST /api/v1/backprop`),
alternated in two rounds of `seconds / 2` each, on the same server. Called by bench/run.py (`make bench`).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from load import JSON, hammer, percentile, start_server, stop_server

TYPICAL = {"source": "sin(x*y) + x**2", "values": {"x": 1.5, "y": 2}}
ANSWERS = {"typical": "/api/v2/backprop", "typical v1": "/api/v1/backprop"}  # compact, records


@dataclass
class Throughput:
    workers: int
    endpoint: str
    requests: int
    failed: int  # non-2xx answers and dropped connections
    rps: float
    p50: float
    p99: float


def _run(port: int, workers: int, endpoint: str, kwargs: dict[str, object], clients: int,
         seconds: float) -> Throughput:
    tally, elapsed = asyncio.run(hammer(port, clients, seconds, 10**7, lambda: (endpoint, kwargs)))
    latencies = tally.all_latencies()
    ok = tally.count(lambda s: 200 <= s < 300)
    failed = tally.count() - ok + sum(tally.dropped.values())
    return Throughput(workers, endpoint, ok + failed, failed, ok / elapsed,
                      percentile(latencies, 0.5), percentile(latencies, 0.99))


def _merge(parts: list[Throughput]) -> Throughput:
    """Rounds of the same endpoint as one: counts added, rates and latencies averaged."""
    n = len(parts)
    return Throughput(parts[0].workers, parts[0].endpoint, sum(p.requests for p in parts),
                      sum(p.failed for p in parts), sum(p.rps for p in parts) / n,
                      sum(p.p50 for p in parts) / n, sum(p.p99 for p in parts) / n)


def measure_api(worker_counts: list[int], clients: int, seconds: float) -> list[Throughput]:
    """/healthz, then the typical expression as the compact answer (v2) and as v1 records,
    for each worker count, on one server each."""
    bodies: dict[str, dict[str, object]] = {
        name: {"content": json.dumps(TYPICAL).encode(), "headers": JSON, "path": path}
              for name, path in ANSWERS.items()}
    trivial = {"method": "GET", "path": "/healthz"}
    out = []
    for workers in worker_counts:
        proc, port = start_server(workers)
        try:
            for body in bodies.values():
                _run(port, workers, "warm-up", body, clients, 0.5)
            rounds = [(_run(port, workers, "/healthz", trivial, clients, seconds / 2),
                       *(_run(port, workers, name, body, clients, seconds / 2)
                         for name, body in bodies.items()))
                      for _ in range(2)]  # alternated, so that drift touches all alike
            out += [_merge(list(pair)) for pair in zip(*rounds, strict=True)]
        finally:
            stop_server(proc)
    return out
