"""How fast the backend is, phase by phase: not a test, a measurement (`make bench`).

Part 1: scalar graphs of about 100 to 250,000 nodes (the node limit) in four shapes: a chain
(`a1 = sin(a0)`, one line each), a wide sum (one line of many terms), heavy fan-out (every
line uses x three times) and issue 11's program; 500,000 nodes must be refused. Up to 50,000
nodes, the time of each phase (parse, graph, topological order, the sweeps' plan, forward sweep,
backward sweep without and with its records, finite-difference check), of the whole
`backprop()` and of the whole HTTP answer through TestClient: the compact answer
(`POST /api/v2/backprop`) and, up to 20,000 nodes, the v1 records (`POST /api/v1/backprop`),
with their bytes; above 50,000 nodes, the compact answer over HTTP only.

Then issue 25's deep programs (bench/programs.py's DEEP: a one-line unary chain `-----x`, a
one-line sum `x + x + ...`, `1*x + 2*x + ...`), each at 1,000 and 10,000 nodes and at the size
the issue measured, the same way.

Part 2: backprop against finite differences for one vector input of N = 10 ... 10,000 elements:
one forward and one backward pass against 2N evaluations, vectorized (the check's own batched
pass) and as a naive loop of 2N forward evaluations.

Part 3: the same programs through micrograd, HIPS autograd, sympy and PyTorch (bench/compare.py,
in its own process). Part 4: the HTTP API, a typical expression against /healthz under
concurrent load, 1 and N workers (bench/api.py, reusing bench/load.py's client). Part 5: the
browser (bench/browser.py, headless Chromium), and the page in Lighthouse (bench/lighthouse.py,
also writing docs/lighthouse.md). Part 6: micrograd's own demo, 25, 50 and 100
two-moons points through `from_micrograd` against micrograd (bench/moons.py, in its own
process with the deadline raised). Part 7: the 2-16-16-1 MLP through `from_torch` against
PyTorch's own forward and backward (bench/torch_mlp.py, in its own process), and the
tutorials' LeNet on one 32×32 image (bench/torch_lenet.py, in its own process), and makemore
part 4's forward pass at batch 32 (bench/torch_makemore.py, in its own process). Between parts 1 and 3, the backend before issue 17's round
(1007936) and now, phase by phase at 10,000 nodes (bench/phases.py).

Everything runs in one `make bench`, one after the other, so that ratios hold on a noisy
machine; each time is the median of a few repeats (time.perf_counter). Writes
docs/benchmarks.md, its Targets table first, and the figures in docs/img/.

    .venv/bin/python bench/run.py [--quick] [--skip compare api browser levels lighthouse before moons torch deep isolation]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import isolation
import moons
import numpy as np
import plots
import torch_lenet
import torch_makemore
import torch_mlp
from api import Throughput, measure_api
from chainrule import backprop
from chainrule.analyses.check import finite_difference_check
from chainrule.answer.encoding import encode_answer
from chainrule.core.sweeps import backward, evaluate, forward
from chainrule.readers.parsing import parse
from chainrule.readers.program import build_graph
from chainrule.server.app import create_app
from chainrule.settings import LIMITS
from fastapi.testclient import TestClient
from phases import BEFORE_REV, before_and_now, fresh_plan, median_time
from phases import PHASES as PHASES_EXPLAINED
from phases import tables as phase_tables
from programs import DEEP, SHAPES, values

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
REPORT = REPO_ROOT / "docs" / "benchmarks.md"
IMG = REPO_ROOT / "docs" / "img"
X = 0.3
GZIP = {"accept-encoding": "gzip"}  # the scalar graphs' requests: as browsers ask
V2, V1 = "/api/v2/backprop", "/api/v1/backprop"
# The largest size every shape reaches within the node limit (issue 11's program adds 6 nodes
# a line, so 250,000 would make it 250,003); the chain's source passes 2 MiB before it.
TOP = LIMITS.max_nodes - 10
OVER = 2 * LIMITS.max_nodes  # must be refused with a 4xx
PHASED_UP_TO = 50_000  # above, only the compact answer over HTTP is timed
V1_UP_TO = 20_000  # the v1 records over HTTP, up to this size (issue 11's 20,000-node target)


# ---------------------------------------------------------------------------------- timing


@dataclass
class Row:
    shape: str
    target: int
    nodes: int = 0
    lines: int = 0
    chars: int = 0
    times: dict[str, float] | None = None
    json_bytes: int = 0  # the compact answer (v2), uncompressed
    wire_bytes: int = 0  # the compact answer as sent (gzip: the request accepts it)
    v1_json_bytes: int = 0  # the v1 records, where timed
    v1_wire_bytes: int = 0
    v1_refused: str = ""
    refused: str = ""
    refused_s: float = 0.0
    status: int = 0  # of the HTTP answer
    content_encoding: str = ""  # of the HTTP answer ("identity" when none)


PHASES = ["parse", "graph", "order", "plan", "forward", "backward", "backward+records", "check",
          "rest", "backprop()", "encode", "HTTP", "HTTP v1"]


def refusal(response: Any, seconds: float) -> str:
    """What a refused request answered, in words."""
    try:
        error = response.json()["error"]
        said = f"kind '{error['kind']}', \"{error['message']}\""
    except (ValueError, KeyError, TypeError):
        said = response.text[:120]
    return f"refused: {said}; HTTP {response.status_code} in {seconds * 1000:.0f} ms"


def measure_graph(shape: str, target: int, client: TestClient, repeats: int) -> Row:
    """Every phase of one graph, each timed on its own, then the whole pipeline; above
    PHASED_UP_TO nodes only the compact answer over HTTP."""
    program = SHAPES[shape] if shape in SHAPES else DEEP[shape][0]
    source, inputs = program(target), values(shape, X)
    row = Row(shape, target, lines=source.count("\n") + 1, chars=len(source))
    body = {"source": source, "values": inputs}
    # The whole answer over HTTP first, while this process holds nothing of the phases below,
    # as a server's worker does: with their graphs and records alive, it took about 10 % longer.
    http_t, response = median_time(lambda: client.post(V2, json=body, headers=GZIP), repeats)
    row.status = response.status_code
    if response.status_code != 200:
        row.refused_s, row.refused = http_t, refusal(response, http_t)
        return row
    row.content_encoding = response.headers.get("content-encoding", "identity")
    row.json_bytes = len(response.content)
    row.wire_bytes = response.num_bytes_downloaded
    row.nodes = len(response.json()["columns"]["nodes"]["op"])
    del response
    row.times = {"HTTP": http_t}
    if target <= V1_UP_TO:
        v1_t, response = median_time(lambda: client.post(V1, json=body, headers=GZIP), repeats)
        if response.status_code == 200:
            row.times["HTTP v1"] = v1_t
            row.v1_json_bytes, row.v1_wire_bytes = (len(response.content),
                                                    response.num_bytes_downloaded)
        else:
            row.v1_refused = refusal(response, v1_t)
        del response
    if target > PHASED_UP_TO:
        return row
    t = row.times
    t["parse"], program = median_time(lambda: parse(source), repeats)
    t["graph"], graph = median_time(lambda: build_graph(program, inputs), repeats)
    graph.deadline.end = time.monotonic() + 3600  # timed many times over: no deadline here
    t["order"], order = median_time(graph.order, repeats)
    t["plan"], _ = median_time(lambda: fresh_plan(graph), repeats)
    t["forward"], vals = median_time(lambda: forward(graph), repeats)
    t["backward"], _ = median_time(lambda: backward(graph, vals, record=False), repeats)
    t["backward+records"], sweep = median_time(lambda: backward(graph, vals), repeats)
    out = float(vals[graph.output].reshape(()))
    t["check"], _ = median_time(lambda: finite_difference_check(graph, order, sweep.grads, out),
                                repeats)
    t["backprop()"], answer = median_time(lambda: backprop(source, inputs), repeats)
    data = answer.model_dump(mode="json", by_alias=True)  # the compact answer's data
    t["encode"], _ = median_time(lambda: encode_answer(
        data, max_bytes=LIMITS.max_answer_bytes, coding="gzip"), repeats)
    # What backprop() spends beyond the phases timed here: columns, op entries, warnings.
    t["rest"] = t["backprop()"] - sum(t[p] for p in PHASES[:PHASES.index("rest")]
                                      if p != "backward")
    return row


@dataclass
class CheckRow:
    n: int
    nodes: int
    backprop_t: float  # forward + backward sweeps (no records)
    full_t: float  # backprop() with records and the default (possibly sampled) check
    default_checked: int
    vector_t: float  # the check's batched pass over all 2N evaluations
    naive_t: float | None  # 2N separate forward evaluations
    naive_sampled: int  # how many of the 2N were timed (extrapolated when fewer)
    max_error: float


OFFERS = {"gzip": "gzip", "zstd": "zstd", "br": "br",
          "Chrome's": "gzip, deflate, br, zstd", "Safari's": "gzip, deflate, br"}


def offered_encodings(client: TestClient, nodes: int, repeats: int) -> dict[str, dict[str, Any]]:
    """What answers issue 11's program (the compact answer) when the client offers each
    Accept-Encoding: the Content-Encoding, bytes a node on the wire and the median time."""
    body = {"source": SHAPES["issue 11"](nodes), "values": values("issue 11", X)}
    out = {}
    for name, asked in OFFERS.items():
        seconds, response = median_time(lambda asked=asked: client.post(
            V2, json=body, headers={"accept-encoding": asked}), repeats)
        count = len(response.json()["columns"]["nodes"]["op"])
        out[name] = {"coding": response.headers.get("content-encoding", "identity"),
                     "seconds": seconds, "bytes_per_node": response.num_bytes_downloaded / count}
    return out


def measure_check(n: int, repeats: int, naive_budget_s: float) -> CheckRow:
    """One vector input of n elements: backprop's two passes against 2n evaluations."""
    source = "sum(x * sin(x))"
    x = np.linspace(-1.0, 1.0, n)
    values = {"x": x.tolist()}
    graph = build_graph(parse(source), values)
    order = graph.order()

    def two_passes() -> Any:
        vals = forward(graph)
        return vals, backward(graph, vals, record=False)

    backprop_t, (vals, sweep) = median_time(two_passes, repeats)
    out = float(vals[graph.output].reshape(()))
    full_t, full = median_time(lambda: backprop(source, values), repeats)
    unlimited = replace(LIMITS, max_check_work=10**12)
    vector_t, check = median_time(
        lambda: finite_difference_check(graph, order, sweep.grads, out, unlimited), repeats)
    assert check["complete"] and check["evaluations"] == 2 * n

    x_id = graph.inputs["x"]
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    naive_grad = np.zeros(n)
    start = time.perf_counter()
    done = 0
    for k in range(n):  # the textbook loop: perturb one element, run the whole function, twice
        plus, minus = x.copy(), x.copy()
        plus[k] += h[k]
        minus[k] -= h[k]
        f_plus = evaluate(graph, {x_id: plus}, batched=False)[graph.output]
        f_minus = evaluate(graph, {x_id: minus}, batched=False)[graph.output]
        naive_grad[k] = float(f_plus - f_minus) / (2 * h[k])
        done += 1
        if time.perf_counter() - start > naive_budget_s:
            break
    naive_t = (time.perf_counter() - start) * n / done
    exact = np.sin(x) + x * np.cos(x)
    error = float(np.max(np.abs(sweep.grads[x_id] - exact)))
    assert np.allclose(naive_grad[:done], exact[:done], atol=1e-6)
    return CheckRow(n, len(graph.nodes), backprop_t, full_t, full.check.checked, vector_t,
                    naive_t, 2 * done, error)


