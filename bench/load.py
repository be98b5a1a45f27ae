"""Load test on loopback: the production server command with 1, then 2 workers, many concurrent
clients mixing good and malicious requests; /healthz polled throughout.

    python bench/load.py                      # 1 and 2 workers, 30 s each, print the report
    python bench/load.py --write docs/load.md # and write it (make load)

For each worker count: start `python -m chainrule.server` (as make serve-prod and docker-compose
do) on a free 127.0.0.1 port; measure the trivial endpoint first (/healthz alone, same clients,
the baseline); then run the mix for --seconds while a separate client polls /healthz every
100 ms. Counts every status by kind of request, connections dropped (any transport error), p50
and p99 latencies, and the workers' peak memory. Bounded: --seconds per phase, --max-requests.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
URL = "/api/v1/backprop"
JSON = {"content-type": "application/json"}
ONE_MB_SOURCE = "x+" * 500_000 + "x"

# (kind, weight, request keyword arguments for httpx, or "oversize" for the raw-socket client)
GOOD: list[tuple[str, int, dict[str, Any]]] = [
    ("good: sin(x*y) + x**2", 30, {"json": {"source": "sin(x*y) + x**2",
                                            "values": {"x": 1.5, "y": 2}}}),
    ("good: 2-layer net, 3x4", 15, {"json": {
        "source": "h = tanh(W1 @ x + b1)\nsum(softmax(W2 @ h))",
        "values": {"W1": [[0.1, 0.2, 0.3, 0.4]] * 3, "x": [1, 2, 3, 4], "b1": [0, 0, 0],
                   "W2": [[1, 2, 3], [3, 2, 1]]}}}),
    ("good: 1,000-element vector", 10, {"json": {"source": "sum(x * sin(x))",
                                                 "values": {"x": [i / 1000 for i in range(1000)]}}}),
    ("good: 600-node chain", 5, {"json": {
        "source": "\n".join(f"a{i + 1} = sin(a{i}) * x" for i in range(300)).replace("a0", "x")
        + "\na300", "values": {"x": 0.5}}}),
]
MALICIOUS: list[tuple[str, int, dict[str, Any]]] = [
    ("bad: __import__('os')", 5, {"json": {"source": "__import__('os').system('true')"}}),
    ("bad: x.__class__", 5, {"json": {"source": "x.__class__.__bases__", "values": {"x": 1}}}),
    ("bad: lambda", 3, {"json": {"source": "(lambda: x)()", "values": {"x": 1}}}),
    ("bad: comprehension", 3, {"json": {"source": "sum([x for x in y])"}}),
    ("bad: 9**9**9**9", 5, {"json": {"source": "9**9**9**9"}}),
    ("bad: 10,000 nested parens", 3, {"json": {"source": "(" * 10_000 + "x" + ")" * 10_000}}),
    ("bad: 1 MB source", 2, {"json": {"source": ONE_MB_SOURCE, "values": {"x": 1}}}),
    ("bad: 10^8-element outer product", 3, {"json": {"source": "sum(x.T @ x)",
                                                     "values": {"x": [[1.0] * 10_000]}}}),
    ("bad: ragged values", 3, {"json": {"source": "sum(x)", "values": {"x": [[1, 2], [3]]}}}),
    ("bad: NaN in values", 3, {"content": b'{"source": "x", "values": {"x": NaN}}',
                               "headers": JSON}),
    ("bad: non-UTF-8 bytes", 3, {"content": b'{"source": "\xff\xfe"}', "headers": JSON}),
    ("bad: 100,000-deep JSON", 2, {"content": b"[" * 100_000, "headers": JSON}),
    ("bad: 1 MB JSON number", 2, {"content": b'{"source": "x", "values": {"x": '
                                  + b"9" * 1_000_000 + b"}}", "headers": JSON}),
    ("bad: text/plain body", 3, {"content": b'{"source": "x"}',
                                 "headers": {"content-type": "text/plain"}}),
    ("bad: 8 MB body, Expect: 100-continue", 2, {}),
]
MIX = [(kind, weight, {"content": json.dumps(kw["json"]).encode(), "headers": JSON}
        if "json" in kw else kw) for kind, weight, kw in GOOD + MALICIOUS]  # encoded once


@dataclass
class Tally:
    """Statuses, dropped connections and latencies, by kind of request."""

    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    dropped: Counter[str] = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def record(self, kind: str, status: int | None, seconds: float) -> None:
        if status is None:
            self.dropped[kind] += 1
        else:
            self.statuses[kind][status] += 1
            self.latencies[kind].append(seconds)

    def all_latencies(self, prefix: str = "") -> list[float]:
        return [x for k, xs in self.latencies.items() if k.startswith(prefix) for x in xs]

    def count(self, predicate: Any = lambda status: True) -> int:
        return sum(n for c in self.statuses.values() for s, n in c.items() if predicate(s))


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def ms(x: float) -> str:
    return f"{x * 1000:.1f}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(workers: int, backend: Path | None = None) -> tuple[subprocess.Popen[bytes], int]:
    """The production command on a free port, from this checkout or `backend` (a directory)."""
    port = free_port()
    env = {**os.environ, "HOST": HOST, "PORT": str(port), "CHAINRULE_WORKERS": str(workers)}
    if backend is not None:
        env["PYTHONPATH"] = str(backend)
    proc = subprocess.Popen([sys.executable, "-m", "chainrule.server"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            if httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200:
                return proc, port
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise TimeoutError("the server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def worker_peak_mb(pid: int) -> list[float]:
    """VmHWM (peak resident memory) of each worker process of the server `pid`: the children
    of its forkserver (api/pool.py); the server itself when it has none."""
    def children(p: int) -> list[int]:
        try:
            return [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            return []

    def peak(p: int) -> float | None:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    forkservers = [c for c in children(pid)
                   if b"forkserver" in Path(f"/proc/{c}/cmdline").read_bytes()]
    workers = [w for f in forkservers for w in children(f)]
    peaks = [mb for mb in map(peak, workers or [pid]) if mb is not None]
    return sorted(peaks)


async def oversize_expect_continue(port: int) -> int | None:
    """POST a declared 8 MB body with `Expect: 100-continue`, as curl does for big bodies: the
    server answers 413 before any of it is sent. The status, or None if the connection dropped."""
    try:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(b"POST /api/v1/backprop HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 8388608\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = int(head.split()[1])
        writer.close()
        return status
    except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
        return None


async def one(client: httpx.AsyncClient, port: int, kind: str, kwargs: dict[str, Any],
              tally: Tally) -> None:
    start = time.perf_counter()
    status: int | None
    if not kwargs:
        status = await oversize_expect_continue(port)
    else:
        rest = {k: v for k, v in kwargs.items() if k not in ("method", "path")}
        try:
            status = (await client.request(kwargs.get("method", "POST"),
                                           kwargs.get("path", URL), **rest)).status_code
        except httpx.TransportError:
            status = None
    tally.record(kind, status, time.perf_counter() - start)


async def hammer(port: int, clients: int, seconds: float, max_requests: int,
                 pick: Any) -> tuple[Tally, float]:
    """`clients` concurrent loops, each sending `pick()`'s request after the last answer."""
    tally = Tally()
    sent = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", limits=limits,
                                 timeout=60) as client:
        start = time.perf_counter()
        end = start + seconds

        async def loop() -> None:
            nonlocal sent
            while time.perf_counter() < end and sent < max_requests:
                sent += 1
                kind, kwargs = pick()
                await one(client, port, kind, kwargs, tally)

        await asyncio.gather(*(loop() for _ in range(clients)))
        return tally, time.perf_counter() - start


