"""micrograd's own demo, and chainrule on it: karpathy/micrograd's `demo.ipynb` without sklearn.

The notebook's data, model and loss: 100 two-moons points (sklearn's `make_moons` algorithm,
noise 0.1, drawn here with numpy's RandomState(1337), which is what the notebook's
`np.random.seed(1337)` gives `make_moons`), labels mapped to -1/+1, `MLP(2, [16, 16, 1])` after
`random.seed(1337)`, and the max-margin loss `(1 + -yi*scorei).relu()` averaged over the full
batch plus `1e-4 * sum(p*p for p in model.parameters())`: 65,818 micrograd Values and 337
parameters at 100 points.

Measured, interleaved in one process (median of a few runs): micrograd's own build of the loss
and `loss.backward()`; `chainrule.from_micrograd(loss, model.parameters())` with its default
gradient check, on a loss built beforehand, and the build and the call together; chainrule's
gradients against micrograd's `.grad`; the answer's bytes a node (orjson, then gzip at the
server's level); the notebook widget's synced state; the RSS growth of the answer, in a fresh
process. The node limit (250,000) admits the demo; run it with the deadline raised (the
default, 30 s, could stop the 100-point demo on a busy machine); whatever is refused is said in
the table:

    CHAINRULE_MAX_SECONDS=600 .venv/bin/python bench/moons.py
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import math
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from chainrule import ChainruleError, from_micrograd
from chainrule.settings import LIMITS
from micrograd.engine import Value
from micrograd.nn import MLP

SEED = 1337  # the notebook's np.random.seed and random.seed
NOISE = 0.1
ALPHA = 1e-4  # L2 regularization
LAYERS = [16, 16, 1]
GZIP_LEVEL = 1  # the level the server sends gzip at (chainrule.answer.encoding)
NOTEBOOK_VALUES = 65_818  # the notebook's loss at 100 points, in micrograd Values
# The limit bench/run.py raises for this script: the deadline, so that the demo finishes on a
# busy machine (the default is 30 s). The node limit, 250,000, admits it as it is.
BENCH_ENV = {"CHAINRULE_MAX_SECONDS": "600"}


# ------------------------------------------------------------------------------ the demo


def moons(n: int, seed: int = SEED, noise: float = NOISE) -> tuple[np.ndarray, np.ndarray]:
    """sklearn's `make_moons(n, noise=noise, random_state=seed)`, with labels -1/+1: the
    points (n, 2) and their labels (n,) as Python-int-valued numpy ints."""
    rng = np.random.RandomState(seed)
    n_out = n // 2
    n_in = n - n_out
    outer = np.linspace(0, np.pi, n_out)
    inner = np.linspace(0, np.pi, n_in)
    points = np.vstack([np.append(np.cos(outer), 1 - np.cos(inner)),
                        np.append(np.sin(outer), 1 - np.sin(inner) - 0.5)]).T
    labels = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.arange(n)  # sklearn's shuffle: resample(replace=False) shuffles indices
    rng.shuffle(order)
    points, labels = points[order], labels[order]
    points += rng.normal(scale=noise, size=points.shape)
    return points, labels * 2 - 1


def new_model(seed: int = SEED) -> MLP:
    """The notebook's `MLP(2, [16, 16, 1])`, its weights drawn after `random.seed(seed)`."""
    random.seed(seed)
    return MLP(2, LAYERS)