# ---------------------------------------------------------------------------------- report


def ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def us(seconds: float) -> str:
    value = seconds * 1e6
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
    return (f"{cores} cores (nproc), {platform.processor() or platform.machine()}, "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"numpy {np.__version__}; load average at start {load}")


def _cell(times: dict[str, float], phase: str, unit: float = 1.0) -> str:
    """A time in ms (or, with `unit` the nodes, µs a node); "—" where not timed."""
    if phase not in times:
        return "—"
    return ms(times[phase]) if unit == 1.0 else us(times[phase] / unit)


def _per_node(total: int, nodes: int) -> str:
    return f"{total / nodes:,.0f}" if total else "—"


def graph_tables(rows: list[Row]) -> list[str]:
    head = ("| shape | nodes | lines | " + " | ".join(PHASES) + " | compact bytes/node | "
            "on the wire (gzip) | v1 bytes/node | v1 on the wire (gzip) |")
    out = ["### Time of each phase (ms, median)", "", head,
           "|" + "---|" * (len(PHASES) + 7)]
    for r in rows:
        if r.times is None:
            continue
        cells = " | ".join(_cell(r.times, p) for p in PHASES)
        out.append(f"| {r.shape} | {r.nodes:,} | {r.lines:,} | {cells} | "
                   f"{_per_node(r.json_bytes, r.nodes)} | {_per_node(r.wire_bytes, r.nodes)} | "
                   f"{_per_node(r.v1_json_bytes, r.nodes)} | "
                   f"{_per_node(r.v1_wire_bytes, r.nodes)} |")
    out += ["", (f"*plan*: the sweeps' groups (`Graph.plan`), made once a graph; *rest*: what "
                 "`backprop()` spends beyond the phases timed apart (the columns, the op "
                 "entries, warnings, the result constructed); *encode*: the compact answer to "
                 "bytes (orjson, then gzip level 1, bounded); *HTTP*: `POST /api/v2/backprop` "
                 "(the compact answer) through TestClient, gzip accepted; *HTTP v1*: "
                 f"`POST /api/v1/backprop`, the same answer spelled out as records (up to "
                 f"{V1_UP_TO:,} nodes). Above {PHASED_UP_TO:,} nodes only the compact answer "
                 "over HTTP is timed.")]
    out += ["", "### Per node (µs), and backward / forward", "",
            ("| shape | nodes | parse | graph | plan | forward | backward | backward+records | "
             "check | backprop() | HTTP | HTTP v1 | backward / forward | "
             "backward+records / forward |"),
            "|" + "---|" * 14]
    for r in rows:
        if r.times is None:
            continue
        t = r.times
        per = " | ".join(_cell(t, p, r.nodes) for p in
                         ["parse", "graph", "plan", "forward", "backward", "backward+records",
                          "check", "backprop()", "HTTP", "HTTP v1"])
        ratios = (f"{t['backward'] / t['forward']:.2f} | "
                  f"{t['backward+records'] / t['forward']:.2f}" if "forward" in t else "— | —")
        out.append(f"| {r.shape} | {r.nodes:,} | {per} | {ratios} |")
    refused = [r for r in rows if r.refused]
    v1_refused = [r for r in rows if r.v1_refused]
    if refused or v1_refused:
        out += ["", "### Over the limit", ""]
        out += [f"- {r.shape}, about {r.target:,} nodes ({r.lines:,} line{'s' * (r.lines > 1)}, "
                f"{r.chars:,} characters): {r.refused}." for r in refused]
        out += [f"- {r.shape}, {r.nodes:,} nodes, v1 records: {r.v1_refused}."
                for r in v1_refused]
    return out


def check_table(rows: list[CheckRow]) -> list[str]:
    out = [("| N | backprop: passes | forward + backward (ms) | backprop() (ms) | "
           "finite differences: evaluations | vectorized check (ms) | naive loop (ms) | "
           "vectorized / backprop | naive / vectorized | default check |"),
           "|" + "---|" * 10]
    for r in rows:
        naive = "n/a" if r.naive_t is None else ms(r.naive_t) + (
            "" if r.naive_sampled == 2 * r.n else f" (est. from {r.naive_sampled:,})")
        out.append(f"| {r.n:,} | 1 + 1 | {ms(r.backprop_t)} | {ms(r.full_t)} | {2 * r.n:,} | "
                   f"{ms(r.vector_t)} | {naive} | {r.vector_t / r.backprop_t:,.0f}× | "
                   f"{(r.naive_t or 0) / r.vector_t:,.1f}× | {r.default_checked:,} of "
                   f"{r.n:,} elements |")
    return out


def _range(xs: list[float], fmt: str = ".2f", suffix: str = "") -> str:
    low, high = f"{min(xs):{fmt}}{suffix}", f"{max(xs):{fmt}}{suffix}"
    return low if low == high else f"{low} to {high}"


def reading(rows: list[Row], checks: list[CheckRow]) -> str:
    """A paragraph: how time per node grows, where it goes, what the records cost."""
    done = [r for r in rows if r.times]
    phased = [r for r in done if "forward" in r.times]  # type: ignore[operator]
    sentences = []
    spreads = flat_spreads(rows)
    if spreads:
        sentences.append(
            "Over HTTP, the compact answer's time per node from 1,000 nodes to each shape's "
            "largest varies by a factor of " + ", ".join(
                f"{x:.2f} ({shape}, to {top:,})" for shape, x, top, _ in spreads) + ".")
    if phased:
        top = max(r.target for r in phased)
        big = [r.times for r in phased if r.target == top and r.times]

        def share(*phases: str) -> str:
            return _range([sum(t[p] for p in phases) / t["backprop()"] for t in big], ".0%")

        sentences.append(
            f"At {top:,} nodes, of `backprop()`: parsing {share('parse')}, the graph "
            f"{share('graph', 'order')}, the plan {share('plan')}, the two sweeps with their "
            f"records {share('forward', 'backward+records')}, the check {share('check')}, the "
            f"rest (columns, op entries, warnings) {share('rest')}.")
        ratios = [t["backward"] / t["forward"] for r in phased if (t := r.times)]
        recorded = [t["backward+records"] / t["forward"] for r in phased if (t := r.times)]
        sentences.append(
            f"The numeric backward sweep costs {_range(ratios)} times the forward sweep, and "
            f"{_range(recorded)} times with its records (numbers a term, no text).")
    both = [r for r in done if r.times and "HTTP v1" in r.times and r.target == V1_UP_TO]
    if both:
        sentences.append(
            f"Spelling the same answer out as v1 records costs, at {V1_UP_TO:,} nodes, "
            + _range([r.times["HTTP v1"] / r.times["HTTP"] for r in both if r.times], ".1f", "×")
            + " the compact answer's time over HTTP and "
            + _range([r.v1_json_bytes / r.json_bytes for r in both], ".1f", "×")
            + " its bytes (" + _range([r.v1_wire_bytes / r.wire_bytes for r in both], ".1f", "×")
            + " gzipped).")
    refused = [r for r in rows if r.refused and r.target == OVER]
    if refused:
        slowest = max(refused, key=lambda r: r.refused_s)
        sentences.append(f"At {OVER:,} nodes every shape is refused with a 4xx, the slowest "
                         f"refusal ({slowest.shape}) in {slowest.refused_s * 1000:,.0f} ms.")
    last = checks[-1]
    naive = last.naive_t or 0.0
    sentences.append(
        f"Against finite differences the gap grows with N as it should: for one vector of "
        f"{last.n:,} elements backprop's two passes take {ms(last.backprop_t)} ms, while the "
        f"{2 * last.n:,} evaluations of a complete central-difference check take "
        f"{ms(last.vector_t)} ms batched into one numpy pass ({last.vector_t / last.backprop_t:,.0f}"
        f"× more) and {ms(naive)} ms as a loop of separate evaluations. By default the API's "
        f"check is capped by `max_check_work` and samples {last.default_checked:,} of the "
        f"{last.n:,} elements there.")
    return " ".join(sentences)


