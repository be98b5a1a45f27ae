"""from_torch against PyTorch's own autograd on the 2-16-16-1 tanh MLP on 100 points.

The model, its data and its loss as tests/test_torch.py has them (float64, `F.mse_loss`), 337
parameters in 6 tensors. Measured interleaved in one process, with `torch.set_num_threads(1)`,
as the process's CPU time (`time.process_time`: on a machine shared with other work, wall time
counts the waits for a core too), median of many turns: torch's forward and `loss.backward()`
(gradients zeroed first; 20 in a row a turn, warm, as a training loop runs them);
`from_torch(loss_fn, model)` (5 in a row a turn, warm too) with its default gradient check
(`check="auto"`: above 100 input elements, a random direction per parameter tensor: 12
evaluations of the loss in one batched pass); the same without the
check; with the check element by element (`check="elements"`, 674 evaluations, the default
before issue 25); and, for scale, 674 forward passes of torch itself (what a central difference
over every parameter costs torch), in a second round (their batched buffers would evict the
first round's caches), scaled by torch's time in each round. The gradients are compared with
torch's `.grad`.

    .venv/bin/python bench/torch_mlp.py [--seconds S] [--json] [--profile] [--write FILE]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from itertools import pairwise

import numpy as np
import torch
import torch.nn.functional as F
from chainrule import from_torch
from torch import nn

POINTS, SIZES = 100, [2, 16, 16, 1]
TARGET = 20.0  # issue 25: from_torch (check included) within 20x torch's forward + backward
TARGET_NO_CHECK = 10.0  # issue 25: and without the check within 10x
TORCH_CALLS = 20  # torch's steps timed in a row, a turn: warm, as a training loop runs them
CALLS = 5  # from_torch's calls timed in a row, a turn (warm too: not after the slow runs)


@dataclass
class TorchRow:
    """One measurement of the MLP (seconds are medians)."""

    points: int
    parameters: int
    nodes: int
    torch_s: float  # torch's forward + backward
    from_torch_s: float  # the default check (by directions) included
    no_check_s: float
    check_s: float  # the default check alone (from_torch's, batched)
    torch_fd_s: float  # torch's own 2N forward passes, one parameter element nudged at a time
    max_rel_error: float
    elements_s: float = float("nan")  # the check element by element included (2N, batched)
    check_kind: str = ""  # which check the default ran
    check_evaluations: int = 0  # its evaluations of the loss


def setup() -> tuple[nn.Module, Callable[[], torch.Tensor]]:
    """The MLP and its loss, as tests/test_torch.py builds them."""
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for fan_in, fan_out in pairwise(SIZES):
        layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
    model = nn.Sequential(*layers[:-1]).double()
    x = torch.randn(POINTS, 2, dtype=torch.float64)
    y = torch.sin(x[:, :1] * 2) + x[:, 1:] ** 2
    return model, lambda: F.mse_loss(model(x), y)


def interleaved(runs: dict[str, tuple[Callable[[], object], int]], seconds: float
                ) -> dict[str, float]:
    """Each callable's median CPU time a call, the callables taking turns for about `seconds`;
    a turn calls one `times` times in a row (torch's step, warm as in a training loop)."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or min(len(t) for t in times.values()) < 5:
        for name, (run, calls) in runs.items():
            start = time.process_time()
            for _ in range(calls):
                run()
            times[name].append((time.process_time() - start) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def torch_central_differences(model: nn.Module, loss_fn: Callable[[], torch.Tensor]) -> None:
    """What a central difference over every parameter element costs torch: 2N forward passes."""
    with torch.no_grad():
        for p in model.parameters():
            flat = p.view(-1)
            for k in range(flat.numel()):
                for h in (1e-6, -2e-6):
                    flat[k] += h
                    loss_fn()
                flat[k] += 1e-6


def measure(seconds: float = 20.0) -> TorchRow:
    """The row: times interleaved, then the gradients against torch's."""
    torch.set_num_threads(1)
    model, loss_fn = setup()

    def torch_run() -> None:
        model.zero_grad()
        loss_fn().backward()

    result = from_torch(loss_fn, model)
    times = interleaved({
        "torch": (torch_run, TORCH_CALLS),
        "from_torch": (lambda: from_torch(loss_fn, model), CALLS),
        "no_check": (lambda: from_torch(loss_fn, model, check=False), CALLS),
    }, seconds * 2 / 3)
    # The slow references in a round of their own: the check element by element batches 674
    # evaluations (about 100 MB of buffers), which would evict the first round's caches.
    slow = interleaved({
        "torch": (torch_run, TORCH_CALLS),
        "elements": (lambda: from_torch(loss_fn, model, check="elements"), 1),
        "torch_fd": (lambda: torch_central_differences(model, loss_fn), 1),
    }, seconds / 3)
    times |= {name: slow[name] * times["torch"] / slow["torch"]  # on the first round's scale
              for name in ("elements", "torch_fd")}
    torch_run()
    errors = [float(np.max(np.abs(np.asarray(result.gradients[name]) - p.grad.numpy())
                           / np.maximum(np.abs(p.grad.numpy()), 1e-12)))
              for name, p in model.named_parameters() if p.grad is not None]
    return TorchRow(POINTS, sum(p.numel() for p in model.parameters()), len(result.nodes),
                    times["torch"], times["from_torch"], times["no_check"],
                    times["from_torch"] - times["no_check"], times["torch_fd"], max(errors),
                    times["elements"], result.check.kind if result.check else "",
                    result.check.evaluations if result.check else 0)


def table(row: TorchRow) -> list[str]:
    """A markdown table of the row."""
    t = row.torch_s
    return ["| what | time (ms) | × torch's forward + backward |", "|---|---|---|",
            f"| torch: forward + `loss.backward()` | {t * 1e3:.3f} | 1 |",
            *(f"| {what} | {s * 1e3:.2f} | {s / t:,.1f}× |" for what, s in [
                (f"from_torch, its default check ({row.check_kind}) included", row.from_torch_s),
                ("from_torch, check=False", row.no_check_s),
                (f"the default check alone ({row.check_evaluations} evaluations, batched)",
                 row.check_s),
                (f"from_torch, check=\"elements\" ({2 * row.parameters} evaluations, batched)",
                 row.elements_s),
                (f"torch's own {2 * row.parameters} forward passes (central differences)",
                 row.torch_fd_s)])]


Target = tuple[str, str, str, str, bool | str | None]  # name, measured, target, ratio, met


def targets(row: TorchRow) -> list[Target]:
    """Issue 25's targets on the MLP (bench/run.py's table)."""
    ratio, bare = row.from_torch_s / row.torch_s, row.no_check_s / row.torch_s
    model = f"2-16-16-1 MLP, {row.points} points ({row.parameters} parameters, {row.nodes} nodes)"
    return [((f"{model}: from_torch (its default check included) within {TARGET:g}× torch's "
             "forward + backward"),
             (f"{row.from_torch_s * 1e3:.2f} ms vs torch {row.torch_s * 1e3:.3f} ms (check by "
              f"{row.check_kind}, {row.check_evaluations} evaluations; element by element "
              f"{row.elements_s * 1e3:.1f} ms; torch's own central differences "
              f"{row.torch_fd_s * 1e3:.0f} ms)"),
             f"≤ {TARGET:g}×", f"{ratio:.1f}×", ratio <= TARGET),
            (f"{model}: from_torch without the check within {TARGET_NO_CHECK:g}×",
             f"{row.no_check_s * 1e3:.2f} ms vs torch {row.torch_s * 1e3:.3f} ms",
             f"≤ {TARGET_NO_CHECK:g}×", f"{bare:.1f}×", bare <= TARGET_NO_CHECK),
            ("gradients equal torch's to 1e-6 (MLP, relative, float64)",
             f"max relative error {row.max_rel_error:.1e}", "≤ 1e-6",
             f"{row.max_rel_error / 1e-6:.2g} of the target", row.max_rel_error <= 1e-6)]


def profile(top: int = 30) -> None:
    """cProfile of from_torch on the MLP, 20 calls, by cumulative time."""
    torch.set_num_threads(1)
    model, loss_fn = setup()
    from_torch(loss_fn, model)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        from_torch(loss_fn, model)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="time to spend measuring")
    parser.add_argument("--json", action="store_true", help="print the row as JSON")
    parser.add_argument("--profile", action="store_true", help="only profile from_torch")
    parser.add_argument("--write", metavar="FILE", help="also write the table and the targets "
                        "there (markdown), as docs/torch.md holds them")
    args = parser.parse_args()
    if args.profile:
        profile()
        return
    row = measure(args.seconds)
    print(json.dumps(asdict(row)) if args.json else "\n".join(table(row)))
    if args.write:
        write(row, args.write)


def write(row: TorchRow, path: str) -> None:
    """The table and the targets as a markdown page."""
    lines = ["# from_torch against PyTorch", "",
             ("Written by `bench/torch_mlp.py --write docs/torch.md` "
             f"({time.strftime('%Y-%m-%d', time.gmtime())}, {os.cpu_count()} cores, shared "
             "with other work: CPU time, interleaved)."), "",
             (__doc__ or "").split("\n\n")[1].replace("\n", " "), "", *table(row), "",
             "| target | measured | wanted | ratio | met |", "|---|---|---|---|---|",
             *(f"| {name} | {measured} | {wanted} | {ratio} | {'yes' if met else 'no'} |"
               for name, measured, wanted, ratio, met in targets(row)), ""]
    with open(path, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    main()
