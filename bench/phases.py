"""Where the time of a big program's answer goes, phase by phase, before and now (`make bench`).

    python bench/phases.py [--before REV] [--nodes 10000] [--repeats 3]

The backend before (REV, by default 1007936, the last commit before issue 17's round: records
built per node, only `POST /api/v1/backprop`) is taken out of git (`git archive REV backend`)
into a temporary directory, so a fresh clone needs no other checkout. Each backend is measured
in its own process, one after the other: for each shape of bench/programs.py at --nodes, every
phase through the functions the backend has (parse, build_graph, Graph.order, forward, backward
with and without records, forward_steps where it exists, finite_difference_check, run.trace),
then its *product answer*, the one its page and API hand out: before, the v1 records
(`backprop_data`, `POST /api/v1/backprop`); now, the compact answer (`compact_data`,
`POST /api/v2/backprop`); its encoding (`encoding.encode_answer`, orjson then gzip) and the whole
HTTP answer through TestClient (which accepts gzip, as browsers do), with its bytes. A backend
with the compact answer is also timed spelling everything out as v1 records (`records.spelled_out`,
`backprop_data`, `POST /api/v1/backprop`), so that the cost of the records stays visible. A phase
a backend cannot run is reported with its error, not guessed; one it does not have is left empty.
bench/run.py calls `before_and_now`; run alone, this prints the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import inspect
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
BEFORE_REV = "1007936"  # the last commit before issue 17's round (sweeps by group, columns)

# name: what it covers (the table's first column explains each)
PHASES: dict[str, str] = {
    "parse": "text to syntax tree (`parse`)",
    "graph": "syntax tree to graph, with shapes and formulas (`build_graph`)",
    "order": "topological order (`Graph.order`)",
    "plan": ("the sweeps' groups, one generation's nodes of one op (`Graph.plan`, made once "
             "a graph and kept on it; now only)"),
    "forward": "forward sweep, numbers only (`forward`)",
    "backward": "backward sweep, numbers only (`backward(record=False)`)",
    "backward+records": ("backward sweep recording every term (`backward`; before: each term's "
                         "formulas and sentence, per node; now: its numbers, per group)"),
    "forward records": ("forward sweep's records (`forward_steps`; now there are none: the "
                        "answer carries the values, and v1 renders the sentences)"),
    "check": "finite-difference check (`finite_difference_check`)",
    "trace": "the whole answer from a built graph: sweeps, records, check, assembly (`trace`)",
    "assembly": "trace less the phases above it: nodes, edges or columns, layers, warnings",
    "answer": ("the product answer from the text (before: `backprop_data`, the v1 records; "
               "now: `compact_data`, the compact answer)"),
    "encode": "the product answer to bytes (`encode_answer`: orjson + gzip)",
    "HTTP": ("the product answer through TestClient, accepting gzip (before: "
             "`POST /api/v1/backprop`; now: `POST /api/v2/backprop`)"),
    "v1: render": ("the compact answer spelled out as v1 records (`records.spelled_out`); "
                   "before, the records were the answer"),
    "v1: answer": "the v1 answer from the text (`backprop_data`)",
    "v1: encode": "the v1 answer to bytes (`encode_answer`: orjson + gzip)",
    "v1: HTTP": "`POST /api/v1/backprop` through TestClient, accepting gzip",
}
ASSEMBLED = ["order", "plan", "forward", "backward+records", "forward records", "check"]
PRODUCT = ["answer", "encode", "HTTP"]  # before, the same as v1's: timed once, shown twice


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


def _module(*names: str) -> Any:
    """The measured backend's module, by its path today or an earlier one (the modules moved
    into folders in issue 26: `engine` is `core.sweeps`, `run` is `differentiate`)."""
    import importlib

    import chainrule

    package = Path(chainrule.__file__).parent
    for name in names:
        if (package / (name.replace(".", "/") + ".py")).exists():
            return importlib.import_module(f"chainrule.{name}")
    return None


def _has(names: tuple[str, ...], name: str) -> bool:
    """Whether the measured backend's module (under any of its `names`) defines `name`. (Whether
    the module exists is asked of its directory: an editable install's import hook would find
    another's.)"""
    return hasattr(_module(*names), name)


def _encoder() -> Callable[[object], bytes]:
    """How this backend's route turns an answer into bytes (orjson, then gzip)."""
    from chainrule.settings import LIMITS

    encode_answer = _module("answer.encoding", "encoding").encode_answer
    return lambda data: encode_answer(data, max_bytes=LIMITS.max_answer_bytes, coding="gzip").body