def poll_health(port: int, seconds: float) -> list[tuple[float, int | None, float]]:
    """GET /healthz every 100 ms for `seconds`, from its own process (so that the load client's
    busy event loop does not add to the latencies): (wall time, status, seconds) each."""
    polls: list[tuple[float, int | None, float]] = []
    end = time.time() + seconds
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        while time.time() < end:
            at, start = time.time(), time.perf_counter()
            try:
                status: int | None = client.get("/healthz").status_code
            except httpx.TransportError:
                status = None
            polls.append((at, status, time.perf_counter() - start))
            time.sleep(0.1)
    return polls


def run_mix(port: int, clients: int, seconds: float, max_requests: int,
            idle_seconds: float = 3) -> tuple[Tally, Tally, Tally, float]:
    """The mix for `seconds`, /healthz polled from another process, idle first then under load."""
    rng = random.Random(0)
    kinds = [(k, kw) for k, _, kw in MIX]
    weights = [w for _, w, _ in MIX]

    def pick() -> tuple[str, dict[str, Any]]:
        return rng.choices(kinds, weights)[0]

    with ProcessPoolExecutor(1) as pool:
        polls = pool.submit(poll_health, port, idle_seconds + seconds + 1)
        time.sleep(idle_seconds)
        start = time.time()
        tally, elapsed = asyncio.run(hammer(port, clients, seconds, max_requests, pick))
        end = time.time()
        idle, loaded = Tally(), Tally()
        for at, status, latency in polls.result():
            (loaded if start <= at <= end else idle if at < start else Tally()).record(
                "healthz", status, latency)
    return tally, loaded, idle, elapsed


def measure(workers: int, clients: int, seconds: float, baseline_seconds: float,
            max_requests: int) -> dict[str, Any]:
    proc, port = start_server(workers)
    try:
        base, base_elapsed = asyncio.run(hammer(
            port, clients, baseline_seconds, max_requests,
            lambda: ("healthz baseline", {"method": "GET", "path": "/healthz"})))
        tally, health, idle, elapsed = run_mix(port, clients, seconds, max_requests)
        peaks = worker_peak_mb(proc.pid)
    finally:
        stop_server(proc)
    return {"workers": workers, "base": base, "base_elapsed": base_elapsed, "tally": tally,
            "health": health, "idle": idle, "elapsed": elapsed, "peaks": peaks}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return (f"{cpu}, {os.cpu_count()} CPUs, {mem / 1024 ** 2:.0f} GB RAM, Linux "
            f"{platform.release()}, Python {platform.python_version()}")


