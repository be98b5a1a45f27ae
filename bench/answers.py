"""A big program's answer, before and after: time over HTTP and bytes on the wire, side by side.

    python bench/answers.py --before /path/to/old/backend [--nodes 10000] [--repeats 2]

For each shape of bench/programs.py at --nodes, POST /api/v1/backprop through TestClient (which
accepts gzip, as browsers do), first in a process importing the other checkout's backend, then
in one importing this one; prints a markdown table with the ratios (now / before).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BACKEND = BENCH.parent / "backend"


def measure(nodes: int, repeats: int) -> dict[str, dict[str, float]]:
    """In this process: each shape's median HTTP time, bytes on the wire and plain bytes."""
    from chainrule.app import create_app
    from fastapi.testclient import TestClient
    from programs import SHAPES

    client = TestClient(create_app())
    client.post("/api/v1/backprop", json={"source": "sin(x*y)", "values": {"x": 1, "y": 2}})
    out = {}
    for shape, program in SHAPES.items():
        body = {"source": program(nodes), "values": {"x": 0.3}}
        times, response = [], None
        for _ in range(repeats):
            start = time.perf_counter()
            response = client.post("/api/v1/backprop", json=body)
            times.append(time.perf_counter() - start)
        assert response is not None and response.status_code == 200, response
        out[shape] = {"seconds": statistics.median(times), "nodes": len(response.json()["nodes"]),
                      "wire": response.num_bytes_downloaded, "plain": len(response.content)}
    return out


def run_in(backend: Path, nodes: int, repeats: int) -> dict[str, dict[str, float]]:
    """`measure` in a new process that imports the backend at `backend`."""
    env = {**os.environ, "PYTHONPATH": f"{backend}{os.pathsep}{BENCH}"}
    done = subprocess.run([sys.executable, __file__, "--measure", str(nodes), str(repeats)],
                          env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def table(before: dict[str, dict[str, float]], now: dict[str, dict[str, float]]) -> str:
    """Markdown: per shape, seconds and bytes a node before and now, and their ratios."""
    lines = [("| shape | nodes | HTTP before (s) | HTTP now (s) | now / before | wire bytes/node "
             "before | wire bytes/node now | now / before | JSON bytes/node |"),
             "|---|---|---|---|---|---|---|---|---|"]
    for shape, n in now.items():
        b = before[shape]
        lines.append(
            f"| {shape} | {int(n['nodes']):,} | {b['seconds']:.2f} | {n['seconds']:.2f} | "
            f"{n['seconds'] / b['seconds']:.2f} | {b['wire'] / b['nodes']:,.0f} | "
            f"{n['wire'] / n['nodes']:,.0f} | {n['wire'] / b['wire']:.2f} | "
            f"{n['plain'] / n['nodes']:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(int(sys.argv[2]), int(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the other backend directory")
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    before = run_in(args.before, args.nodes, args.repeats)
    now = run_in(BACKEND, args.nodes, args.repeats)
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print(table(before, now))


if __name__ == "__main__":
    main()