def _post(client: Any, path: str, source: str, inputs: dict[str, float]) -> Any:
    return client.post(path, json={"source": source, "values": inputs},
                       headers={"accept-encoding": "gzip"})


def _sizes(response: Any, prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}status": response.status_code, f"{prefix}wire": response.num_bytes_downloaded,
            f"{prefix}plain": len(response.content),
            f"{prefix}content_encoding": response.headers.get("content-encoding", "identity")}


def unplanned(graph: Any) -> Any:
    """The graph without the plan `plan_of` keeps on it after its first use, so that what is
    timed next makes it as an answer does (the sweeps timed apart reuse the kept one)."""
    graph.__dict__.pop("_plan", None)  # where plan_of kept it, before issue 26
    graph.__dict__.pop("plan", None)  # Graph.plan's, since
    return graph


def fresh_plan(graph: Any) -> Any:
    """The graph's plan, made anew."""
    plan = _module("core.plan", "plan")
    make = getattr(plan, "make_plan", None) or plan.plan_of
    return make(unplanned(graph))


def measure_shape(shape: str, nodes: int, repeats: int, client: Any) -> dict[str, Any]:
    """Every phase of one shape's program in the backend imported here: seconds, or the error."""
    import numpy as np
    from programs import SHAPES, values

    engine = _module("core.sweeps", "engine")
    forward, backward = engine.forward, engine.backward
    finite_difference_check = _module("analyses.check", "check").finite_difference_check
    build_graph = _module("readers.program", "core.graph", "graph").build_graph
    parse = _module("readers.parsing", "parsing").parse
    run = _module("differentiate", "run")
    backprop_data = run.backprop_data
    # The answer of a built graph: `differentiate(Read(graph))` since issue 26, `trace` before.
    trace = run.trace
    if hasattr(run, "differentiate"):
        from chainrule.readers import Read

        def trace(g: Any) -> Any:
            return run.differentiate(Read(g))
    compact = _has(("differentiate", "run"), "compact_data")
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

    # The whole answers over HTTP first, while this process holds nothing of the phases below,
    # as a server's worker does: with their graphs and records alive, it took about 10 % longer.
    out: dict[str, Any] = {"compact": compact}
    response = timed("HTTP", lambda: _post(
        client, "/api/v2/backprop" if compact else "/api/v1/backprop", source, inputs))
    out.update({} if response is None else _sizes(response))
    if compact:
        response = timed("v1: HTTP", lambda: _post(client, "/api/v1/backprop", source, inputs))
        out.update({} if response is None else _sizes(response, "v1_"))
    del response
    program = timed("parse", lambda: parse(source))
    graph = timed("graph", lambda: build_graph(program, inputs))
    if graph is not None:  # the phases below are timed many times over: no deadline for them
        graph.deadline.end = time.monotonic() + 3600
    order = timed("order", lambda: graph.order())
    if graph is not None and (_has(("core.plan", "plan"), "plan_of") or _has(("core.plan",), "make_plan")):
        timed("plan", lambda: fresh_plan(graph))
    # Before issue 26 the sweeps took the node order too (and ignored it).
    ordered = "order" in inspect.signature(forward).parameters
    before = (order,) if ordered else ()
    node_values = timed("forward", lambda: forward(graph, *before))
    timed("backward", lambda: backward(graph, *before, node_values, record=False))
    sweep = timed("backward+records", lambda: backward(graph, *before, node_values))
    if hasattr(engine, "forward_steps"):
        timed("forward records", lambda: engine.forward_steps(graph, order, node_values))
    timed("check", lambda: finite_difference_check(
        graph, order, sweep.grads, float(np.sum(node_values[graph.output]))))
    timed("trace", lambda: trace(unplanned(graph)))
    if "trace" in seconds and all(p in seconds for p in ("order", "forward", "check")):
        seconds["assembly"] = seconds["trace"] - sum(seconds.get(p, 0.0) for p in ASSEMBLED)
    if compact:
        spelled_out = _module("answer.records", "records").spelled_out
        compact_data = run.compact_data
        data = timed("answer", lambda: compact_data(source, inputs))
        body = timed("encode", lambda: _encoder()(data))
        v1 = timed("v1: render", lambda: spelled_out(data))
        timed("v1: answer", lambda: backprop_data(source, inputs))
        v1_body = timed("v1: encode", lambda: _encoder()(v1))
    else:
        data = timed("answer", lambda: backprop_data(source, inputs))
        v1_body = body = timed("encode", lambda: _encoder()(data))
        for phase in PRODUCT:  # before, the v1 answer is the product answer
            if phase in seconds:
                seconds[f"v1: {phase}"] = seconds[phase]
        out.update({f"v1_{k}": out[k] for k in ("status", "wire", "plain", "content_encoding")
                    if k in out})
    out.update({"seconds": seconds, "errors": errors,
                "nodes": len(graph.nodes) if graph is not None else 0,
                "encoded_bytes": len(body) if body is not None else None,
                "v1_encoded_bytes": len(v1_body) if v1_body is not None else None})
    return out