# ------------------------------------------------------------------ libraries, API, browser


@dataclass
class Extra:
    """What the other parts measured (None where skipped), and the figures' file names."""

    compare: dict[str, Any] | None = None
    api: list[Throughput] | None = None
    api_clients: int = 0
    api_seconds: float = 0.0
    browser: str | None = None
    levels: str | None = None  # bench/levels.py: the demo's picture by levels in Chromium
    lighthouse: str | None = None  # bench/lighthouse.py: the page's Lighthouse scores
    images: dict[str, str] | None = None
    phases: dict[str, Any] | None = None  # bench/phases.py: before and now, phase by phase
    phases_failed: str = ""
    offers: dict[str, dict[str, Any]] | None = None  # Accept-Encoding offered: what answered
    parts: dict[str, float] | None = None  # seconds each part of the run took
    machine: str = ""  # the machine and its load when the run started
    moons: list[moons.MoonsRow] | None = None  # bench/moons.py: micrograd's demo
    moons_failed: str = ""
    torch_mlp: torch_mlp.TorchRow | None = None  # bench/torch_mlp.py: from_torch vs torch
    torch_failed: str = ""
    torch_lenet: torch_lenet.LeNetRow | None = None  # bench/torch_lenet.py: LeNet vs torch
    lenet_failed: str = ""
    torch_makemore: torch_makemore.MakemoreRow | None = None  # bench/torch_makemore.py
    makemore_failed: str = ""
    deep: list[Row] | None = None  # issue 25's deep programs (programs.DEEP), each size
    isolation: isolation.Isolation | None = None  # bench/isolation.py: the worker pool


def run_compare(quick: bool) -> dict[str, Any]:
    """bench/compare.py in its own process: a library that overflows the C stack on a deep
    graph takes that process down, not this one; that is a result too."""
    command = [sys.executable, "-X", "faulthandler", str(BENCH / "compare.py")] + (
        ["--sizes", "10", "100"] if quick else [])
    for _ in range(2):  # once more after a crash (a segfault was seen once, not reproduced)
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        sys.stderr.write(done.stderr)
        if done.returncode >= 0:
            break
    if done.returncode != 0:
        return {"rows": [], "versions": {}, "crashed": f"exit status {done.returncode}: "
                f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ''}"}
    data: dict[str, Any] = json.loads(done.stdout)
    return data


MOONS_POINTS = ["25", "50", "100"]
MOONS_QUICK = ["--points", "10", "--repeats", "1"]


def run_moons(quick: bool) -> tuple[list[moons.MoonsRow], str]:
    """bench/moons.py in its own process, with the node limit and the deadline raised so that
    the demo's 65,818 Values are admitted: its rows, or why it failed."""
    command = [sys.executable, str(BENCH / "moons.py"), "--json"] + (
        MOONS_QUICK if quick else ["--points", *MOONS_POINTS])
    env = {**os.environ, **moons.BENCH_ENV}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800,
                              check=False, env=env)
    except subprocess.TimeoutExpired:
        return [], "bench/moons.py did not finish in 1,800 s"
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        return [], f"bench/moons.py failed (exit status {done.returncode}): `{last}`"
    return [moons.MoonsRow(**row) for row in json.loads(done.stdout)], ""


