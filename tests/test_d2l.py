"""d2l's softmax regression and MLP from scratch (d2l-ai/d2l-zh, chapter_linear-networks/
softmax-regression-scratch.md and chapter_multilayer-perceptrons/mlp-scratch.md, the pytorch
tab) through `from_torch` as written: the book's `d2l` aliases as its d2l/torch.py defines them,
its parameters initialized as it does, a random batch of 28×28 images instead of Fashion-MNIST,
and the loss as `train_epoch_ch3` backpropagates it (`l.sum()` with the scratch updater,
`l.mean()` with torch's optimizer). Each parameter's gradient equals torch autograd's: relative
1e-6 in float64, and to float32's precision (with the warning) in float32, as the book runs.
The MLP's W1 (784 × 256) is over the default limit of one array's elements: refused by
default, read with the limit raised."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from chainrule import ChainruleError, from_torch
from chainrule.answer.models import Answer
from chainrule.settings import LIMITS
from torch import nn

from .oracles import assert_close

# d2l/torch.py's aliases, as the book's code calls them.
d2l = SimpleNamespace(
    exp=torch.exp, log=torch.log, matmul=torch.matmul,
    reshape=lambda x, *args, **kwargs: x.reshape(*args, **kwargs),
    reduce_sum=lambda x, *args, **kwargs: x.sum(*args, **kwargs),
)
BATCH = 16
FLOAT32_RTOL = 1e-5


@pytest.fixture(params=[torch.float64, torch.float32], ids=["float64", "float32"])
def dtype(request: pytest.FixtureRequest) -> Iterator[torch.dtype]:
    """The book's code runs in torch's default dtype: float32, and float64 here too."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(request.param)
    torch.manual_seed(0)
    try:
        yield request.param
    finally:
        torch.set_default_dtype(previous)


def images() -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of Fashion-MNIST's shape: images (B, 1, 28, 28) and labels of 10 classes."""
    return torch.rand(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,))


def assert_torchs_gradients(result: Answer, loss_fn: Callable[[], torch.Tensor],
                            params: list[torch.Tensor], dtype: torch.dtype) -> None:
    """The loss and each parameter's gradient (`t0`, ... in the order of first use) as torch
    autograd computes them, each element to rtol of itself or of the largest gradient."""
    rtol = 1e-6 if dtype == torch.float64 else FLOAT32_RTOL
    assert [w.kind for w in result.warnings] == ([] if dtype == torch.float64 else ["precision"])
    for p in params:
        p.grad = None
    loss = loss_fn()
    loss.backward()
    assert_close(result.output.value, float(loss.detach()), rtol=rtol)
    grads = [p.grad.double().numpy() for p in params if p.grad is not None]
    assert len(grads) == len(params) == len(result.gradients)
    scale = max(float(np.abs(g).max()) for g in grads)
    for k, grad in enumerate(grads):
        assert_close(result.gradients[f"t{k}"], grad, rtol=rtol, atol=rtol * scale)


def test_softmax_regression_from_scratch_has_torchs_gradients(dtype: torch.dtype) -> None:
    num_inputs = 784
    num_outputs = 10

    W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
    b = torch.zeros(num_outputs, requires_grad=True)

    def softmax(X):  # type: ignore[no-untyped-def]
        X_exp = d2l.exp(X)
        partition = d2l.reduce_sum(X_exp, 1, keepdim=True)
        return X_exp / partition  # 这里应用了广播机制

    def net(X):  # type: ignore[no-untyped-def]
        return softmax(d2l.matmul(d2l.reshape(X, (-1, W.shape[0])), W) + b)

    def cross_entropy(y_hat, y):  # type: ignore[no-untyped-def]
        return - d2l.log(y_hat[range(len(y_hat)), y])

    X, y = images()

    def loss_fn() -> torch.Tensor:  # train_epoch_ch3, with the scratch updater
        y_hat = net(X)
        l = cross_entropy(y_hat, y)
        return l.sum()  # type: ignore[no-any-return]

    result = from_torch(loss_fn)
    assert_torchs_gradients(result, loss_fn, [W, b], dtype)
    named = {node.name for node in result.nodes}
    assert {"X_exp", "partition", "y_hat", "l"} <= named


def test_mlp_from_scratch_has_torchs_gradients(dtype: torch.dtype) -> None:
    num_inputs, num_outputs, num_hiddens = 784, 10, 256

    W1 = nn.Parameter(torch.randn(
        num_inputs, num_hiddens, requires_grad=True) * 0.01)
    b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
    W2 = nn.Parameter(torch.randn(
        num_hiddens, num_outputs, requires_grad=True) * 0.01)
    b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))

    params = [W1, b1, W2, b2]

    def relu(X):  # type: ignore[no-untyped-def]
        a = torch.zeros_like(X)
        return torch.max(X, a)

    def net(X):  # type: ignore[no-untyped-def]
        X = d2l.reshape(X, (-1, num_inputs))
        H = relu(X@W1 + b1)  # 这里“@”代表矩阵乘法
        return (H@W2 + b2)

    loss = nn.CrossEntropyLoss(reduction='none')

    X, y = images()

    def loss_fn() -> torch.Tensor:  # train_epoch_ch3, with torch's optimizer
        y_hat = net(X)
        l = loss(y_hat, y)
        return l.mean()  # type: ignore[no-any-return]

    with pytest.raises(ChainruleError, match=r"has 200,704 elements; the limit is 100,000"):
        from_torch(loss_fn)  # W1 is 784 × 256: one array over the default limit
    result = from_torch(loss_fn, limits=replace(LIMITS, max_array_elements=200_704))
    assert_torchs_gradients(result, loss_fn, params, dtype)
    maxima = [node for node in result.nodes if node.op == "max"]
    assert len(maxima) == 1 and maxima[0].shape == [BATCH, num_hiddens]
    assert {"H", "y_hat", "l"} <= {node.name for node in result.nodes}
