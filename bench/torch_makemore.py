"""from_torch against PyTorch's own autograd on makemore part 4's forward pass, batch 32.

karpathy/nn-zero-to-hero's makemore_part4_backprop.ipynb as tests/test_makemore.py has it: the
parameters as its cell 8 initializes them (vocabulary 27, context 3, embedding 10, hidden 64;
float32, as the notebook runs), 32 random contexts, and its cell 10's chunked forward pass
(`C[Xb]`, the batchnorm in its parts, the long cross entropy picking
`logprobs[range(n), Yb]`), 4,137 parameters in 7 tensors. Measured as bench/torch_lenet.py
measures LeNet: interleaved in one process, `torch.set_num_threads(1)`, CPU time, medians:
torch's forward and `loss.backward()` (gradients zeroed first; 20 in a row a turn) against
`from_torch(loss_fn, check=False)` (5 in a row a turn), and the same with its default check.
The gradients are compared with torch's `.grad`, relative to the largest (b1's gradient is
what is left after the batchnorm cancels it: float32's rounding).

    .venv/bin/python bench/torch_makemore.py [--seconds S] [--json] [--profile]
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
from chainrule import from_torch
from torch_mlp import CALLS, TORCH_CALLS, interleaved

TARGET = 20.0  # issue 27: makemore part 4 at batch 32, from_torch(check=False) within 20x torch
GRADIENT_TARGET = 1e-5  # float32's precision, relative to the largest gradient
vocab_size, block_size, n_embd, n_hidden = 27, 3, 10, 64
batch_size = 32
n = batch_size
FIRST_USE = ["C", "W1", "b1", "bngain", "bnbias", "W2", "b2"]  # from_torch's t0, t1, ...


@dataclass
class MakemoreRow:
    """One measurement of makemore part 4 (seconds are medians)."""

    parameters: int
    nodes: int
    torch_s: float  # torch's forward + backward
    no_check_s: float  # from_torch(check=False)
    from_torch_s: float  # its default check included
    max_rel_error: float  # relative to the largest gradient


def setup() -> tuple[list[torch.Tensor], Callable[[], torch.Tensor]]:
    """The notebook's parameters (in FIRST_USE's order), a batch, and cell 10 as the loss."""
    torch.manual_seed(0)  # the notebook draws bngain and bnbias from torch's own generator
    g = torch.Generator().manual_seed(2147483647) # for reproducibility
    C  = torch.randn((vocab_size, n_embd),            generator=g)
    # Layer 1
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5/3)/((n_embd * block_size)**0.5)
    b1 = torch.randn(n_hidden,                        generator=g) * 0.1 # using b1 just for fun, it's useless because of BN
    # Layer 2
    W2 = torch.randn((n_hidden, vocab_size),          generator=g) * 0.1
    b2 = torch.randn(vocab_size,                      generator=g) * 0.1
    # BatchNorm parameters
    bngain = torch.randn((1, n_hidden))*0.1 + 1.0
    bnbias = torch.randn((1, n_hidden))*0.1
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    for p in parameters:
        p.requires_grad = True
    Xb = torch.randint(0, vocab_size, (batch_size, block_size), generator=g)
    Yb = torch.randint(0, vocab_size, (batch_size,), generator=g)

    def loss_fn() -> torch.Tensor:
        emb = C[Xb] # embed the characters into vectors
        embcat = emb.view(emb.shape[0], -1) # concatenate the vectors
        # Linear layer 1
        hprebn = embcat @ W1 + b1 # hidden layer pre-activation
        # BatchNorm layer
        bnmeani = 1/n*hprebn.sum(0, keepdim=True)
        bndiff = hprebn - bnmeani
        bndiff2 = bndiff**2
        bnvar = 1/(n-1)*(bndiff2).sum(0, keepdim=True) # note: Bessel's correction (dividing by n-1, not n)
        bnvar_inv = (bnvar + 1e-5)**-0.5
        bnraw = bndiff * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        # Non-linearity
        h = torch.tanh(hpreact) # hidden layer
        # Linear layer 2
        logits = h @ W2 + b2 # output layer
        # cross entropy loss (same as F.cross_entropy(logits, Yb))
        logit_maxes = logits.max(1, keepdim=True).values
        norm_logits = logits - logit_maxes # subtract max for numerical stability
        counts = norm_logits.exp()
        counts_sum = counts.sum(1, keepdims=True)
        counts_sum_inv = counts_sum**-1 # if I use (1.0 / counts_sum) instead then I can't get backprop to be bit exact...
        probs = counts * counts_sum_inv
        logprobs = probs.log()
        loss = -logprobs[range(n), Yb].mean()
        return loss

    return [C, W1, b1, bngain, bnbias, W2, b2], loss_fn


def measure(seconds: float = 10.0) -> MakemoreRow:
    """The row: times interleaved, then the gradients against torch's."""
    torch.set_num_threads(1)
    parameters, loss_fn = setup()

    def torch_run() -> None:
        for p in parameters:
            p.grad = None
        loss_fn().backward()

    result = from_torch(loss_fn, check=False)
    times = interleaved({
        "torch": (torch_run, TORCH_CALLS),
        "no_check": (lambda: from_torch(loss_fn, check=False), CALLS),
        "from_torch": (lambda: from_torch(loss_fn), CALLS),
    }, seconds)
    torch_run()
    grads = [p.grad.double().numpy() for p in parameters if p.grad is not None]
    scale = max(float(np.abs(g).max()) for g in grads)
    error = max(float(np.max(np.abs(np.asarray(result.gradients[f"t{k}"]) - g))) / scale
                for k, g in enumerate(grads))
    return MakemoreRow(sum(p.numel() for p in parameters), len(result.nodes), times["torch"],
                       times["no_check"], times["from_torch"], error)