def measure(nodes: int, repeats: int) -> dict[str, Any]:
    """Every shape in this process's backend (the one on PYTHONPATH)."""
    import chainrule
    from fastapi.testclient import TestClient
    from programs import SHAPES

    client = TestClient(_module("server.app", "app").create_app())
    for path in ("/api/v1/backprop", "/api/v2/backprop"):  # warm up (v2 is a 404 before)
        client.post(path, json={"source": "sin(x*y)", "values": {"x": 1, "y": 2}})
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


WHOLES = ("trace", "answer", "HTTP", "v1: answer", "v1: HTTP")  # sums of other phases


def moved_most(before: dict[str, Any], now: dict[str, Any]) -> str:
    """A sentence: the three phases (not sums of others, not v1's) whose time changed most."""
    deltas = {p: (now["seconds"][p] - before["seconds"][p]) * 1000 for p in PHASES
              if p not in WHOLES and not p.startswith("v1")
              and p in now["seconds"] and p in before["seconds"]}
    top = sorted(deltas, key=lambda p: -abs(deltas[p]))[:3]
    return ("Changed most: " + ", ".join(f"{p} {deltas[p]:+,.0f} ms" for p in top) + "."
            if top else "")


def _ratio(b: float | None, n: float | None) -> str:
    if not b or n is None or b <= 0:
        return ""
    return f"{n / b:.2f}" if n / b >= 0.1 else f"{n / b:.2g}"


def _bytes_row(name: str, before: dict[str, Any], now: dict[str, Any], prefix: str) -> str:
    """Bytes a node of an answer, plain and on the wire, before and now."""
    if f"{prefix}wire" not in now or f"{prefix}wire" not in before:
        return ""

    def cell(data: dict[str, Any]) -> tuple[str, float]:
        wire = data[f"{prefix}wire"] / data["nodes"]
        plain = data[f"{prefix}plain"] / data["nodes"]
        return (f"{plain:,.0f} plain, {wire:,.0f} {data[f'{prefix}content_encoding']}", wire)

    (b, bw), (n, nw) = cell(before), cell(now)
    return f"| {name} | {b} | {n} | {_ratio(bw, nw)} (wire) | |"


def kinds(result: dict[str, Any]) -> dict[str, str]:
    """Each side's product answer, in words."""
    def kind(shapes: dict[str, Any]) -> str:
        compact = any(s.get("compact") for s in shapes.values())
        return ("compact answer, `POST /api/v2/backprop`" if compact else
                "v1 records, `POST /api/v1/backprop`")
    return {"before": kind(result["before"]), "now": kind(result["now"])}


def tables(result: dict[str, Any]) -> list[str]:
    """Markdown: per shape, each phase before and now (ms) and now / before, then bytes."""
    out: list[str] = []
    answers = kinds(result)
    for shape, now in result["now"].items():
        before = result["before"].get(shape)
        if before is None:
            continue
        out += [(f"**{shape}**, {now['nodes']:,} nodes (before: {before['nodes']:,}); product "
                f"answer before: {answers['before']}; now: {answers['now']}"), "",
                "| phase | before (ms) | now (ms) | now / before | share of now's HTTP |",
                "|---|---|---|---|---|"]
        http = now["seconds"].get("HTTP")
        for phase in PHASES:
            b, n = before["seconds"].get(phase), now["seconds"].get(phase)
            share = f"{n / http:.0%}" if http and n is not None else ""
            name = f"**{phase}**" if phase == "HTTP" else phase
            out.append(f"| {name} | {_cell(before, phase)} | {_cell(now, phase)} | "
                       f"{_ratio(b, n)} | {share} |")
        out += [row for row in (
            _bytes_row("bytes a node, product answer", before, now, ""),
            _bytes_row("bytes a node, v1 records", before, now, "v1_")) if row]
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
