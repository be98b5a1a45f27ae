"""makemore part 4 ("Becoming a backprop ninja", karpathy/nn-zero-to-hero,
lectures/makemore/makemore_part4_backprop.ipynb) through `from_torch` as written: its parameters
initialized as the notebook does, a random batch of 32 contexts instead of the names dataset,
then the chunked forward pass of its cell 10 verbatim, and the fast versions of its exercises 2
to 4 (`F.cross_entropy`, the batchnorm with `mean`/`var(0, keepdim=True)`). Each parameter's
gradient, and in the chunked pass every intermediate's (the notebook's own `cmp` list, from
torch's `retain_grad`), equals torch autograd's: relative 1e-6 in float64; in float32, as the
notebook runs, with the precision warning and to float32's precision. The answer's nodes carry
the notebook's names, from its assignments."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import from_torch
from chainrule.answer.models import Answer

from .oracles import assert_close

vocab_size, block_size, n_embd, n_hidden = 27, 3, 10, 64
batch_size = 32
n = batch_size
# from_torch names the tensors that require grad t0, t1, ... in the order the loss first uses
# them: in every forward pass below, this one.
FIRST_USE = ["C", "W1", "b1", "bngain", "bnbias", "W2", "b2"]
# The notebook's cmp list: every intermediate of the chunked pass, forward order.
INTERMEDIATES = ["emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar",
                 "bnvar_inv", "bnraw", "hpreact", "h", "logits", "logit_maxes", "norm_logits",
                 "counts", "counts_sum", "counts_sum_inv", "probs", "logprobs"]
FLOAT32_RTOL = 1e-5  # float32's eps is 1.2e-7; the 32-row sums and the batchnorm add to it


def notebook_parameters(dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The parameters as the notebook's cell 8 initializes them (then in `dtype`), and a batch:
    `Xb` random contexts and `Yb` random next characters."""
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
    tensors = {"C": C, "W1": W1, "b1": b1, "W2": W2, "b2": b2, "bngain": bngain,
               "bnbias": bnbias}
    tensors = {name: t.to(dtype).requires_grad_() for name, t in tensors.items()}
    tensors["Xb"] = torch.randint(0, vocab_size, (batch_size, block_size), generator=g)
    tensors["Yb"] = torch.randint(0, vocab_size, (batch_size,), generator=g)
    return tensors


def chunked(p: dict[str, torch.Tensor]) -> Callable[[], torch.Tensor]:
    """Cell 10: the forward pass "chunkated" into smaller steps, as written."""
    C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb = (
        p[k] for k in ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "Xb", "Yb"])

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

    return loss_fn


def fast(p: dict[str, torch.Tensor]) -> Callable[[], torch.Tensor]:
    """Exercise 4's forward pass: the batchnorm by `mean` and `var(0, keepdim=True,
    unbiased=True)`, the loss `F.cross_entropy` (exercise 2's `loss_fast`)."""
    C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb = (
        p[k] for k in ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "Xb", "Yb"])

    def loss_fn() -> torch.Tensor:
        # forward pass
        emb = C[Xb] # embed the characters into vectors
        embcat = emb.view(emb.shape[0], -1) # concatenate the vectors
        # Linear layer
        hprebn = embcat @ W1 + b1 # hidden layer pre-activation
        # BatchNorm layer
        # -------------------------------------------------------------
        bnmean = hprebn.mean(0, keepdim=True)
        bnvar = hprebn.var(0, keepdim=True, unbiased=True)
        bnvar_inv = (bnvar + 1e-5)**-0.5
        bnraw = (hprebn - bnmean) * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        # -------------------------------------------------------------
        # Non-linearity
        h = torch.tanh(hpreact) # hidden layer
        logits = h @ W2 + b2 # output layer
        loss = F.cross_entropy(logits, Yb) # loss function
        return loss

    return loss_fn


