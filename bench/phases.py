"""Where the time of a big program's answer goes, phase by phase, before and now (`make bench`).

    python bench/phases.py [--before REV] [--nodes 10000] [--repeats 3]

The backend before (REV, by default f669415, the start of the round in which issue 11 measured
its figures) is taken out of git (`git archive REV backend`) into a temporary directory, so a
fresh clone needs no other checkout. Each backend is measured in its own process, one after the
other: for each shape of bench/programs.py at --nodes, every phase through the functions both
backends have (parse, build_graph, Graph.order, forward, backward with and without records,
forward_steps, finite_difference_check, run.trace, run.backprop_data), the answer's encoding
(before: json.dumps of the whole, as its route did; now: encoding.encode_answer, orjson then
gzip) and the whole HTTP answer through TestClient (which accepts gzip, as browsers do), with
its bytes. A phase a backend cannot run is reported with its error, not guessed. bench/run.py
calls `before_and_now`; run alone, this prints the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO_ROOT = BENCH.parent
BEFORE_REV = "f669415"

# name: what it covers (the table's first column explains each)
PHASES: dict[str, str] = {
    "parse": "text to syntax tree (`parse`)",
    "graph": "syntax tree to graph, with shapes and formulas (`build_graph`)",
    "order": "topological order (`Graph.order`)",
    "forward": "forward sweep, numbers only (`forward`)",
    "backward": "backward sweep, numbers only (`backward(record=False)`)",
    "backward+records": "backward sweep with every term's record (`backward`)",
    "forward records": "forward sweep's records (`forward_steps`)",
    "check": "finite-difference check (`finite_difference_check`)",
    "trace": "the whole answer from a built graph: sweeps, records, check, assembly (`trace`)",
    "assembly": "trace less the phases above it: nodes, edges, layers, warnings",
    "backprop_data": "the whole answer from the text (`backprop_data`)",
    "encode": "the answer to bytes (before: json.dumps; now: `encode_answer`, orjson + gzip)",
    "HTTP": "POST /api/v1/backprop through TestClient, accepting gzip",
}
ASSEMBLED = ["order", "forward", "backward+records", "forward records", "check"]


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall time of `fn()` over `repeats` runs, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


# ------------------------------------------------------------- in the measured backend's process


def _encoder() -> Callable[[object], bytes]:
    """How this backend's route turns the answer into bytes. (Whether it has encoding.py is
    asked of its directory: an editable install's import hook would find another's.)"""
    import chainrule

    if not (Path(chainrule.__file__).parent / "encoding.py").exists():
        # before issue 9: json.dumps of the whole, sent plain
        return lambda data: json.dumps(data, ensure_ascii=False, allow_nan=False,
                                       separators=(",", ":")).encode()
    from chainrule.encoding import encode_answer
    from chainrule.settings import LIMITS

    return lambda data: encode_answer(data, max_bytes=LIMITS.max_answer_bytes, coding="gzip").body


def measure_shape(shape: str, nodes: int, repeats: int, client: Any) -> dict[str, Any]:
    """Every phase of one shape's program in the backend imported here: seconds, or the error."""
    import numpy as np
    from chainrule.check import finite_difference_check
    from chainrule.engine import backward, forward, forward_steps
    from chainrule.graph import build_graph
    from chainrule.parsing import parse
    from chainrule.run import backprop_data, trace
    from programs import SHAPES, values

    source, inputs = SHAPES[shape](nodes), values(shape)
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}

    def timed(phase: str, fn: Callable[[], Any]) -> Any:
        try:
            seconds[phase], result = median_time(fn, repeats)
        except Exception as exc:  # noqa: BLE001 (a phase this backend cannot run is a result)
            errors[phase] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:100]}"
            return None
        return result

    # The whole answer over HTTP first, while this process holds nothing of the phases below,
    # as a server's worker does: with their graphs and records alive, it took about 10 % longer.
    response = timed("HTTP", lambda: client.post(
        "/api/v1/backprop", json={"source": source, "values": inputs},
        headers={"accept-encoding": "gzip"}))
    http = None if response is None else {
        "status": response.status_code, "wire": response.num_bytes_downloaded,
        "plain": len(response.content),
        "content_encoding": response.headers.get("content-encoding", "identity")}
    del response
    program = timed("parse", lambda: parse(source))
    graph = timed("graph", lambda: build_graph(program, inputs))
    if graph is not None:  # the phases below are timed many times over: no deadline for them
        graph.deadline.end = time.monotonic() + 3600
    order = timed("order", lambda: graph.order())
    node_values = timed("forward", lambda: forward(graph, order))
    timed("backward", lambda: backward(graph, order, node_values, record=False))
    sweep = timed("backward+records", lambda: backward(graph, order, node_values))
    timed("forward records", lambda: forward_steps(graph, order, node_values))
    timed("check", lambda: finite_difference_check(
        graph, order, sweep.grads, float(np.sum(node_values[graph.output]))))
    timed("trace", lambda: trace(graph))
    if "trace" in seconds and all(p in seconds for p in ASSEMBLED):
        seconds["assembly"] = seconds["trace"] - sum(seconds[p] for p in ASSEMBLED)
    data = timed("backprop_data", lambda: backprop_data(source, inputs))
    body = timed("encode", lambda: _encoder()(data))
    out: dict[str, Any] = {"seconds": seconds, "errors": errors,
                           "nodes": len(graph.nodes) if graph is not None else 0}
    if body is not None:
        out["encoded_bytes"] = len(body)
    out.update(http or {})
    return out