def run_torch_mlp(quick: bool) -> tuple[torch_mlp.TorchRow | None, str]:
    """bench/torch_mlp.py in its own process: its row, or why it failed."""
    command = [sys.executable, str(BENCH / "torch_mlp.py"), "--json", "--seconds",
               "3" if quick else "20"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        return None, "bench/torch_mlp.py did not finish in 600 s"
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        return None, f"bench/torch_mlp.py failed (exit status {done.returncode}): `{last}`"
    return torch_mlp.TorchRow(**json.loads(done.stdout)), ""


def run_torch_lenet(quick: bool) -> tuple[torch_lenet.LeNetRow | None, str]:
    """bench/torch_lenet.py in its own process: its row, or why it failed."""
    command = [sys.executable, str(BENCH / "torch_lenet.py"), "--json", "--seconds",
               "3" if quick else "10"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        return None, "bench/torch_lenet.py did not finish in 600 s"
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        return None, f"bench/torch_lenet.py failed (exit status {done.returncode}): `{last}`"
    return torch_lenet.LeNetRow(**json.loads(done.stdout)), ""


def run_torch_makemore(quick: bool) -> tuple[torch_makemore.MakemoreRow | None, str]:
    """bench/torch_makemore.py in its own process: its row, or why it failed."""
    command = [sys.executable, str(BENCH / "torch_makemore.py"), "--json", "--seconds",
               "3" if quick else "10"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        return None, "bench/torch_makemore.py did not finish in 600 s"
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
        return None, f"bench/torch_makemore.py failed (exit status {done.returncode}): `{last}`"
    return torch_makemore.MakemoreRow(**json.loads(done.stdout)), ""


def makemore_section(extra: Extra) -> list[str]:
    """makemore part 4 through from_torch against torch: bench/torch_makemore.py's table."""
    if extra.torch_makemore is None and not extra.makemore_failed:
        return []
    head = ["## makemore part 4 (backprop ninja) through from_torch", "",
            (torch_makemore.__doc__ or "").split("\n\n")[1].replace("\n", " "), ""]
    if extra.torch_makemore is None:
        return [*head, extra.makemore_failed, ""]
    return [*head, *torch_makemore.table(extra.torch_makemore), ""]


def lenet_section(extra: Extra) -> list[str]:
    """LeNet through from_torch against torch: bench/torch_lenet.py's table, or why not."""
    if extra.torch_lenet is None and not extra.lenet_failed:
        return []
    head = ["## A convolutional network: the tutorials' LeNet through from_torch", "",
            (torch_lenet.__doc__ or "").split("\n\n")[1].replace("\n", " "), ""]
    if extra.torch_lenet is None:
        return [*head, extra.lenet_failed, ""]
    return [*head, *torch_lenet.table(extra.torch_lenet), ""]


def torch_section(extra: Extra) -> list[str]:
    """The MLP through from_torch against torch: bench/torch_mlp.py's table, or why not."""
    if extra.torch_mlp is None and not extra.torch_failed:
        return []
    head = ["## A PyTorch model: from_torch against torch's own forward and backward", "",
            (torch_mlp.__doc__ or "").split("\n\n")[1].replace("\n", " "), ""]
    if extra.torch_mlp is None:
        return [*head, extra.torch_failed, ""]
    return [*head, *torch_mlp.table(extra.torch_mlp), ""]


def moons_section(extra: Extra) -> list[str]:
    """micrograd's demo: the table of bench/moons.py, or why it did not run."""
    if extra.moons is None and not extra.moons_failed:
        return []
    head = ["## micrograd's demo: from_micrograd against micrograd", "",
            ("bench/moons.py, in its own process ("
             + ", ".join(f"{k}={v}" for k, v in moons.BENCH_ENV.items())
             + "): karpathy/micrograd's demo.ipynb without sklearn, two moons drawn with numpy (make_moons' algorithm, noise 0.1, seed 1337), "
             "`MLP(2, [16, 16, 1])`, max-margin loss plus 1e-4 L2 on the full batch. Times "
             "interleaved, median of 3 (1 with --quick): micrograd builds the loss and runs `backward()`; "
             "`from_micrograd(loss, model.parameters())` with its gradient check, on the loss "
             "built beforehand, and the build and the call together. Gradient error: relative, "
             "against micrograd's `.grad` after `backward()` (a gradient below 1e-6 of the "
             "largest is judged against that floor). Answer bytes: the compact answer (orjson "
             "of the result's model dump, what `POST /api/v2/backprop` sends), and gzip at the "
             "server's level 1. Widget: the synced state of `chainrule.show(result)` as JSON "
             "(its `answer` is the result spelled out as v1 records), its ES module in "
             "brackets. Memory: "
             "the peak RSS growth (VmHWM) of one from_micrograd in a fresh process."), ""]
    if extra.moons_failed:
        return [*head, extra.moons_failed, ""]
    return [*head, *moons.table(extra.moons or []), ""]


def run_browser(quick: bool) -> str:
    """bench/browser.py (headless Chromium) into a temporary report; its table, or why not."""
    return run_page_bench("browser.py", ["--play-seconds", "2" if quick else "3"]
                          + (["--sizes", "1000"] if quick else []))


def run_levels(quick: bool) -> str:
    """bench/levels.py (issue 18's targets in Chromium): its table, or why not."""
    return run_page_bench("levels.py", ["--points", "25" if quick else "100"]
                          + (["--loads", "1"] if quick else []), env=moons.BENCH_ENV)


def run_lighthouse(quick: bool) -> str:
    """bench/lighthouse.py (mobile and desktop presets; also writes docs/lighthouse.md)."""
    return run_page_bench("lighthouse.py", ["--runs", "1" if quick else "3"])


def run_page_bench(script: str, args: list[str], env: dict[str, str] | None = None) -> str:
    """A bench script that measures the page in Chromium, into a temporary report: the
    report's heading line and its tables, or why there are none."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.md"
        command = [sys.executable, str(BENCH / script), "--report", str(report), *args]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                                  check=False, env={**os.environ, **(env or {})})
        except subprocess.TimeoutExpired:
            return f"bench/{script} did not finish in 900 s."
        sys.stderr.write(done.stderr)
        if done.returncode != 0 or not report.exists():
            last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
            return f"bench/{script} failed (exit status {done.returncode}): `{last}`"
        text = report.read_text()
    head = next((line[3:] for line in text.splitlines() if line.startswith("## ")), "")
    body = [line for line in text.splitlines() if line.startswith(("|", "Failed", "micrograd"))]
    return f"{head}.\n\n" + "\n".join(body)


def ours_vs(compare: dict[str, Any], lib: str, other: str) -> list[tuple[str, int, float]]:
    """(program, nodes, time of `lib` / time of `other`) wherever both gave a gradient."""
    rows = compare["rows"]
    out = []
    for r in rows:
        if r["library"] != lib or "seconds" not in r:
            continue
        o = next((x for x in rows if x["library"] == other and x["program"] == r["program"]
                  and x["size"] == r["size"] and "seconds" in x), None)
        if o:
            out.append((r["program"], r["nodes"], r["seconds"] / o["seconds"]))
    return out


def compare_section(compare: dict[str, Any]) -> list[str]:
    rows = compare["rows"]
    if not rows:
        return [f"The comparison did not run: {compare.get('crashed', 'no rows')}."]
    libs = list(dict.fromkeys(r["library"] for r in rows))
    versions = compare.get("versions", {})
    head = " | ".join(f"{lib}{' ' + versions[lib] if versions.get(lib) else ''}" for lib in libs)
    out = [f"| program | nodes | {head} |", "|---|---|" + "---|" * len(libs)]
    for (program, size) in dict.fromkeys((r["program"], r["size"]) for r in rows):
        mine = {r["library"]: r for r in rows if r["program"] == program and r["size"] == size}
        cells = []
        for lib in libs:
            r = mine[lib]
            if "seconds" in r:
                cells.append(ms(r["seconds"]))
            elif "skipped" in r:
                cells.append("skipped")
            elif "unsupported" in r:
                cells.append(r["unsupported"])
            else:
                cells.append(f"**{r['error'].split(':')[0]}**" if r["error"] != "not installed"
                             else "not available")
        nodes = next(iter(mine.values()))["nodes"]
        out.append(f"| {program} | {nodes:,} | " + " | ".join(cells) + " |")
    errors = {(r["library"], r["error"]) for r in rows if "error" in r}
    skipped = [r for r in rows if "skipped" in r]
    out += [""] + [f"- {lib}: `{error}`" for lib, error in sorted(errors)]
    out += [f"- {r['library']}, {r['program']}, {r['nodes']:,} nodes: skipped, {r['skipped']}"
            for r in skipped]
    worst = max((r.get("max_rel_diff", 0.0) for r in rows), default=0.0)
    out += ["", (f"Every gradient obtained agrees with chainrule's to a relative {worst:.1e} at "
                 "worst. micrograd is the fastest where it works: one Python float operation "
                 "and one closure a node, where chainrule's sweeps make a numpy call (on 0-d "
                 "arrays) a node forward and an edge backward, and its graph carries shapes "
                 "and formulas; but micrograd's recursive topological sort fails once the "
                 "graph is deeper than Python's recursion limit, and so does sympy's `diff`, "
                 "while chainrule's iterative sweeps, autograd and PyTorch go on.")]
    return out


def api_section(rows: list[Throughput], clients: int, seconds: float) -> list[str]:
    out = [("| workers | endpoint | requests | failed | requests/s | p50 (ms) | p99 (ms) | "
           "typical / trivial |"), "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        base = next(b for b in rows if b.workers == r.workers and b.endpoint == "/healthz")
        share = "" if r is base else f"{r.rps / base.rps:.2f}"
        name = {"typical": "POST /api/v2/backprop `sin(x*y) + x**2`",
                "typical v1": "POST /api/v1/backprop, the same"}.get(r.endpoint, "GET /healthz")
        out.append(f"| {r.workers} | {name} | {r.requests:,} | {r.failed} | {r.rps:,.0f} | "
                   f"{r.p50 * 1000:.1f} | {r.p99 * 1000:.1f} | {share} |")
    trivial = {r.workers: r.rps for r in rows if r.endpoint == "/healthz"}
    if len(trivial) > 1 and max(trivial.values()) == trivial[min(trivial)]:
        out += ["", ("More workers do not raise /healthz's rate here: the one client process "
                     "and the workers share 2 cores, so the trivial endpoint measures the "
                     "client as much as the server.")]
    return out


TORCH_SIZE = 10_000  # issue 11: "per gradient, not slower than PyTorch's CPU autograd at 10k"


class Targets:
    """A markdown table of targets: what was measured, the target, the ratio, met or not."""

    def __init__(self) -> None:
        self.lines = ["| target | measured | target value | ratio | met |",
                      "|---|---|---|---|---|"]

    def add(self, name: str, measured: str, target: str, ratio: str,
            met: bool | str | None) -> None:
        """One row; `met` is True, False (said in bold), None (n/a) or a word of its own."""
        verdict = ("n/a" if met is None else met if isinstance(met, str)
                   else "met" if met else "**not met**")
        self.lines.append(f"| {name} | {measured} | {target} | {ratio} | {verdict} |")


def _http(r: Row) -> float:
    return r.times["HTTP"] if r.times else 0.0


def flat_spreads(rows: list[Row]) -> list[tuple[str, float, int, str]]:
    """Per shape: max / min of the compact answer's HTTP time per node from 1,000 nodes up,
    the largest size reached, and why it stops short of TOP (the refusal at the next size)."""
    out = []
    for shape in SHAPES:
        mine = [r for r in rows if r.shape == shape and r.times and r.target >= 1_000]
        if len(mine) < 2:
            continue
        per = [_http(r) / r.nodes for r in mine]
        top = max(mine, key=lambda r: r.target)
        stop = next((r for r in rows if r.shape == shape and r.refused
                     and top.target < r.target <= TOP), None)
        note = "" if stop is None else (f"; {stop.target:,} refused: "
                                        + stop.refused.split("; HTTP")[0].removeprefix("refused: "))
        out.append((shape, max(per) / min(per), top.nodes, note))
    return out


def _before(extra: Extra, shape: str, target: int, phase: str = "HTTP",
            side: str = "before") -> float | None:
    """The same program's time before (or now) in bench/phases.py, where it measured this
    size: each backend's product answer, in its own process."""
    if extra.phases is None or extra.phases["nodes"] != target:
        return None
    value: float | None = extra.phases[side].get(shape, {}).get("seconds", {}).get(phase)
    return value


def network_targets(rows: list[Row], extra: Extra, table: Targets) -> None:
    """Issue 17's targets on the bench programs: 10,000 nodes in 0.15 s, flat per node to
    250,000, answer bytes a node, the limits, before and now."""
    ten = [r for r in rows if r.times and r.target == 10_000]
    if ten:
        worst = max(ten, key=_http)

        def was(r: Row) -> str:
            """v1's time beside it; bench/phases.py's now and before, measured apart."""
            old = _before(extra, r.shape, r.target)
            now = _before(extra, r.shape, r.target, side="now")
            v1 = (r.times or {}).get("HTTP v1")
            return "".join([f", v1 {v1:.2f}" if v1 else "",
                            f", in bench/phases.py now {now:.2f} and before {old:.2f}"
                            if old and now else ""])

        table.add("10,000-node program end to end (HTTP `POST /api/v2/backprop`, TestClient, "
                  "gzip; slowest shape)",
                  f"{_http(worst):.3f} s ({worst.shape}; " + "; ".join(
                      f"{r.shape} {_http(r):.3f} s{was(r)}" for r in ten) + ")",
                  "≤ 0.15 s", f"{_http(worst) / 0.15:.1f}× the target", _http(worst) <= 0.15)
    spreads = flat_spreads(rows)
    if spreads:
        shape, spread, _, _ = max(spreads, key=lambda x: x[1])
        short_of = [f"{s} stops at {top:,}{note}" for s, _, top, note in spreads if note]
        table.add(f"time per node flat from 1,000 to {TOP:,} nodes (HTTP v2, max / min per "
                  "shape)", ", ".join(f"{s} {x:.2f} (to {top:,})" for s, x, top, _ in spreads)
                  + (" — " + "; ".join(short_of) if short_of else ""),
                  "≤ 1.5", f"{spread:.2f} ({shape})", spread <= 1.5)
    if ten:
        raw = max(ten, key=lambda r: r.json_bytes / r.nodes)
        packed = max(ten, key=lambda r: r.wire_bytes / r.nodes)
        raw_pn, packed_pn = raw.json_bytes / raw.nodes, packed.wire_bytes / packed.nodes
        table.add("answer bytes a node, 10,000-node bench programs (the compact answer, raw and "
                  "gzip as sent)", "; ".join(
                      f"{r.shape} {r.json_bytes / r.nodes:,.0f} raw, {r.wire_bytes / r.nodes:,.0f}"
                      f" gzip" for r in ten),
                  "≤ 250 raw, ≤ 60 gzip",
                  f"{raw_pn / 250:.2f}, {packed_pn / 60:.2f} of the targets",
                  raw_pn <= 250 and packed_pn <= 60)
        v1 = [r for r in ten if r.v1_json_bytes]
        if v1:
            table.add("the same as v1 records (`POST /api/v1/backprop`), for comparison",
                      "; ".join(f"{r.shape} {r.v1_json_bytes / r.nodes:,.0f} raw, "
                                f"{r.v1_wire_bytes / r.nodes:,.0f} gzip" for r in v1),
                      "shown", "", "shown")
    if extra.phases:
        limit_row(extra.phases, table)


def limit_row(phases: dict[str, Any], table: Targets) -> None:
    """settings.py's limits before and now: none lower."""
    old, new = phases["limits"]["before"], phases["limits"]["now"]
    changed = [f"{k} {old[k]:,} → {new[k]:,}" for k in old if k in new and old[k] != new[k]]
    lower = [k for k in old if k in new and new[k] < old[k]]
    gone = [k for k in old if k not in new]
    added = [k for k in new if k not in old]
    table.add(f"no limit lower than before ({phases['rev']}; settings.py, the README's table)",
              f"{sum(old[k] == new.get(k) for k in old)} of {len(old)} the same"
              + "".join(f"; {what}: {', '.join(items)}" for what, items in
                        (("raised" if not lower else "changed", changed), ("gone", gone),
                         ("new", added)) if items),
              "none lower", "", not lower and not gone)


def before_now_row(extra: Extra, table: Targets) -> None:
    """Issue 17's before and now: each backend's product answer over HTTP, per shape."""
    if extra.phases:
        p = extra.phases
        before, now = p["before"], p["now"]
        ratios = {s: n["seconds"]["HTTP"] / before[s]["seconds"]["HTTP"] for s, n in now.items()
                  if "HTTP" in n["seconds"] and "HTTP" in before.get(s, {}).get("seconds", {})}
        v1 = {s: n["seconds"]["v1: HTTP"] / before[s]["seconds"]["HTTP"] for s, n in now.items()
              if "v1: HTTP" in n["seconds"] and "HTTP" in before.get(s, {}).get("seconds", {})}
        table.add(f"before ({p['rev']}, v1 records) and now (the compact answer), "
                  f"{p['nodes']:,} nodes, phase by phase",
                  "HTTP now / before: " + ", ".join(f"{s} {x:.2f}" for s, x in ratios.items())
                  + "; now's v1 records / before: " + ", ".join(
                      f"{s} {x:.2f}" for s, x in v1.items()),
                  "shown, each phase", _range(list(ratios.values())) if ratios else "",
                  "shown below" if ratios else False)
    elif extra.phases_failed:
        table.add("before and now, phase by phase", extra.phases_failed, "shown, each phase", "",
                  False)


def answer_targets(rows: list[Row], extra: Extra, table: Targets) -> None:
    """Issue 11's targets still measured, on the compact answer: 10,000 and 20,000 nodes,
    compression, brotli or zstd."""
    for size, limit in ((10_000, 0.5), (20_000, 1.0)):
        big = [r for r in rows if r.times and r.target == size]
        if big:
            worst = max(big, key=_http)
            table.add(f"{size:,}-node program answered (HTTP v2, TestClient, gzip; slowest "
                      "shape)", f"{_http(worst):.2f} s ({worst.shape}; " + ", ".join(
                          f"{r.shape} {_http(r):.2f} s" for r in big) + ")",
                      f"< {limit:g} s", f"{_http(worst) / limit:.2f} of the target",
                      _http(worst) < limit)
    ten = [r for r in rows if r.times and r.target == 10_000]
    if not ten:
        return
    encodings = sorted({r.content_encoding for r in ten})
    table.add("answer compressed when the client accepts gzip (10,000 nodes)",
              "Content-Encoding: " + ", ".join(encodings), "gzip", "", encodings == ["gzip"])
    if extra.offers:
        offers, gzip = extra.offers, extra.offers["gzip"]
        better = [o for o in offers.values() if o["coding"] in ("br", "zstd")
                  and o["bytes_per_node"] < gzip["bytes_per_node"]]
        table.add("brotli or zstd where the client asks for it and it pays (issue 11's "
                  "program, 10,000 nodes, compact answer)", "; ".join(
                      f"{name} `{OFFERS[name]}`: {o['coding']} {o['bytes_per_node']:,.0f} "
                      f"bytes a node, {o['seconds']:.2f} s" for name, o in offers.items()),
                  "br or zstd answered, fewer bytes than gzip",
                  f"{min(o['bytes_per_node'] for o in better) / gzip['bytes_per_node']:.2f} "
                  "of gzip's bytes" if better else "", bool(better))


def api_targets(extra: Extra, table: Targets, latency: bool) -> None:
    """Issues 11 and 17's latency target (`latency`: the compact answer's p50 against
    /healthz's, v1's beside it) or the earlier throughput one."""
    for w in sorted({r.workers for r in extra.api or []}):
        base = next(r for r in extra.api or [] if r.workers == w and r.endpoint == "/healthz")
        typ = next(r for r in extra.api or [] if r.workers == w and r.endpoint == "typical")
        v1 = next((r for r in extra.api or [] if r.workers == w and r.endpoint == "typical v1"),
                  None)
        workers = f"{w} worker{'s' * (w > 1)}"
        if latency:
            value = typ.p50 / base.p50
            table.add(f"typical expression (v2) vs /healthz latency (p50), {workers}",
                      f"{typ.p50 * 1000:.1f} vs {base.p50 * 1000:.1f} ms"
                      + (f" (v1 records {v1.p50 * 1000:.1f} ms, {v1.p50 / base.p50:.2f}×)"
                         if v1 else ""), "≤ 1.5× /healthz", f"{value:.2f}", value <= 1.5)
        else:
            share = typ.rps / base.rps
            table.add(f"typical expression vs /healthz throughput, {workers}",
                      f"{typ.rps:,.0f} vs {base.rps:,.0f} requests/s", "≥ 0.5 of /healthz",
                      f"{share:.2f}", share >= 0.5)


def torch_targets(compare: dict[str, Any], table: Targets) -> None:
    """Issue 11's target 4: per gradient against PyTorch at 10k scalar nodes, and how close the
    numeric sweeps come to micrograd per node where micrograd works."""
    for lib, what in [("chainrule sweeps", "numeric sweeps: forward + backward, no records"),
                      ("chainrule engine", "graph built + numeric sweeps"),
                      ("chainrule answer", ("the server's whole answer, compact_data: parse, "
                       "sweeps with their records, check, columns")),
                      ("chainrule backprop()",
                       "the Python API's backprop(): that answer, constructed as its model")]:
        ratios = [r for r in ours_vs(compare, lib, "PyTorch CPU")
                  if r[1] >= TORCH_SIZE * 0.99]
        if not ratios:
            continue
        worst = max(ratios, key=lambda x: x[2])
        table.add(f"per gradient vs PyTorch CPU autograd at {TORCH_SIZE:,} scalar nodes "
                  f"({what})", ", ".join(f"{p} {x:.2f}×" for p, _, x in ratios)
                  + " PyTorch's time", "≤ 1× PyTorch's time", f"{worst[2]:.2f} ({worst[0]})",
                  worst[2] <= 1)
    sweeps = ours_vs(compare, "chainrule sweeps", "micrograd")
    if sweeps:
        per_node = {(r["program"], r["nodes"]): r["seconds"] / r["nodes"]
                    for r in compare["rows"] if r["library"] == "micrograd" and "seconds" in r}
        low, high = min(sweeps, key=lambda x: x[2]), max(sweeps, key=lambda x: x[2])
        mg = [us(t) for t in (min(per_node.values()), max(per_node.values()))]
        table.add("numeric sweeps per node against micrograd, where micrograd works",
                  f"{low[2]:.1f}× ({low[0]}, {low[1]:,} nodes) to {high[2]:.1f}× ({high[0]}, "
                  f"{high[1]:,}) micrograd's time a node (micrograd {mg[0]} to {mg[1]} µs a node)",
                  "stated", f"{low[2]:.1f} to {high[2]:.1f}", "stated")


def earlier_targets(rows: list[Row], extra: Extra, table: Targets) -> None:
    """Targets of earlier issues, still measured: throughput, refusals, backward / forward,
    faster than micrograd."""
    api_targets(extra, table, latency=False)
    huge = [r for r in rows if r.target >= 100_000]
    if huge:
        statuses = ", ".join(f"{r.shape} {r.target:,} {r.status}" for r in huge)
        ok = all(200 <= r.status < 300 or (400 <= r.status < 500 and r.refused) for r in huge)
        table.add("100,000 nodes and more handled or refused with a clear 4xx, never a crash",
                  f"HTTP {statuses}", "2xx or 4xx", "", ok)
    done = [r for r in rows if r.times and "forward" in r.times]
    if done:
        worst = max(done, key=lambda r: r.times["backward"] / r.times["forward"]
                    if r.times else 0.0)
        assert worst.times is not None
        value = worst.times["backward"] / worst.times["forward"]
        table.add("backward / forward (numeric sweep), worst of every shape and size",
                  f"{value:.2f} ({worst.shape}, {worst.nodes:,} nodes)", "≤ 3",
                  f"{value / 3:.2f} of the target", value <= 3)
    if extra.compare and extra.compare["rows"]:
        for lib, what in [("chainrule engine", "graph + sweeps"),
                          ("chainrule sweeps", "sweeps alone")]:
            ratios = ours_vs(extra.compare, lib, "micrograd")
            if not ratios:
                continue
            best, worst_c = min(ratios, key=lambda x: x[2]), max(ratios, key=lambda x: x[2])
            table.add(f"faster per gradient than micrograd (chainrule {what})",
                      f"{best[2]:.1f}× to {worst_c[2]:.1f}× micrograd's time "
                      f"({best[0]} {best[1]:,} nodes to {worst_c[0]} {worst_c[1]:,})",
                      "< 1× micrograd's time", f"{best[2]:.1f} to {worst_c[2]:.1f}",
                      worst_c[2] < 1)


DEEP_SIZES = [1_000, 10_000]  # and each deep program's own size (programs.DEEP)
QUIET_LIMIT_S = 4.0  # issue 25: 250,000 nodes of any shape, on a quiet machine


def deep_targets(rows: list[Row], extra: Extra) -> Targets:
    """Issue 25's part 1: deep programs as fast as wide ones (the 10,000-node chain over HTTP,
    v1 against v2, the deep programs at the issue's sizes, every shape at the node limit, time
    per node flat)."""
    table = Targets()
    chain = next((r for r in rows if r.shape == "chain" and r.target == 10_000 and r.times),
                 None)
    if chain is not None:
        v2 = _http(chain)
        table.add("10,000-node chain `a{i} = sin(a{i-1})` end to end (HTTP v2, TestClient, gzip; "
                  "0.29–0.56 s when the issue was filed)", f"{v2:.3f} s", "≤ 0.15 s",
                  f"{v2 / 0.15:.1f}× the target", v2 <= 0.15)
        ten = [r for r in rows + (extra.deep or []) if r.target == 10_000 and r.times
               and "HTTP v1" in r.times]
        worst = max(ten, key=lambda r: r.times["HTTP v1"] / _http(r))  # type: ignore[index]
        table.add("v1 records (`POST /api/v1/backprop`) against v2, 10,000 nodes (v1 / v2)",
                  ", ".join(f"{r.shape} {r.times['HTTP v1']:.3f} / {_http(r):.3f} s = "  # type: ignore[index]
                            f"{r.times['HTTP v1'] / _http(r):.2f}" for r in ten),  # type: ignore[index]
                  "≤ 1.5", f"{worst.times['HTTP v1'] / _http(worst):.2f} ({worst.shape})",  # type: ignore[index]
                  worst.times["HTTP v1"] / _http(worst) <= 1.5)  # type: ignore[index]
    was = {"unary chain": "20 s", "one-line sum": "17.5 s", "1*x + 2*x + ...": "13.8 s"}
    big = [r for r in extra.deep or [] if r.target == DEEP[r.shape][1]]
    big += [r for r in rows if r.target == TOP and r.times]
    if big:
        slowest = max(big, key=_http)
        table.add(f"the deep programs at the issue's sizes and every shape at {TOP:,} nodes "
                  "(HTTP v2; ≤ 4 s on a quiet machine; before: "
                  + ", ".join(f"{k} {v}" for k, v in was.items()) + ")",
                  "; ".join(f"{r.shape} {r.nodes:,} nodes {_http(r):.2f} s" if r.times else
                            f"{r.shape} {r.target:,}: {r.refused}" for r in big),
                  f"≤ {QUIET_LIMIT_S:g} s", f"{_http(slowest) / QUIET_LIMIT_S:.2f} ({slowest.shape})",
                  all(r.times for r in big) and _http(slowest) <= QUIET_LIMIT_S)
    spreads = flat_spreads(rows) + deep_spreads(extra.deep or [])
    if spreads:
        shape, spread, _, _ = max(spreads, key=lambda x: x[1])
        table.add("time per node flat from 1,000 nodes to the largest (HTTP v2, max / min per "
                  "shape)", ", ".join(f"{s} {x:.2f} (to {top:,})" for s, x, top, _ in spreads),
                  "≤ 1.5", f"{spread:.2f} ({shape})", spread <= 1.5)
    return table


def deep_spreads(rows: list[Row]) -> list[tuple[str, float, int, str]]:
    """flat_spreads for the deep programs."""
    out = []
    for shape in DEEP:
        mine = [r for r in rows if r.shape == shape and r.times]
        if len(mine) >= 2:
            per = [_http(r) / r.nodes for r in mine]
            out.append((shape, max(per) / min(per), max(r.nodes for r in mine), ""))
    return out


def deep_section(extra: Extra) -> list[str]:
    """The deep programs, phase by phase as the scalar graphs."""
    if not extra.deep:
        return []
    return [
        "## Deep programs: one generation a node (issue 25)", "",
        ("**unary chain** `-----...x` (one line; nodes - 1 negations); **one-line sum** "
         "`x + x + ... + x` (a left-deep tree of additions over one input); **1*x + 2*x + ...** "
         "(3 nodes a term: the products one generation, the additions a chain). Each at "
         f"{', '.join(f'{s:,}' for s in DEEP_SIZES)} nodes and at the size issue 25 measured "
         "(200,000; 100,000; 60,000 terms, 180,000 nodes). Every node but a few is a group of "
         "its own in the sweeps' plan: the plan keeps it as a `plan.Scalar`, swept number by "
         "number. Columns as in the scalar graphs' tables below."), "",
        *graph_tables(extra.deep), ""]


def targets(rows: list[Row], extra: Extra) -> list[str]:
    """Issue 25's part 1 (deep programs), issue 17's targets (the bench programs, the API,
    micrograd's demo, before and now), issue 11's still measured, then the earlier issues'."""
    deep = deep_targets(rows, extra)
    network = Targets()
    network_targets(rows, extra, network)
    api_targets(extra, network, latency=True)
    for row in moons.targets(extra.moons or []):
        network.add(*row)
    if extra.moons_failed:
        network.add("micrograd's demo through from_micrograd", extra.moons_failed, "measured",
                    "", False)
    before_now_row(extra, network)
    torch_rows = Targets()
    for row in torch_mlp.targets(extra.torch_mlp) if extra.torch_mlp else []:
        torch_rows.add(*row)
    if extra.torch_failed:
        torch_rows.add("the 2-16-16-1 MLP through from_torch", extra.torch_failed, "measured",
                       "", False)
    convolutional = Targets()
    for row in torch_lenet.targets(extra.torch_lenet) if extra.torch_lenet else []:
        convolutional.add(*row)
    if extra.lenet_failed:
        convolutional.add("LeNet through from_torch", extra.lenet_failed, "measured", "", False)
    for row in torch_makemore.targets(extra.torch_makemore) if extra.torch_makemore else []:
        convolutional.add(*row)
    if extra.makemore_failed:
        convolutional.add("makemore part 4 through from_torch", extra.makemore_failed,
                          "measured", "", False)
    isolated = Targets()
    for row in isolation.targets(extra.isolation) if extra.isolation else []:
        isolated.add(*row)
    issue = Targets()
    answer_targets(rows, extra, issue)
    if extra.compare and extra.compare["rows"]:
        torch_targets(extra.compare, issue)
    earlier = Targets()
    earlier_targets(rows, extra, earlier)
    pool = ("Issue 25 (fast and isolated): the server's worker pool, measured in this run "
            "(bench/isolation.py):")
    return [*([pool, "", *isolated.lines, ""] if len(isolated.lines) > 2 else []),
            "Issue 25, part 1 (deep programs as fast as wide ones), measured in this run:", "",
            *deep.lines, "",
            ("Issue 17 (answers at network scale): the bench programs, the API, micrograd's "
             "demo, before and now; every ratio measured in this run:"), "", *network.lines, "",
            *(["Issue 21 (your own PyTorch model), measured in this run:", "",
               *torch_rows.lines, ""] if len(torch_rows.lines) > 2 else []),
            *(["Issue 27 (the tensor vocabulary of real learning code), measured in this run:",
               "", *convolutional.lines, ""] if len(convolutional.lines) > 2 else []),
            "Issue 11 (from Run to picture), still measured, on the compact answer:", "",
            *issue.lines, "", "Earlier issues' targets, still measured:", "", *earlier.lines]


def phases_section(extra: Extra) -> list[str]:
    """Where the time goes, phase by phase, in the backend before and now (bench/phases.py)."""
    if extra.phases is None:
        return (["## Where the time goes, before and now", "",
                 f"bench/phases.py did not run: {extra.phases_failed}", ""]
                if extra.phases_failed else [])
    p = extra.phases
    phases = "; ".join(f"*{name}*: {what}" for name, what in PHASES_EXPLAINED.items())
    return [
        f"## Where the time goes at {p['nodes']:,} nodes: before ({p['rev']}) and now", "",
        (f"bench/phases.py: the backend of {p['rev']} (the last commit before issue 17's "
         "round; taken out with `git archive`), then this one, each in its own process one "
         f"after the other; median of {p['repeats']} run{'s' * (p['repeats'] > 1)}. Each "
         "backend's *product answer* is timed: before, the v1 records (`POST /api/v1/backprop`); "
         "now, the compact answer (`POST /api/v2/backprop`); now's v1 records, the compact "
         "answer rendered whole, are timed beside it (*v1:* rows; before, they are its product "
         f"answer's figures again). Phases: {phases}. *trace* contains the phases from *order* "
         "to *check* plus *assembly*; *answer* is *parse* + *graph* + *trace*; *HTTP* is "
         "*answer* + *encode* + the ASGI round trip. Shares are of now's HTTP time. A phase a "
         "backend does not have is a dash; one it cannot run says *fails*, with its error."), "",
        *phase_tables(p)]


def image(extra: Extra, key: str, alt: str) -> list[str]:
    if not extra.images or key not in extra.images:
        return [""]
    return ["", f"![{alt}](img/{extra.images[key]})", ""]


def parts(extra: Extra) -> str:
    """Each part's seconds: where `make bench` spends its time."""
    return ", ".join(f"{part} {seconds:.0f} s" for part, seconds in (extra.parts or {}).items())


def write_report(rows: list[Row], checks: list[CheckRow], elapsed: float, repeats: str,
                 extra: Extra) -> str:
    lines = [
        "# Backend benchmarks",
        "",
        (f"Measured {dt.date.today().isoformat()} by `make bench` (bench/run.py) in "
        f"{elapsed:.0f} s ({parts(extra)}); {extra.machine or machine()}. Each time is the median of {repeats}, "
        "all in one "
        "`make bench` so that the ratios hold on a noisy machine; absolute times vary by tens "
        "of percent between runs."),
        "",
        "## Targets",
        "",
        *targets(rows, extra),
        "",
        *deep_section(extra),
        *phases_section(extra),
        *moons_section(extra),
        *torch_section(extra),
        *lenet_section(extra),
        *makemore_section(extra),
        f"## Scalar graphs: each phase, 100 to {TOP:,} nodes",
        "",
        ("Shapes: **chain** `a1 = sin(x)`, `a2 = sin(a1)`, ... (one node a line); **wide sum** "
        "one line `sin(c1*x) + sin(c2*x) + ...` (4 nodes a term); **fan-out** "
        "`a{i} = sin(a{i-1} * x) + cos(x) * x` (5 nodes a line, x used three times); **issue 11** "
        "the issue's own program `x{i} = tanh(x{i-1}) * 0.9 + x0 * 0.1` (6 nodes a line, input "
        "x0; 1,667 lines for 10,000 nodes). Phases: "
        "parse (text to syntax tree), graph (syntax tree to graph, with shapes and formulas), "
        "order (`Graph.order`, the topological order), plan (the sweeps' groups: one "
        "generation's nodes of one op), forward sweep, backward sweep without records "
        "(`record=False`: gradients only) and with them (each term's numbers), the "
        "finite-difference check (1 input, so 2 evaluations of the whole graph), the whole "
        "`backprop()` (all of these plus the columns: the Python API's compact answer), its "
        "encoding and the whole HTTP answer through TestClient, compact (v2) and as v1 records. "
        f"Every size up to {TOP:,} nodes is answered where the source fits "
        f"{LIMITS.max_source_chars:,} characters; {OVER:,} must be refused."),
        *image(extra, "scaling", "Time of each phase against nodes, log-log, per shape"),
        *graph_tables(rows),
        *image(extra, "ratio", "backward / forward against nodes"),
        *image(extra, "json", "JSON size against nodes"),
        "",
        "## Backprop against finite differences: one vector input of N elements",
        "",
        ("`sum(x * sin(x))` with x of N elements (4 nodes). Backprop: one forward and one backward "
        "sweep, whatever N. Finite differences: 2N evaluations of the function; *vectorized* is "
        "the check's own batched pass (every evaluation a row of one numpy array, in chunks), "
        "here with the work cap lifted so that it is complete; *naive* is a loop of 2N separate "
        "forward evaluations through the same engine (estimated from the first evaluations when "
        "the loop would exceed its time budget). Last column: what the API checks by default."),
        "",
        *check_table(checks),
        *image(extra, "fd", "Backprop against finite differences, time against N"),
        "",
        "## Reading",
        "",
        reading(rows, checks),
        "",
    ]
    if extra.compare is not None:
        lines += [
            "## Side by side: micrograd, HIPS autograd, sympy, PyTorch (ms per gradient)",
            "",
            ("bench/compare.py, in its own process. The same programs, written once and rendered "
             "for each library; the first three with only the operations micrograd 0.1.0 has "
             "(+, *, ** by a number): "
             "**typical** `(x*y + 1)**2 + x**2 * y`; **deep chain** "
             "`a{i} = (a{i-1} * 0.5 + x) ** 2` (depth grows with the size); **fan-out** "
             "`a{i} = a{i-1} * x + x * x`; then the scalar graphs' **chain** `a{i} = sin(a{i-1})` "
             "and **issue 11**'s program `x{i} = tanh(x{i-1}) * 0.9 + x0 * 0.1`, which micrograd "
             "cannot write (it has neither sin nor tanh). "
             "Nodes as chainrule counts them (constants included). "
             "One gradient = from the input values to every partial derivative: micrograd, "
             "autograd and PyTorch build their graph as they run, so *chainrule engine* "
             "builds its graph from the parsed program too, then runs both numeric sweeps; "
             "*chainrule sweeps* is the two sweeps alone on a graph built beforehand; "
             "*chainrule answer* is the server's whole answer as data (`compact_data`: parse, "
             "sweeps with every term recorded, finite-difference check, the columns) and "
             "*chainrule backprop()* the Python API's call, that answer constructed as its "
             "model (not validated). sympy: `diff` by each input of the expression "
             "built beforehand, then `subs` of the point, stopped after 10 s (its derivative of "
             "nested tanh swells). PyTorch: float64 scalar tensors, "
             "`torch.set_num_threads(1)`, forward and `backward()`. Median of up to 5 runs; "
             "**bold** is the exception where a library breaks "
             f"(Python's recursion limit is {extra.compare.get('recursion_limit', '?')})."),
            *image(extra, "libraries", "Time per gradient against nodes, per library"),
            *compare_section(extra.compare),
            "",
        ]
    if extra.api is not None:
        lines += [
            "## HTTP API: a typical expression against the trivial endpoint",
            "",
            (f"bench/api.py, with bench/load.py's server and client: the production command "
             f"(`python -m chainrule.server`) on a free 127.0.0.1 port, {extra.api_clients} "
             f"concurrent clients in one other process (httpx, asyncio), each sending its next "
             f"request when the last is answered, {extra.api_seconds:.0f} s per endpoint after "
             "a warm-up. The typical expression is asked for as the compact answer "
             "(`POST /api/v2/backprop`) and as v1 records (`POST /api/v1/backprop`). Client and server share the 2 cores: the client's own cost per "
             "request is of the order of /healthz's, so the trivial endpoint's figure is a floor "
             "of the framework's ceiling and the ratio is flattered. The three requests "
             "alternate in two rounds of half that time each (rates and percentiles averaged), "
             "so that drift in the "
             "machine's load touches both alike; docs/load.md has the mix of good and "
             "malicious requests."),
            *image(extra, "api", "Requests per second, /healthz and typical"),
            *api_section(extra.api, extra.api_clients, extra.api_seconds),
            "",
        ]
    if extra.browser is not None:
        lines += [
            "## Browser: first draw and stepping, headless Chromium",
            "",
            ("bench/browser.py: a chain `a{i} = sin(a{i-1}) * x` pasted into the UI and run; the "
             "time from the end of the API's answer to the first frame after the graph is drawn, "
             "then the longest task while stepping and jumping and the longest frame while the "
             "player plays at its fastest speed. Standalone runs append to "
             "docs/browser-benchmarks.md, which also has the earlier runs and the code before "
             "this round's picture work (f669415) measured against it."),
            "",
            extra.browser,
            "",
        ]
    if extra.levels is not None:
        lines += [
            "## A network seen whole: micrograd's demo by levels, headless Chromium",
            "",
            ("bench/levels.py: the moons demo's offline file and widget until ready, what the "
             "first view shows, the longest task stepping a level, and a 20,000-node program "
             "run in the page (issue 18's targets). Standalone runs append to docs/levels.md."),
            "",
            extra.levels,
            "",
        ]
    if extra.lighthouse is not None:
        lines += [
            "## The page in Lighthouse, headless Chromium",
            "",
            ("bench/lighthouse.py: Lighthouse (pinned in frontend/package.json) on \"/\", "
             "mobile and desktop presets, the median of the runs kept. docs/lighthouse.md has "
             "the page before issue 19's speed work, the top opportunities and the targets."),
            "",
            extra.lighthouse,
            "",
        ]
    return "\n".join(lines)


def make_plots(rows: list[Row], checks: list[CheckRow], extra: Extra) -> dict[str, str]:
    images = {"scaling": plots.scaling(rows, IMG / "scaling.png"),
              "ratio": plots.ratio(rows, IMG / "backward-forward.png"),
              "json": plots.json_size(rows, IMG / "json-size.png"),
              "fd": plots.finite_differences(checks, IMG / "finite-differences.png")}
    if extra.compare and extra.compare["rows"]:
        images["libraries"] = plots.libraries(extra.compare["rows"], IMG / "libraries.png")
    if extra.api:
        images["api"] = plots.api(extra.api, IMG / "api.png")
    return images


LAST_RUN = Path(tempfile.gettempdir()) / "chainrule-bench.pickle"


def measure_all(args: argparse.Namespace) -> tuple[list[Row], list[CheckRow], Extra]:
    """Every part not skipped, one after the other; each part's seconds in `extra.parts`."""
    sizes = ([100, 1_000] if args.quick else
             [100, 1_000, 10_000, 20_000, 50_000, 100_000, TOP, OVER])
    check_sizes = [10, 100, 1_000] if args.quick else [10, 100, 1_000, 10_000]
    clock = time.perf_counter()
    parts: dict[str, float] = {}
    at_start = machine()

    def lap(part: str) -> None:
        nonlocal clock
        parts[part] = time.perf_counter() - clock
        clock = time.perf_counter()

    client = TestClient(create_app())
    backprop("sin(x*y)", x=1.0, y=2.0)  # warm up: imports, lark, the app's first request
    for path in (V2, V1):
        client.post(path, json={"source": "sin(x*y)", "values": {"x": 1, "y": 2}})
    rows = []
    for size in sizes:
        repeats = 1 if args.quick else (5 if size <= 1_000 else 3 if size <= 20_000 else 1)
        if size == OVER:
            repeats = 1
        for shape in SHAPES:
            row = measure_graph(shape, size, client, repeats)
            rows.append(row)
            print(f"{shape:9} {size:>7,}: " + (row.refused or " ".join(
                f"{p}={ms(t)}ms" for p, t in (row.times or {}).items())), flush=True)
    checks = []
    for n in check_sizes:
        row_c = measure_check(n, 1 if args.quick else 3, naive_budget_s=10.0)
        checks.append(row_c)
        print(f"check N={n:,}: backprop {ms(row_c.backprop_t)} ms, vectorized "
              f"{ms(row_c.vector_t)} ms, naive {ms(row_c.naive_t or 0)} ms", flush=True)
    extra = Extra(offers=offered_encodings(client, 1_000 if args.quick else 10_000,
                                           1 if args.quick else 3), parts=parts,
                  machine=at_start)
    if "deep" not in args.skip:
        extra.deep = []
        for shape, (_, size) in DEEP.items():
            for n in DEEP_SIZES[:1] if args.quick else [*DEEP_SIZES, size]:
                row = measure_graph(shape, n, client, 1 if args.quick or n > V1_UP_TO else 3)
                extra.deep.append(row)
                print(f"{shape:9} {n:>7,}: " + (row.refused or " ".join(
                    f"{p}={ms(t)}ms" for p, t in (row.times or {}).items())), flush=True)
    del client
    gc.collect()
    lap("scalar graphs")
    if "before" not in args.skip:
        nodes = 1_000 if args.quick else 10_000
        print(f"phases at {nodes:,} nodes, before ({args.before}) and now (bench/phases.py) ...",
              flush=True)
        try:
            extra.phases = before_and_now(args.before, nodes, 1 if args.quick else 3)
        except (OSError, RuntimeError, subprocess.SubprocessError) as err:
            extra.phases_failed = f"{type(err).__name__}: {err}"
            print(f"  failed: {extra.phases_failed}", flush=True)
        lap("before and now")
    if "compare" not in args.skip:
        print("libraries side by side (bench/compare.py) ...", flush=True)
        extra.compare = run_compare(args.quick)
        lap("libraries")
    if "api" not in args.skip:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2
        extra.api_clients, extra.api_seconds = 16, (3.0 if args.quick else 8.0)
        print(f"HTTP API, 1 and {cores} workers ...", flush=True)
        extra.api = measure_api(sorted({1, cores}), extra.api_clients, extra.api_seconds)
        for t in extra.api:
            print(f"  {t}", flush=True)
        lap("HTTP API")
    if "browser" not in args.skip:
        print("browser (bench/browser.py) ...", flush=True)
        extra.browser = run_browser(args.quick)
        lap("browser")
    if "levels" not in args.skip:
        print("the demo by levels in Chromium (bench/levels.py) ...", flush=True)
        extra.levels = run_levels(args.quick)
        lap("levels")
    if "lighthouse" not in args.skip:
        print("the page in Lighthouse (bench/lighthouse.py) ...", flush=True)
        extra.lighthouse = run_lighthouse(args.quick)
        lap("lighthouse")
    if "moons" not in args.skip:
        print("micrograd's demo (bench/moons.py) ...", flush=True)
        extra.moons, extra.moons_failed = run_moons(args.quick)
        lap("micrograd's demo")
    if "torch" not in args.skip:
        print("a PyTorch MLP through from_torch (bench/torch_mlp.py) ...", flush=True)
        extra.torch_mlp, extra.torch_failed = run_torch_mlp(args.quick)
        lap("PyTorch MLP")
        print("the tutorials' LeNet through from_torch (bench/torch_lenet.py) ...", flush=True)
        extra.torch_lenet, extra.lenet_failed = run_torch_lenet(args.quick)
        lap("PyTorch LeNet")
        print("makemore part 4 through from_torch (bench/torch_makemore.py) ...", flush=True)
        extra.torch_makemore, extra.makemore_failed = run_torch_makemore(args.quick)
        lap("PyTorch makemore")
    if "isolation" not in args.skip:
        print("the worker pool: latency, under load, memory, hostile input "
              "(bench/isolation.py) ...", flush=True)
        extra.isolation = isolation.measure(4.0 if args.quick else 10.0)
        lap("isolation")
    return rows, checks, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="sizes up to 1,000 (libraries up to 100), one repeat, shorter "
                        "load, browser and demo runs")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the report")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["compare", "api", "browser", "levels", "lighthouse", "before", "moons",
                                 "torch", "deep", "isolation"],
                        help="parts to leave out")
    parser.add_argument("--before", default=BEFORE_REV, metavar="REV",
                        help=f"the git revision measured before, phase by phase "
                        f"(default {BEFORE_REV}, the last commit before issue 17's round)")
    parser.add_argument("--from-last", action="store_true",
                        help=f"measure nothing: write the report of the last run ({LAST_RUN})")
    args = parser.parse_args()
    if args.from_last:
        with LAST_RUN.open("rb") as f:
            rows, checks, extra, elapsed, args.quick = pickle.load(f)  # our own file
    else:
        start = time.perf_counter()
        rows, checks, extra = measure_all(args)
        elapsed = time.perf_counter() - start
        with LAST_RUN.open("wb") as f:  # a report that fails to render loses no measurement
            pickle.dump((rows, checks, extra, elapsed, args.quick), f)
    runs = "1 run" if args.quick else ("5 runs (3 from 10,000 nodes, and for the "
                                       "finite-difference table)")
    if not (args.no_write or args.quick):
        extra.images = make_plots(rows, checks, extra)
    report = write_report(rows, checks, elapsed, runs, extra)
    if args.no_write or args.quick:
        print(report)
    else:
        REPORT.write_text(report)
        print(f"wrote {REPORT.relative_to(REPO_ROOT)} and {len(extra.images or {})} figures "
              f"in {IMG.relative_to(REPO_ROOT)} in {elapsed:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
