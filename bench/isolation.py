"""Issue 25's isolation targets, on the production command (bench/load.py's server, 2 workers):

1. a typical expression (`sin(x*y) + x**2`, a new x each time, so nothing can be reused) one
   request at a time against /healthz on the same keep-alive connection, alternated: medians
   and their ratio (target: within 1.5x);
2. while four maximum-size requests (250,000-node fan-out programs, HTTP v2) run: a typical
   expression back to back and /healthz back to back for `seconds`, each p99 (targets 0.3 s
   and 50 ms); every request's time against the deadline; the server's memory (its process,
   the forkserver and the workers, RSS) idle, at the peak and 3 s after the heavy ones ended
   (target: back within 10 % of idle);
3. the hostile inputs: the 2.5 KB exponential program, records ranges past the end and past
   int64, a lone surrogate; each status and time, and the next request's time (targets: 4xx
   within 5 s, the next at once).

    .venv/bin/python bench/isolation.py [--seconds 10]    # prints the figures; bench/run.py
                                                          # writes them to docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from load import percentile, start_server, stop_server
from programs import fan_out

TYPICAL = "sin(x*y) + x**2"
HEAVY_NODES = 249_990
HEAVY_COUNT = 4
WORKERS = 2


def _doubling_program(levels: int = 31) -> str:
    """Thirty primitives, each calling the one before it twice in its body and its rule."""
    lines = ["@derivative(lambda x: 1)\ndef f0(x):\n    return x + 1"]
    lines += [f"@derivative(lambda x: f{k - 1}(x) * f{k - 1}(x))\ndef f{k}(x):\n"
              f"    return f{k - 1}(x) + f{k - 1}(x)" for k in range(1, levels)]
    return "\n".join([*lines, f"y = f{levels - 1}(x)"])


class Client:
    """One keep-alive HTTP/1.1 connection, gzip accepted as browsers do."""

    def __init__(self, port: int, timeout: float = 120) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, float]:
        start = time.perf_counter()
        self.connection.request(method, path, body=body, headers={
            "content-type": "application/json", "accept-encoding": "gzip"})
        response = self.connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - start

    def typical(self, x: float) -> tuple[int, float]:
        return self.call("POST", "/api/v2/backprop", json.dumps(
            {"source": TYPICAL, "values": {"x": x, "y": 2}}).encode())

    def health(self) -> tuple[int, float]:
        return self.call("GET", "/healthz")


@dataclass
class Isolation:
    typical_ms: float = 0.0
    health_ms: float = 0.0
    loaded_typical_p99: float = 0.0
    loaded_health_p99: float = 0.0
    loaded_typical_count: int = 0
    loaded_health_count: int = 0
    loaded_statuses: dict[int, int] = field(default_factory=dict)
    heavy: list[tuple[int, float]] = field(default_factory=list)  # status, seconds
    memory_mb: dict[str, float] = field(default_factory=dict)  # idle, peak, after
    hostile: list[tuple[str, int, float, float]] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.typical_ms / self.health_ms


def _server_rss_mb(pid: int) -> float:
    """RSS of the server and every process under it (forkserver, workers), in MB."""
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        stack += [int(c) for c in children]
    return total


def sequential(port: int, rounds: int = 300) -> tuple[float, float]:
    """Medians (ms) of the typical expression and /healthz, alternated on one connection."""
    client = Client(port)
    for i in range(50):
        client.typical(0.5 + i)
        client.health()
    typical, health = [], []
    for i in range(rounds):
        typical.append(client.typical(1.5 + i * 1e-3)[1])
        health.append(client.health()[1])
    return statistics.median(typical) * 1e3, statistics.median(health) * 1e3


def under_load(port: int, pid: int, seconds: float, result: Isolation) -> None:
    """Four maximum-size requests, and meanwhile a typical expression and /healthz, each back
    to back; the server's memory before, at the peak and after."""
    heavy_body = json.dumps({"source": fan_out(HEAVY_NODES), "values": {"x": 0.3},
                             "check": False}).encode()
    time.sleep(1)
    idle = _server_rss_mb(pid)
    peak = idle
    heavy_threads = []

    def heavy() -> None:
        result.heavy.append(Client(port).call("POST", "/api/v2/backprop", heavy_body))

    for _ in range(HEAVY_COUNT):
        heavy_threads.append(threading.Thread(target=heavy))
        heavy_threads[-1].start()
    typical: list[float] = []
    health: list[float] = []
    stop = time.monotonic() + seconds

    def loop(call: str, into: list[float]) -> None:
        client = Client(port)
        i = 0
        while time.monotonic() < stop:
            status, took = client.typical(2.5 + i * 1e-3) if call == "typical" else client.health()
            result.loaded_statuses[status] = result.loaded_statuses.get(status, 0) + 1
            into.append(took)
            i += 1

    loops = [threading.Thread(target=loop, args=("typical", typical)),
             threading.Thread(target=loop, args=("health", health))]
    for thread in loops:
        thread.start()
    while any(t.is_alive() for t in heavy_threads + loops):
        peak = max(peak, _server_rss_mb(pid))
        time.sleep(0.1)
    time.sleep(3)
    result.memory_mb = {"idle": idle, "peak": peak, "after": _server_rss_mb(pid)}
    result.loaded_typical_p99 = percentile(typical, 0.99)
    result.loaded_health_p99 = percentile(health, 0.99)
    result.loaded_typical_count, result.loaded_health_count = len(typical), len(health)