def measure(nodes: int, repeats: int) -> dict[str, Any]:
    """Every shape in this process's backend (the one on PYTHONPATH)."""
    import chainrule
    from chainrule.app import create_app
    from fastapi.testclient import TestClient
    from programs import SHAPES

    client = TestClient(create_app())
    client.post("/api/v1/backprop", json={"source": "sin(x*y)", "values": {"x": 1, "y": 2}})
    shapes = {shape: measure_shape(shape, nodes, repeats, client) for shape in SHAPES}
    package = Path(chainrule.__file__).resolve().parent
    files = {name: getattr(module, "__file__", None) for name, module in sys.modules.items()
             if name.startswith("chainrule.")}
    strays = sorted(name for name, file in files.items()
                    if file and package not in Path(file).resolve().parents)
    if strays:  # an editable install's import hook found a module another backend has
        raise RuntimeError(f"imported from outside {package}: {', '.join(strays)}")
    return {"backend": str(package.parent), "shapes": shapes, "limits": limits()}


def limits() -> dict[str, float]:
    """This backend's limits (settings.py: the README's Limits table), by name."""
    from chainrule import settings

    out = dict(dataclasses.asdict(settings.LIMITS))
    out["max_body_bytes"] = settings.MAX_BODY_BYTES
    return out


# ------------------------------------------------------------------------ in bench/run.py's


def extract_backend(rev: str, into: Path) -> Path:
    """The backend/ directory of commit `rev`, from this repository's git, under `into`."""
    archive = into / "backend.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(REPO_ROOT), "archive", rev, "backend"], stdout=out,
                       check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "backend"


def run_in(backend: Path, nodes: int, repeats: int, timeout: float = 900) -> dict[str, Any]:
    """`measure` in a new process that imports the backend at `backend` (checked)."""
    env = {**os.environ, "PYTHONPATH": f"{backend}{os.pathsep}{BENCH}"}
    done = subprocess.run([sys.executable, __file__, "--measure", str(nodes), str(repeats)],
                          env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{backend}: exit status {done.returncode}: "
                           f"{(done.stderr.strip().splitlines() or [''])[-1]}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if Path(data["backend"]) != backend.resolve():
        raise RuntimeError(f"measured {data['backend']}, not {backend}")
    return data


def before_and_now(rev: str, nodes: int, repeats: int) -> dict[str, Any]:
    """The backend at `rev`, then this checkout's, each in its own process, one after the other."""
    with tempfile.TemporaryDirectory() as tmp:
        before = run_in(extract_backend(rev, Path(tmp)), nodes, repeats)
    now = run_in(REPO_ROOT / "backend", nodes, repeats)
    return {"rev": rev, "nodes": nodes, "repeats": repeats, "before": before["shapes"],
            "now": now["shapes"], "limits": {"before": before["limits"], "now": now["limits"]}}


def _cell(shape: dict[str, Any], phase: str) -> str:
    if phase in shape["seconds"]:
        value = shape["seconds"][phase] * 1000
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return "—" if phase not in shape["errors"] else "fails"


WHOLES = ("trace", "backprop_data", "HTTP")  # sums of other phases


def moved_most(before: dict[str, Any], now: dict[str, Any]) -> str:
    """A sentence: the three phases (not sums of others) whose time changed most, in ms."""
    deltas = {p: (now["seconds"][p] - before["seconds"][p]) * 1000 for p in PHASES
              if p not in WHOLES and p in now["seconds"] and p in before["seconds"]}
    top = sorted(deltas, key=lambda p: -abs(deltas[p]))[:3]
    return ("Changed most: " + ", ".join(f"{p} {deltas[p]:+,.0f} ms" for p in top) + "."
            if top else "")


def tables(result: dict[str, Any]) -> list[str]:
    """Markdown: per shape, each phase before and now (ms) and now / before, then bytes."""
    out: list[str] = []
    for shape, now in result["now"].items():
        before = result["before"].get(shape)
        if before is None:
            continue
        out += [f"**{shape}**, {now['nodes']:,} nodes (before: {before['nodes']:,})", "",
                "| phase | before (ms) | now (ms) | now / before | share of now's HTTP |",
                "|---|---|---|---|---|"]
        http = now["seconds"].get("HTTP")
        for phase in PHASES:
            b, n = before["seconds"].get(phase), now["seconds"].get(phase)
            ratio = "" if not b or n is None or b <= 0 else (
                f"{n / b:.2f}" if n / b >= 0.1 else f"{n / b:.2g}")
            share = f"{n / http:.0%}" if http and n is not None else ""
            out.append(f"| {phase} | {_cell(before, phase)} | {_cell(now, phase)} | {ratio} | "
                       f"{share} |")
        if "wire" in now and "wire" in before:
            out.append(f"| bytes a node on the wire | {before['wire'] / before['nodes']:,.0f} "
                       f"({before['content_encoding']}) | {now['wire'] / now['nodes']:,.0f} "
                       f"({now['content_encoding']}) | "
                       f"{(now['wire'] / now['nodes']) / (before['wire'] / before['nodes']):.2f}"
                       " | |")
        out += ["", moved_most(before, now)]
        errors = [f"- {which}, {phase}: `{error}`" for which, data in
                  (("before", before), ("now", now)) for phase, error in data["errors"].items()]
        out += ([""] + errors if errors else []) + [""]
    return out


def main() -> None:
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(int(sys.argv[2]), int(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=BEFORE_REV, help="the git revision measured before")
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = before_and_now(args.before, args.nodes, args.repeats)
    print(f"load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("\n".join(tables(result)))


if __name__ == "__main__":
    main()
