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
process. Run it with the node limit raised (the default admits 50,000 nodes):

    CHAINRULE_MAX_NODES=300000 .venv/bin/python bench/moons.py --points 25 50 100
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
GZIP_LEVEL = 1  # the level the server sends gzip at (chainrule.encoding)
NOTEBOOK_VALUES = 65_818  # the notebook's loss at 100 points, in micrograd Values
MAX_NODES_ENV = "CHAINRULE_MAX_NODES"
BENCH_MAX_NODES = "300000"  # so the 100-point demo is admitted (the default is 50,000)


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


def max_relative_error(gradients: dict[str, float], parameters: list[Value]) -> float:
    """The largest |chainrule - micrograd| / max(|chainrule|, |micrograd|) over the parameters
    (0 where both are 0)."""
    worst = 0.0
    for k, p in enumerate(parameters):
        ours, theirs = float(gradients[f"p{k}"]), float(p.grad)
        scale = max(abs(ours), abs(theirs))
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

    widget = show(result)
    state = widget.get_state()
    sizes = {key: len(value) if isinstance(value, bytes | memoryview)
             else len(orjson.dumps(value)) for key, value in state.items()}
    widget.close()
    return sum(sizes.values()), sizes.get("_esm", 0)


def rss_growth(n_points: int) -> int:
    """Bytes the peak RSS grows by while from_micrograd answers the demo, in a fresh process
    (the loss built first): the `--rss` mode of this script."""
    done = subprocess.run([sys.executable, __file__, "--rss", str(n_points)],
                          capture_output=True, text=True, check=True, timeout=900)
    return int(done.stdout.split()[-1])


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
    row.nodes = len(result.nodes)
    fresh = new_model()  # micrograd's grads accumulate: zeroed before each backward

    def micrograd_run() -> None:
        fresh.zero_grad()
        demo_loss(fresh, points, labels).backward()

    times = interleaved({
        "micrograd": micrograd_run,
        "from_micrograd": lambda: from_micrograd(loss, model.parameters()),
        "total": lambda: build_and_answer(points, labels),
    }, repeats)
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
            out.append(head + r.refused + " |" * 10)
            continue
        widget = (f"{r.per_node(r.widget_state):,.0f} ({r.per_node(r.widget_module):,.0f})"
                  if r.widget_state else "not measured")
        rss = f"{r.per_node(r.rss_growth):,.0f}" if r.rss_growth else "not measured"
        out.append(head + f"{r.micrograd_s:.3f} | {r.from_micrograd_s:.2f} | {r.total_s:.2f} | "
                   f"{r.from_micrograd_s / r.micrograd_s:.1f}× | {r.max_rel_error:.1e} | "
                   f"{r.per_node(r.answer_raw):,.0f} | {r.per_node(r.answer_gzip):,.0f} | "
                   f"{widget} | {rss} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-memory", action="store_true", help="skip the RSS subprocess")
    parser.add_argument("--no-widget", action="store_true", help="skip the widget's state")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--rss", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss is not None:
        _rss_probe(args.rss)
        return
    rows = []
    for n in args.points:
        rows.append(measure(n, args.repeats, not args.no_memory, not args.no_widget))
        print(f"{n} points done", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps([asdict(r) for r in rows]))
        return
    print(f"node limit in force: {LIMITS.max_nodes:,} ({MAX_NODES_ENV}); Values at 100 points "
          f"in the notebook: {NOTEBOOK_VALUES:,}")
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