def fast_in_one_line(p: dict[str, torch.Tensor]) -> Callable[[], torch.Tensor]:
    """Exercise 3's `hpreact_fast`, the batchnorm in one expression, then `loss_fast`."""
    C, W1, b1, W2, b2, bngain, bnbias, Xb, Yb = (
        p[k] for k in ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias", "Xb", "Yb"])

    def loss_fn() -> torch.Tensor:
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hprebn = embcat @ W1 + b1
        hpreact_fast = bngain * (hprebn - hprebn.mean(0, keepdim=True)) / torch.sqrt(hprebn.var(0, keepdim=True, unbiased=True) + 1e-5) + bnbias
        h = torch.tanh(hpreact_fast)
        logits = h @ W2 + b2
        loss_fast = F.cross_entropy(logits, Yb)
        return loss_fast

    return loss_fn


def run_keeping_locals(loss_fn: Callable[[], torch.Tensor]
                       ) -> tuple[torch.Tensor, dict[str, Any]]:
    """torch's loss, and the local variables of `loss_fn` when it returned (the notebook's
    tensors, which it retains the gradients of)."""
    kept: dict[str, Any] = {}

    def profile(frame: FrameType, event: str, arg: object) -> None:
        if event == "return" and frame.f_code is loss_fn.__code__:
            kept.update(frame.f_locals)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        loss = loss_fn()
    finally:
        sys.setprofile(previous)
    return loss, kept


def torchs_gradients(p: dict[str, torch.Tensor], loss_fn: Callable[[], torch.Tensor],
                     retained: list[str]) -> tuple[float, dict[str, np.ndarray]]:
    """torch's loss and gradients: the parameters', and those of the intermediates named
    (`retain_grad`, as the notebook does before `loss.backward()`)."""
    for name in FIRST_USE:
        p[name].grad = None
    loss, local = run_keeping_locals(loss_fn)
    for name in retained:
        local[name].retain_grad()
    loss.backward()
    tensors = {**{name: p[name] for name in FIRST_USE}, **{k: local[k] for k in retained}}
    return float(loss.detach()), {k: t.grad.double().numpy() for k, t in tensors.items()}


def ours(result: Answer, names: list[str]) -> dict[str, np.ndarray]:
    """Our gradients: each parameter's (`t0`, ... in the order of first use) and each named
    node's (the last node of that name)."""
    grads = {name: np.asarray(result.gradients[f"t{k}"]) for k, name in enumerate(FIRST_USE)}
    by_name = {node.name: node for node in result.nodes if node.op not in ("input", "const")}
    return grads | {name: np.asarray(by_name[name].grad, dtype=float) for name in names}


def assert_same(actual: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                rtol: float) -> None:
    """Each element to `rtol` of itself or of the largest gradient (b1's is what is left after
    the batchnorm cancels it: rounding of terms of that size)."""
    assert actual.keys() == expected.keys()
    scale = max(float(np.abs(g).max()) for g in expected.values())
    for name, grad in expected.items():
        assert actual[name].shape == grad.shape, name
        assert_close(actual[name], grad, rtol=rtol, atol=rtol * scale)


def test_the_chunked_forward_pass_in_float64_has_torchs_gradients_for_every_tensor() -> None:
    p = notebook_parameters(torch.float64)
    loss_fn = chunked(p)
    result = from_torch(loss_fn)
    loss, expected = torchs_gradients(p, loss_fn, INTERMEDIATES)
    assert not result.warnings
    assert_close(result.output.value, loss, rtol=1e-12)
    assert_same(ours(result, INTERMEDIATES), expected, rtol=1e-6)


def test_the_chunked_forward_pass_in_float32_as_the_notebook_runs_it() -> None:
    p = notebook_parameters(torch.float32)
    loss_fn = chunked(p)
    result = from_torch(loss_fn)
    loss, expected = torchs_gradients(p, loss_fn, INTERMEDIATES)
    kinds = [w.kind for w in result.warnings]
    assert kinds == ["precision"]
    assert "float32" in result.warnings[0].message
    assert_close(result.output.value, loss, rtol=FLOAT32_RTOL)
    assert_same(ours(result, INTERMEDIATES), expected, rtol=FLOAT32_RTOL)


def test_the_chunked_forward_pass_names_its_nodes_as_the_notebook_does() -> None:
    result = from_torch(chunked(notebook_parameters(torch.float64)), check=False)
    named = [node.name for node in result.nodes if node.op not in ("input", "const")
             and node.name is not None]
    assert named == [*INTERMEDIATES, "loss"]
    by_name = {node.name: node for node in result.nodes}
    assert by_name["emb"].op == "gather" and by_name["emb"].shape == [n, block_size, n_embd]
    assert by_name["logit_maxes"].op == "amax"
    formulas = {node.expr.plain for node in result.nodes}
    assert {"sum(bndiff2, axis=0, keepdims=True)", "logprobs[range(32), Yb]"} <= formulas


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("forward", [fast, fast_in_one_line], ids=["exercise4", "exercise3"])
def test_the_fast_versions_have_torchs_gradients(
        forward: Callable[[dict[str, torch.Tensor]], Callable[[], torch.Tensor]],
        dtype: torch.dtype) -> None:
    p = notebook_parameters(dtype)
    loss_fn = forward(p)
    result = from_torch(loss_fn)
    loss, expected = torchs_gradients(p, loss_fn, [])
    rtol = 1e-6 if dtype == torch.float64 else FLOAT32_RTOL
    assert [w.kind for w in result.warnings] == ([] if dtype == torch.float64 else ["precision"])
    assert_close(result.output.value, loss, rtol=rtol)
    assert_same(ours(result, []), expected, rtol=rtol)


def test_the_fast_versions_loss_is_a_cross_entropy_box_and_the_chunked_loss_equal() -> None:
    p = notebook_parameters(torch.float64)
    slow, quick = from_torch(chunked(p), check=False), from_torch(fast(p), check=False)
    assert_close(quick.output.value, slow.output.value, rtol=1e-12)
    for name in ["t0", "t1"]:  # C and W1
        assert_close(quick.gradients[name], slow.gradients[name], rtol=1e-9, atol=1e-15)
    groups = quick.groups
    assert groups is not None
    assert ("loss", "cross_entropy") in zip(groups.kind, groups.name, strict=True)
    names = {node.name for node in quick.nodes}
    assert {"emb", "embcat", "hprebn", "bnmean", "bnvar", "bnvar_inv", "bnraw", "hpreact", "h",
            "logits", "loss"} <= names


# ---- names from the user's assignments, whatever runs the expression


def test_a_models_output_takes_the_name_its_call_is_assigned_to() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh()).double()
    x = torch.randn(5, 3, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        out = model(x)
        return (out ** 2).mean()

    result = from_torch(loss_fn, model, check=False)
    named = {node.name: node for node in result.nodes if node.name}
    assert named["out"].op == "tanh"
    assert result.nodes[-1].expr.plain == "mean(out ** 2)"


def test_a_copy_keeps_its_nodes_name_and_a_function_names_its_own_value_first() -> None:
    w = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def double(v: torch.Tensor) -> torch.Tensor:
        twice = v * 2
        return twice

    def loss_fn() -> torch.Tensor:
        h = torch.tanh(w)
        h2 = h.clone()
        z = double(h2)
        for _ in range(2):
            z = torch.sin(z)
        ys = [torch.exp(v) for v in (z, h)]  # a list: no node is ys
        return z.sum() + ys[0].sum()

    result = from_torch(loss_fn, check=False)
    names = [(node.op, node.name) for node in result.nodes if node.op not in ("input", "const")]
    assert names == [("tanh", "h"), ("mul", "twice"), ("sin", "z"), ("sin", "z"), ("exp", None),
                     ("exp", None), ("sum", None), ("sum", None), ("add", None)]