def report(results: list[dict[str, Any]], clients: int, seconds: float) -> str:
    out = ["# Load test", "",
           (f"Measured {dt.date.today().isoformat()} by `make load` (bench/load.py) on {machine()}. "
           "Client and server share the machine: the client (one Python process, httpx and "
           "asyncio) takes CPU from the workers, so these figures are a floor."), "",
           (f"Each run: the production command (`python -m chainrule.server`, as `make serve-prod` "
           f"and docker-compose.yml) on a free 127.0.0.1 port; first {clients} concurrent clients "
           "on /healthz alone (the baseline of the trivial endpoint); then the same clients for "
           f"{seconds:.0f} s on a weighted mix of good and malicious requests (below), each client "
           "sending its next request when the last is answered, while a client in another process "
           "polls /healthz every 100 ms (3 s idle first, then during the mix). Dropped = any transport error (reset, refused, timeout)."), "",
           ("| workers | requests | rps | p50 (ms) | p99 (ms) | good p50 / p99 (ms) | 5xx | "
           "dropped | /healthz during load p50 / p99 / max (ms) | /healthz idle p50 / p99 (ms) "
           f"| /healthz alone, {clients} clients: rps, p50 / p99 (ms) | worker peak RSS (MB) |"),
           "|" + "---|" * 12]
    for r in results:
        t, h, b = r["tally"], r["health"], r["base"]
        total = t.count() + sum(t.dropped.values())
        lat, good = t.all_latencies(), t.all_latencies("good")
        hl, bl, il = h.all_latencies(), b.all_latencies(), r["idle"].all_latencies()
        out.append(
            f"| {r['workers']} | {total:,} | {total / r['elapsed']:,.0f} | {ms(percentile(lat, .5))} "
            f"| {ms(percentile(lat, .99))} | {ms(percentile(good, .5))} / "
            f"{ms(percentile(good, .99))} | {t.count(lambda s: s >= 500)} | "
            f"{sum(t.dropped.values())} | {ms(percentile(hl, .5))} / {ms(percentile(hl, .99))} / "
            f"{ms(max(hl, default=float('nan')))} ({len(hl)} polls, "
            f"{sum(h.dropped.values()) + h.count(lambda s: s != 200)} failed) | "
            f"{ms(percentile(il, .5))} / {ms(percentile(il, .99))} | {b.count() / r['base_elapsed']:,.0f}, {ms(percentile(bl, .5))} / "
            f"{ms(percentile(bl, .99))} | {', '.join(f'{p:.0f}' for p in r['peaks'])} |")
    out += ["", "## By kind of request (last run)", "",
            "| request | weight | answered | statuses | dropped | p50 (ms) | p99 (ms) |",
            "|---|---|---|---|---|---|---|"]
    last = results[-1]["tally"]
    for kind, weight, _ in MIX:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(last.statuses[kind].items()))
        lat = last.latencies[kind]
        out.append(f"| {kind} | {weight} | {len(lat)} | {statuses} | {last.dropped[kind]} | "
                   f"{ms(percentile(lat, .5))} | {ms(percentile(lat, .99))} |")
    return "\n".join(out) + "\n"


# docs/load.md ends with this section, written by bench/bounds.py and kept by `make load`.
BOUNDS_HEADING = "## Bounded answers and refusals"


def section_of(text: str) -> str:
    """The section under BOUNDS_HEADING at the end of `text`, or ""."""
    return text[text.find(BOUNDS_HEADING):] if BOUNDS_HEADING in text else ""


def replace_section(path: Path, section: str) -> None:
    """Put `section` in place of the file's section under BOUNDS_HEADING (or at its end)."""
    old = path.read_text() if path.exists() else ""
    before = old[:len(old) - len(section_of(old))]
    path.write_text(before.rstrip("\n") + "\n\n" + section)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--baseline-seconds", type=float, default=5)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--write", type=Path, help="write the report there (markdown)")
    args = parser.parse_args()
    results = []
    for workers in args.workers:
        print(f"{workers} worker(s): {args.baseline_seconds:.0f} s baseline, "
              f"{args.seconds:.0f} s mix ...", file=sys.stderr, flush=True)
        results.append(measure(workers, args.clients, args.seconds, args.baseline_seconds,
                               args.max_requests))
    text = report(results, args.clients, args.seconds)
    print(text)
    if args.write:  # keep bench/bounds.py's section, the file's last
        old = args.write.read_text() if args.write.exists() else ""
        args.write.write_text(text + ("\n" + section_of(old) if section_of(old) else ""))
    failed = any(r["tally"].count(lambda s: s >= 500) or sum(r["tally"].dropped.values())
                 for r in results)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