def demo_loss(model: MLP, points: np.ndarray, labels: np.ndarray) -> Value:
    """The notebook's `loss()` on the full batch: max-margin loss averaged, plus L2."""
    inputs = [list(map(Value, row)) for row in points.tolist()]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(labels.tolist(), scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss  # type: ignore[no-any-return]


def count_values(root: Value) -> int:
    """How many Values the graph ending in `root` holds (an iterative walk)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


def build_loss(n_points: int, seed: int = SEED) -> tuple[Value, MLP, int]:
    """The demo's loss at `n_points` points: (loss, model, count of Values in its graph)."""
    points, labels = moons(n_points, seed)
    model = new_model(seed)
    loss = demo_loss(model, points, labels)
    return loss, model, count_values(loss)


def build_and_answer(points: np.ndarray, labels: np.ndarray) -> Any:
    """A new model's demo loss, built and answered by from_micrograd (check included)."""
    model = new_model()
    return from_micrograd(demo_loss(model, points, labels), model.parameters())


# ------------------------------------------------------------------------------ measures


def interleaved(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each run, the runs taking turns so that drift touches them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(seconds) for name, seconds in times.items()}


GRADIENT_FLOOR = 1e-6  # of the largest |gradient|: see max_relative_error


def max_relative_error(gradients: dict[str, float], parameters: list[Value]) -> float:
    """The largest |chainrule - micrograd| / max(|chainrule|, |micrograd|, floor) over the
    parameters, floor = GRADIENT_FLOOR x the largest |micrograd gradient|. A gradient whose
    contributions cancel (a few points: 2.8e-17 where micrograd sums to 0.0) is rounding in
    either order, so it is judged against that floor; on 8 to 100 points no gradient but
    exact zeros is below it, and the figure is the plain relative error."""
    pairs = [(float(gradients[f"p{k}"]), float(p.grad)) for k, p in enumerate(parameters)]
    floor = GRADIENT_FLOOR * max((abs(theirs) for _, theirs in pairs), default=0.0)
    worst = 0.0
    for ours, theirs in pairs:
        scale = max(abs(ours), abs(theirs), floor)
        if scale:
            worst = max(worst, abs(ours - theirs) / scale)
    return worst


def answer_bytes(result: Any) -> tuple[int, int]:
    """The answer's JSON bytes (orjson of the model dump, by alias), plain and gzip."""
    raw = orjson.dumps(result.model_dump(mode="json", by_alias=True))
    return len(raw), len(gzip.compress(raw, compresslevel=GZIP_LEVEL))


def widget_bytes(result: Any) -> tuple[int, int]:
    """The bytes of `chainrule.show(result)`'s synced traits, as JSON (buffers by length): the
    whole state, and its ES module (`_esm`, the same for every answer)."""
    from chainrule import show  # anywidget, imported only when measured
    from ipywidgets.widgets.widget import _remove_buffers  # how Jupyter sends the state

    widget = show(result)
    state, _, buffers = _remove_buffers(widget.get_state())
    widget.close()
    esm = len(orjson.dumps(state.get("_esm", "")))
    return len(orjson.dumps(state)) + sum(memoryview(b).nbytes for b in buffers), esm


REFUSED = -1  # rss_growth when the probe's from_micrograd was refused


def rss_growth(n_points: int) -> int:
    """Bytes the peak RSS grows by while from_micrograd answers the demo, in a fresh process
    (the loss built first): the `--rss` mode of this script."""
    done = subprocess.run([sys.executable, __file__, "--rss", str(n_points)],
                          capture_output=True, text=True, check=False, timeout=900)
    return int(done.stdout.split()[-1]) if done.returncode == 0 else REFUSED


def peak_rss() -> int:
    """This process's peak RSS in bytes: Linux's VmHWM, else getrusage's ru_maxrss. (After
    fork and exec, ru_maxrss starts at the parent's peak, so a probe started by a big parent
    would read no growth; VmHWM belongs to the new program's memory alone.)"""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _rss_probe(n_points: int) -> None:
    """Print the peak RSS growth (bytes) of one from_micrograd on the demo's loss."""
    loss, model, _ = build_loss(n_points)
    gc.collect()
    before = peak_rss()
    result = from_micrograd(loss, model.parameters())
    after = peak_rss()
    del result
    print(after - before)


def _profile(n_points: int, top: int = 25) -> None:
    """Print cProfile's top entries (cumulative, then own time) of one from_micrograd."""
    import cProfile
    import pstats

    loss, model, _ = build_loss(n_points)
    profiler = cProfile.Profile()
    profiler.runcall(from_micrograd, loss, model.parameters())
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


@dataclass
class MoonsRow:
    """The demo at one size: what was measured, or why chainrule refused it."""

    points: int
    values: int
    parameters: int
    micrograd_s: float = 0.0  # build the loss + loss.backward()
    from_micrograd_s: float = 0.0  # on the loss built beforehand, check included
    total_s: float = 0.0  # build the loss + from_micrograd
    nodes: int = 0  # chainrule's nodes
    max_rel_error: float = math.nan
    answer_raw: int = 0
    answer_gzip: int = 0
    widget_state: int = 0
    widget_module: int = 0
    rss_growth: int = 0
    refused: str = ""

    def per_node(self, total: int) -> float:
        """`total` over chainrule's nodes."""
        return total / self.nodes if self.nodes else math.nan


def measure(n_points: int, repeats: int, memory: bool = True, widget: bool = True) -> MoonsRow:
    """The demo at n_points: times interleaved, then gradients, bytes, widget and memory."""
    points, labels = moons(n_points)
    loss, model, count = build_loss(n_points)
    row = MoonsRow(n_points, count, len(model.parameters()))
    try:
        result = from_micrograd(loss, model.parameters())
    except ChainruleError as err:
        row.refused = f"refused ({err.kind}): {err}"
        return row
    row.nodes = len(result.columns.nodes.op)
    fresh = new_model()  # micrograd's grads accumulate: zeroed before each backward

    def micrograd_run() -> None:
        fresh.zero_grad()
        demo_loss(fresh, points, labels).backward()

    try:
        times = interleaved({
            "micrograd": micrograd_run,
            "from_micrograd": lambda: from_micrograd(loss, model.parameters()),
            "total": lambda: build_and_answer(points, labels),
        }, repeats)
    except ChainruleError as err:
        row.refused = f"refused while timed ({err.kind}): {err}"
        return row
    row.micrograd_s, row.from_micrograd_s, row.total_s = (
        times["micrograd"], times["from_micrograd"], times["total"])
    loss.backward()
    row.max_rel_error = max_relative_error(result.gradients, model.parameters())
    row.answer_raw, row.answer_gzip = answer_bytes(result)
    if widget:
        row.widget_state, row.widget_module = widget_bytes(result)
    del result
    gc.collect()
    if memory:
        row.rss_growth = rss_growth(n_points)
    return row


# ------------------------------------------------------------------------------ report


def table(rows: Iterable[MoonsRow]) -> list[str]:
    """A markdown table: one row a size."""
    out = [("| points | micrograd Values | parameters | micrograd build+backward (s) | "
           "from_micrograd, check included (s) | build + from_micrograd (s) | ratio to "
           "micrograd | max relative gradient error | answer bytes/node (raw) | (gzip) | "
           "widget state bytes/node (module) | peak RSS growth bytes/node |"),
           "|" + "---|" * 12]
    for r in rows:
        head = f"| {r.points:,} | {r.values:,} | {r.parameters:,} | "
        if r.refused:
            out.append(head + r.refused + " |" * 9)
            continue
        widget = (f"{r.per_node(r.widget_state):,.0f} ({r.per_node(r.widget_module):,.0f})"
                  if r.widget_state else "not measured")
        rss = ("refused" if r.rss_growth == REFUSED else
               f"{r.per_node(r.rss_growth):,.0f}" if r.rss_growth else "not measured")
        out.append(head + f"{r.micrograd_s:.3f} | {r.from_micrograd_s:.2f} | {r.total_s:.2f} | "
                   f"{r.from_micrograd_s / r.micrograd_s:.1f}× | {r.max_rel_error:.1e} | "
                   f"{r.per_node(r.answer_raw):,.0f} | {r.per_node(r.answer_gzip):,.0f} | "
                   f"{widget} | {rss} |")
    return out


Target = tuple[str, str, str, str, bool | str | None]  # name, measured, target value, ratio, met


def targets(rows: list[MoonsRow]) -> list[Target]:
    """Issue 17's targets on the demo, judged at its largest size (bench/run.py's table)."""
    if not rows:
        return []
    top = max(rows, key=lambda r: r.points)
    name = f"micrograd demo, {top.values:,} Values ({top.points} points)"
    if top.refused:
        return [(f"{name}: from_micrograd answers", top.refused, "answered", "", False)]
    return [_time_target(top, name), _gradient_target(top), _bytes_target(top),
            _widget_target(top), _memory_target(rows)]


def _time_target(r: MoonsRow, name: str) -> Target:
    ratio = r.from_micrograd_s / r.micrograd_s
    return (f"{name}: from_micrograd (check included) within 3× micrograd's build+backward",
            (f"{r.from_micrograd_s:.2f} s vs micrograd {r.micrograd_s:.3f} s (build + "
            f"from_micrograd {r.total_s:.2f} s, {r.total_s / r.micrograd_s:.0f}×)"),
            "≤ 3× micrograd's time", f"{ratio:.1f}×", ratio <= 3)


def _gradient_target(r: MoonsRow) -> Target:
    return ("gradients equal micrograd's to 1e-9 (demo, relative)",
            f"max relative error {r.max_rel_error:.1e} over {r.parameters} parameters",
            "≤ 1e-9", f"{r.max_rel_error / 1e-9:.2g} of the target", r.max_rel_error <= 1e-9)


def _bytes_target(r: MoonsRow) -> Target:
    raw, packed = r.per_node(r.answer_raw), r.per_node(r.answer_gzip)
    return ("answer bytes ≤ 250/node raw, ≤ 60/node gzip (demo)",
            (f"{raw:,.0f} raw, {packed:,.0f} gzip (level {GZIP_LEVEL}) bytes a node "
            f"({r.answer_raw / 1e6:,.0f} MB, {r.answer_gzip / 1e6:,.1f} MB)"),
            "≤ 250 raw, ≤ 60 gzip", f"{raw / 250:.1f}, {packed / 60:.1f} of the targets",
            raw <= 250 and packed <= 60)


def _widget_target(r: MoonsRow) -> Target:
    if not r.widget_state:
        return ("widget state ≤ 250 bytes/node (demo)", "not measured", "≤ 250", "", None)
    state = r.per_node(r.widget_state)
    return ("widget state ≤ 250 bytes/node (demo)",
            (f"{state:,.0f} bytes a node ({r.widget_state / 1e6:,.0f} MB; the ES module, "
            f"the same for every answer, {r.widget_module / 1e6:.1f} MB of it)"),
            "≤ 250", f"{state / 250:.1f} of the target", state <= 250)


def _memory_target(rows: list[MoonsRow]) -> Target:
    measured = [r for r in rows if r.rss_growth > 0]
    if not measured:
        return ("peak memory per node (demo, stated)", "not measured", "stated", "", None)
    return ("peak memory per node (demo, RSS growth of from_micrograd in a fresh process)",
            "; ".join(f"{r.nodes:,} nodes: {r.per_node(r.rss_growth) / 1e3:,.1f} kB a node "
                      f"({r.rss_growth / 1e6:,.0f} MB)" for r in measured),
            "stated", "", "stated")


def write_html(n_points: int, path: Path) -> None:
    """The demo at `n_points` points, `from_micrograd(loss, model)`, as the offline file that
    plays it (`make moons-html`: the full demo, about 18 MB, into dist/)."""
    from chainrule.export import offline_html

    loss, model, values = build_loss(n_points)
    html = offline_html(from_micrograd(loss, model))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    print(f"wrote {path} ({len(html.encode()) / 1e6:.1f} MB, {values:,} Values at {n_points} "
          "points): open it in a browser; it plays offline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true", help="skip the RSS subprocess")
    parser.add_argument("--no-widget", action="store_true", help="skip the widget's state")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="only profile one from_micrograd at N points (cProfile)")
    parser.add_argument("--rss", type=int, metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--html", type=Path, metavar="PATH",
                        help="only write the demo at the first --points as an offline file")
    args = parser.parse_args()
    if args.html is not None:
        write_html(args.points[0], args.html)
        return
    if args.rss is not None:
        _rss_probe(args.rss)
        return
    if args.profile is not None:
        _profile(args.profile)
        return
    rows = []
    for n in args.points:
        rows.append(measure(n, args.repeats, not args.no_memory, not args.no_widget))
        print(f"{n} points done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([asdict(r) for r in rows]))
        return
    print(f"limits in force: {LIMITS.max_nodes:,} nodes, {LIMITS.max_seconds:g} s "
          f"({', '.join(BENCH_ENV)}); micrograd Values at 100 points in the notebook: "
          f"{NOTEBOOK_VALUES:,}")
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
