"""What the Python entry points cost next to their baselines: a measurement, not a test.

- `from_micrograd(loss)` on micrograd's own MLP, against micrograd's `loss.backward()` (the
  baseline: the gradient alone), split into reading the graph and explaining it (our full
  answer: the compact answer, every step's numbers as columns, and the finite-difference check).
- `trace(f, ...)` of a numpy function, against `backprop(source)` of the same computation typed
  as a program (the baseline: the parser path), with the finite-difference check on both.
- A chain 5,000 deep through both, where micrograd's recursive `backward()` fails.

Every time is the median of a few repeats in one process, so that the ratios hold on a noisy
machine. Writes docs/entry-points.md.

    .venv/bin/python bench/entry_points.py
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from chainrule import backprop, from_micrograd, trace
from chainrule.readers.micrograd import _Reader, _topological
from chainrule.settings import LIMITS
from micrograd.engine import Value
from micrograd.nn import MLP
from phases import median_time

REPORT = Path(__file__).resolve().parents[1] / "docs" / "entry-points.md"


def median_seconds(run: Callable[[], Any], repeats: int = 9) -> float:
    """The median wall time of `run()` over `repeats` runs."""
    return median_time(run, repeats)[0]


def mlp_loss() -> tuple[Any, list[Value]]:
    """micrograd's README example: MLP(3, [4, 4, 1]) on four points, squared error."""
    random.seed(1)
    model = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys, strict=True))
    return loss, model.parameters()


def micrograd_backward(loss: Any, parameters: list[Value]) -> None:
    for p in parameters:
        p.grad = 0
    loss.backward()


def read_only(loss: Any, parameters: list[Value]) -> None:
    reader = _Reader({id(p): f"p{k}" for k, p in enumerate(parameters)}, False, LIMITS)
    for value in _topological(loss, LIMITS):
        reader.read(value)
    reader.finish(loss)


def layer(x, W, b):
    h = np.tanh(W @ x + b)
    return np.sum(np.maximum(h, 0.1) ** 2) + np.mean(W.T @ h)


LAYER_SOURCE = "h = tanh(W @ x + b)\nsum(max(h, 0.1) ** 2) + mean(W.T @ h)"


def chain(x):
    for _ in range(5000):
        x = np.tanh(x) * 1.001
    return x


CHAIN_SOURCE = "".join(f"x{k + 1} = tanh(x{k}) * 1.001\n" for k in range(5000)) + "x5000"


def main() -> None:
    rng = np.random.default_rng(0)
    values = {"x": rng.normal(size=20), "W": rng.normal(size=(30, 20)), "b": rng.normal(size=30)}
    loss, parameters = mlp_loss()
    deep = Value(0.3)
    end = deep
    for _ in range(5000):
        end = end * 1.001
    rows = [
        ("micrograd MLP(3, [4, 4, 1]), 4 points: micrograd's loss.backward()",
         median_seconds(lambda: micrograd_backward(loss, parameters))),
        ("the same: from_micrograd reading the graph only",
         median_seconds(lambda: read_only(loss, parameters))),
        ("the same: from_micrograd, the whole answer (columns, check)",
         median_seconds(lambda: from_micrograd(loss, parameters))),
        ("numpy layer (W 30x20): backprop(source) of the same program",
         median_seconds(lambda: backprop(LAYER_SOURCE, values))),
        ("numpy layer (W 30x20): trace(f)", median_seconds(lambda: trace(layer, values))),
        ("chain of 5,000 tanh: backprop(source), no check",
         median_seconds(lambda: backprop(CHAIN_SOURCE, check=False, x0=0.3), 3)),
        ("chain of 5,000 tanh: trace(f), no check",
         median_seconds(lambda: trace(chain, check=False, x=0.3), 3)),
        ("micrograd chain 5,000 deep: from_micrograd, no check",
         median_seconds(lambda: from_micrograd(end, {"x": deep}, check=False), 3)),
    ]
    try:
        end.backward()
        recursion = "micrograd's own backward() on it: ran"
    except RecursionError:
        recursion = "micrograd's own backward() on it: RecursionError"
    write(rows, recursion)


def write(rows: list[tuple[str, float]], recursion: str) -> None:
    baseline = {0: 0, 1: 0, 2: 0, 3: 3, 4: 3, 5: 5, 6: 5}  # row -> its group's baseline row
    lines = [
        "# The Python entry points: from_micrograd and trace",
        "",
        "Written by `bench/entry_points.py` (median of repeats, one process; ratios are to the",
        ("first row of each group, measured in the same run). Python "
         f"{sys.version.split()[0]}, numpy {np.__version__}."),
        "",
        "| what | ms | × baseline |",
        "|---|---:|---:|",
    ]
    lines += [f"| {what} | {seconds * 1e3:.2f} | " + (
        f"{seconds / rows[baseline[k]][1]:.2f} |" if k in baseline else "no baseline |")
        for k, (what, seconds) in enumerate(rows)]
    lines += ["", f"{recursion}; from_micrograd and trace walk it iteratively.", "",
              "micrograd computes the gradient only; chainrule's answer also records every",
              "forward and backward step (formulas, values, contributions) and, where asked,",
              "checks the gradient by finite differences: that is what the ratio pays for.", ""]
    REPORT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