def hostile(port: int) -> list[tuple[str, int, float, float]]:
    """Each hostile input's status and seconds, and the next typical request's seconds."""
    small = "a = x*y\nb = sin(a)\nc = b + x\nd = c*c\nL = d + a"
    cases = {
        "the 2.5 KB exponential program": {"source": _doubling_program(), "values": {"x": 0.5}},
        "records [9, 12] on a 7-step program": {"source": small, "values": {"x": 1, "y": 2},
                                                "records": [9, 12]},
        "records beyond int64": {"source": small, "values": {"x": 1, "y": 2},
                                 "records": [10**20, 10**21]},
        "a lone surrogate in a comment": None,
    }
    client = Client(port)
    rows = []
    for name, body in cases.items():
        raw = (json.dumps(body).encode() if body is not None else
               b'{"source": "x*y # \\udcff", "values": {"x": 1, "y": 2}}')
        status, took = client.call("POST", "/api/v2/backprop", raw)
        rows.append((name, status, took, client.typical(1.25)[1]))
    return rows


def measure(seconds: float = 10.0) -> Isolation:
    """Every figure above, on one server with WORKERS workers."""
    result = Isolation()
    proc, port = start_server(WORKERS)
    try:
        result.typical_ms, result.health_ms = sequential(port)
        result.hostile = hostile(port)
        under_load(port, proc.pid, seconds, result)
    finally:
        stop_server(proc)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    result = measure(args.seconds)
    print(f"one at a time: typical {result.typical_ms:.2f} ms, /healthz {result.health_ms:.2f} ms,"
          f" ratio {result.ratio:.2f}")
    print(f"under {HEAVY_COUNT} maximum-size requests: typical p99 "
          f"{result.loaded_typical_p99 * 1e3:.1f} ms ({result.loaded_typical_count} requests), "
          f"/healthz p99 {result.loaded_health_p99 * 1e3:.1f} ms "
          f"({result.loaded_health_count}); statuses {result.loaded_statuses}")
    print(f"heavy: {[(s, round(t, 2)) for s, t in result.heavy]}")
    print(f"memory MB: {result.memory_mb}")
    for name, status, took, after in result.hostile:
        print(f"{name}: {status} in {took * 1e3:.1f} ms, next {after * 1e3:.1f} ms")


if __name__ == "__main__":
    main()


def targets(result: Isolation) -> list[tuple[str, str, str, str, bool | str | None]]:
    """Issue 25's isolation rows for docs/benchmarks.md's Targets table (bench/run.py)."""
    memory = result.memory_mb
    back = memory["after"] / memory["idle"] if memory else float("nan")
    heavy = ", ".join(f"{status} in {took:.1f} s" for status, took in sorted(
        result.heavy, key=lambda h: h[1]))
    worst = max((t for _, _, t, _ in result.hostile), default=0.0)
    next_worst = max((n for _, _, _, n in result.hostile), default=0.0)
    hostile_ok = all(400 <= s < 500 and t <= 5 for _, s, t, _ in result.hostile)
    hostile = "; ".join(f"{name}: {status} in {took * 1e3:.0f} ms"
                        for name, status, took, _ in result.hostile)
    one = ("typical expression vs /healthz, one request at a time (medians, a new x each time; "
           "keep-alive, gzip; production command, 2 workers)")
    loaded = (f"typical expression while {HEAVY_COUNT} maximum-size requests run "
              f"({HEAVY_NODES:,}-node fan-out, v2), p99 over {result.loaded_typical_count} "
              "requests")
    waits = ("the maximum-size requests themselves, from sending to the answer (admitted, "
             "waiting for the one heavy worker, computing; each computation stopped at the "
             "30 s deadline)")
    memory_row = ("the server's memory (server, forkserver, workers; RSS) 3 s after they end, "
                  "against idle")
    memory_figure = (f"{memory.get('after', 0):.0f} MB against {memory.get('idle', 0):.0f} MB "
                     f"(peak {memory.get('peak', 0):.0f} MB)")
    hostile_row = ("hostile inputs (the 2.5 KB exponential program, records past the end and "
                   "past int64, a lone surrogate): status and time, then the next request")
    return [
        (one, f"{result.typical_ms:.2f} vs {result.health_ms:.2f} ms", "≤ 1.5× /healthz",
         f"{result.ratio:.2f}", result.ratio <= 1.5),
        (loaded, f"{result.loaded_typical_p99 * 1e3:.1f} ms", "≤ 0.3 s",
         f"{result.loaded_typical_p99 / 0.3:.2f}", result.loaded_typical_p99 <= 0.3),
        (f"/healthz while they run, p99 over {result.loaded_health_count} requests",
         f"{result.loaded_health_p99 * 1e3:.1f} ms", "≤ 50 ms",
         f"{result.loaded_health_p99 / 0.05:.2f}", result.loaded_health_p99 <= 0.05),
        (waits, heavy or "none", "no computation past its deadline", "", "shown"),
        (memory_row, memory_figure, "within 10 % of idle", f"{back:.2f}", back <= 1.10),
        (hostile_row, f"{hostile}; the next request within {next_worst * 1e3:.0f} ms",
         "4xx within 5 s, the next at once", f"{worst / 5:.4f}", hostile_ok),
    ]
