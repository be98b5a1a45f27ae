"""from_torch against PyTorch's own autograd on the tutorials' LeNet, one 32×32 image.

The "Neural Networks" tutorial's Net as tests/test_conv.py has it (conv 1→6 5×5, relu, max pool
2, conv 6→16 5×5, relu, max pool 2, flatten, 120-84-10, `nn.MSELoss` against a random target;
float64), 61,706 parameters in 10 tensors. Measured as bench/torch_mlp.py measures the MLP:
interleaved in one process, `torch.set_num_threads(1)`, CPU time, medians: torch's forward and
`loss.backward()` (gradients zeroed first; 20 in a row a turn) against
`from_torch(loss_fn, net, check=False)` (5 in a row a turn), and the same with its default
check. The gradients are compared with torch's `.grad`.

    .venv/bin/python bench/torch_lenet.py [--seconds S] [--json] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from chainrule import from_torch
from torch import nn
from torch_mlp import CALLS, TORCH_CALLS, interleaved

TARGET = 20.0  # issue 27: LeNet on one 32x32 image, from_torch(check=False) within 20x torch


@dataclass
class LeNetRow:
    """One measurement of LeNet (seconds are medians)."""

    parameters: int
    nodes: int
    torch_s: float  # torch's forward + backward
    no_check_s: float  # from_torch(check=False)
    from_torch_s: float  # its default check included
    max_rel_error: float


class Net(nn.Module):
    """The "Neural Networks" tutorial's LeNet."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)  # type: ignore[no-any-return]


def setup() -> tuple[nn.Module, Callable[[], torch.Tensor]]:
    """LeNet, one image and its loss."""
    torch.manual_seed(0)
    net = Net().double()
    image = torch.randn(1, 1, 32, 32, dtype=torch.float64)
    target = torch.randn(10, dtype=torch.float64).view(1, -1)
    criterion = nn.MSELoss()
    return net, lambda: criterion(net(image), target)  # type: ignore[no-any-return]


def measure(seconds: float = 10.0) -> LeNetRow:
    """The row: times interleaved, then the gradients against torch's."""
    torch.set_num_threads(1)
    net, loss_fn = setup()

    def torch_run() -> None:
        net.zero_grad()
        loss_fn().backward()

    result = from_torch(loss_fn, net, check=False)
    times = interleaved({
        "torch": (torch_run, TORCH_CALLS),
        "no_check": (lambda: from_torch(loss_fn, net, check=False), CALLS),
        "from_torch": (lambda: from_torch(loss_fn, net), CALLS),
    }, seconds)
    torch_run()
    errors = [float(np.max(np.abs(np.asarray(result.gradients[name]) - p.grad.numpy())
                           / np.maximum(np.abs(p.grad.numpy()), 1e-12)))
              for name, p in net.named_parameters() if p.grad is not None]
    return LeNetRow(sum(p.numel() for p in net.parameters()), len(result.nodes),
                    times["torch"], times["no_check"], times["from_torch"], max(errors))


def table(row: LeNetRow) -> list[str]:
    """A markdown table of the row."""
    t = row.torch_s
    return ["| what | time (ms) | × torch's forward + backward |", "|---|---|---|",
            f"| torch: forward + `loss.backward()` | {t * 1e3:.3f} | 1 |",
            *(f"| {what} | {s * 1e3:.2f} | {s / t:,.1f}× |" for what, s in [
                ("from_torch, check=False", row.no_check_s),
                ("from_torch, its default check included", row.from_torch_s)])]


Target = tuple[str, str, str, str, bool | str | None]  # name, measured, target, ratio, met


def targets(row: LeNetRow) -> list[Target]:
    """Issue 27's target on LeNet (bench/run.py's table)."""
    ratio = row.no_check_s / row.torch_s
    model = f"LeNet, one 32×32 image ({row.parameters:,} parameters, {row.nodes} nodes)"
    return [(f"{model}: from_torch(check=False) within {TARGET:g}× torch's forward + backward",
             (f"{row.no_check_s * 1e3:.2f} ms vs torch {row.torch_s * 1e3:.3f} ms (default "
              f"check included {row.from_torch_s * 1e3:.2f} ms)"),
             f"≤ {TARGET:g}×", f"{ratio:.1f}×", ratio <= TARGET),
            ("gradients equal torch's to 1e-6 (LeNet, relative, float64)",
             f"max relative error {row.max_rel_error:.1e}", "≤ 1e-6",
             f"{row.max_rel_error / 1e-6:.2g} of the target", row.max_rel_error <= 1e-6)]


def profile(top: int = 30) -> None:
    """cProfile of from_torch(check=False) on LeNet, 20 calls, by internal time."""
    torch.set_num_threads(1)
    net, loss_fn = setup()
    from_torch(loss_fn, net, check=False)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(20):
        from_torch(loss_fn, net, check=False)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="time to spend measuring")
    parser.add_argument("--json", action="store_true", help="print the row as JSON")
    parser.add_argument("--profile", action="store_true", help="only profile from_torch")
    args = parser.parse_args()
    if args.profile:
        profile()
        return
    row = measure(args.seconds)
    print(json.dumps(asdict(row)) if args.json else "\n".join(
        [*table(row), "", *(f"{name}: {measured} ({ratio}, {'met' if met else 'not met'})"
                            for name, measured, _, ratio, met in targets(row))]))


if __name__ == "__main__":
    main()