def table(row: MakemoreRow) -> list[str]:
    """A markdown table of the row."""
    t = row.torch_s
    return ["| what | time (ms) | × torch's forward + backward |", "|---|---|---|",
            f"| torch: forward + `loss.backward()` | {t * 1e3:.3f} | 1 |",
            *(f"| {what} | {s * 1e3:.2f} | {s / t:,.1f}× |" for what, s in [
                ("from_torch, check=False", row.no_check_s),
                ("from_torch, its default check included", row.from_torch_s)])]


Target = tuple[str, str, str, str, bool | str | None]  # name, measured, target, ratio, met


def targets(row: MakemoreRow) -> list[Target]:
    """Issue 27's target on makemore part 4 (bench/run.py's table)."""
    ratio = row.no_check_s / row.torch_s
    model = (f"makemore part 4, batch {batch_size} ({row.parameters:,} parameters, "
             f"{row.nodes} nodes)")
    return [(f"{model}: from_torch(check=False) within {TARGET:g}× torch's forward + backward",
             (f"{row.no_check_s * 1e3:.2f} ms vs torch {row.torch_s * 1e3:.3f} ms (default "
              f"check included {row.from_torch_s * 1e3:.2f} ms)"),
             f"≤ {TARGET:g}×", f"{ratio:.1f}×", ratio <= TARGET),
            (("gradients equal torch's to float32's precision (makemore, float32 as the "
              "notebook runs, relative to the largest)"),
             f"max error {row.max_rel_error:.1e}", f"≤ {GRADIENT_TARGET:g}",
             f"{row.max_rel_error / GRADIENT_TARGET:.2g} of the target",
             row.max_rel_error <= GRADIENT_TARGET)]


def profile(top: int = 30) -> None:
    """cProfile of from_torch(check=False) on makemore, 50 calls, by internal time."""
    torch.set_num_threads(1)
    _, loss_fn = setup()
    from_torch(loss_fn, check=False)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(50):
        from_torch(loss_fn, check=False)
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
