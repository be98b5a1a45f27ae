"""chainrule.from_torch: PyTorch models read op by op, checked against torch's own autograd.

torch is installed by `make test` (requirements-dev.txt): without it, this module fails to
import, and the run fails; it does not skip.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import ChainruleError, from_torch
from chainrule.answer.models import Answer
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from .oracles import assert_close, torch_autograd

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}



def _assert_autograds(result: Answer, loss_fn: Callable[[], torch.Tensor],
                      tensors: dict[str, torch.Tensor]) -> None:
    loss, grads = torch_autograd(loss_fn, tensors)
    assert_close(result.output.value, loss, rtol=1e-6)
    assert set(result.gradients) == set(tensors)
    for name, grad in grads.items():
        assert_close(result.gradients[name], grad, rtol=1e-6, atol=1e-12)


def _mlp(sizes: list[int], activation: type[nn.Module] = nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = []
    for fan_in, fan_out in pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), activation()]
    return nn.Sequential(*layers[:-1]).double()


def test_a_2_16_16_1_mlp_on_100_points_has_torchs_gradients() -> None:
    torch.manual_seed(0)
    model = _mlp([2, 16, 16, 1])
    x = torch.randn(100, 2, dtype=torch.float64)
    y = torch.sin(x[:, :1] * 2) + x[:, 1:] ** 2

    def loss_fn() -> torch.Tensor:
        return F.mse_loss(model(x), y)

    result = from_torch(loss_fn, model)
    _assert_autograds(result, loss_fn, dict(model.named_parameters()))
    assert result.check is not None and result.check.ok
    assert not result.warnings


def test_parameters_are_named_as_named_parameters_names_them() -> None:
    model = _mlp([2, 3, 1])
    result = from_torch(lambda: model(torch.ones(1, 2, dtype=torch.float64)).sum(), model)
    assert list(result.gradients) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert np.shape(result.gradients["0.weight"]) == (3, 2)


def test_nodes_are_grouped_by_the_module_that_ran_them() -> None:
    model = _mlp([2, 3, 1])
    x, y = torch.ones(4, 2, dtype=torch.float64), torch.zeros(4, 1, dtype=torch.float64)
    groups = from_torch(lambda: F.mse_loss(model(x), y), model).groups
    assert groups is not None
    parents = {name: groups.name[p] if p >= 0 else None
               for name, p in zip(groups.name, groups.parent, strict=True)}
    assert parents == {"model": None, "model.0": "model", "model.1": "model",
                       "model.2": "model", "mse_loss": None}
    assert groups.kind == ["layer"] * 4 + ["loss"]
    by_group = [groups.name[g] if g >= 0 else None for g in groups.node_group]
    # nn.Linear is read as x @ W.T + b: transpose, matmul, add, in its own group (the first
    # also holds the constant x, where it is first used).
    assert by_group.count("model.0") == 4 and by_group.count("model.2") == 3
    assert by_group.count("model.1") == 1  # tanh
    assert by_group.count("mse_loss") == 5  # the constant y, sub, the constant 2, pow, mean


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 4), min_size=2, max_size=4),
       activation=st.sampled_from(sorted(ACTIVATIONS)), points=st.integers(1, 5),
       seed=st.integers(0, 2**16))
def test_random_small_sequential_models_have_torchs_gradients(
        widths: list[int], activation: str, points: int, seed: int) -> None:
    torch.manual_seed(seed)
    model = _mlp(widths, ACTIVATIONS[activation])
    x = torch.randn(points, widths[0], dtype=torch.float64)
    y = torch.randn(points, widths[-1], dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        return F.mse_loss(model(x), y)

    _assert_autograds(from_torch(loss_fn, model, check=False), loss_fn,
                      dict(model.named_parameters()))


def test_operators_methods_and_reflected_forms_without_a_model() -> None:
    torch.manual_seed(1)
    w = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    v = torch.rand(3, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 2, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        h = torch.sigmoid(x @ w.T) * 2 - 1 / (1 + v) + (2 - v) ** 2
        h = torch.relu(h.t().transpose(0, 1)) + torch.exp(-h) / 3 + torch.log(1 + v * v)
        return (h.double().float().double().sum() + 2 ** v.mean()) / h.shape[0]

    _assert_autograds(from_torch(loss_fn), loss_fn, {"t0": w, "t1": v})


def test_detach_and_data_are_constants_as_in_torch() -> None:
    w = torch.tensor([1.5, -0.5], dtype=torch.float64, requires_grad=True)

    def loss_fn() -> torch.Tensor:
        return (w * w.detach()).sum() + (w * w.data).sum()

    _assert_autograds(from_torch(loss_fn), loss_fn, {"t0": w})


def test_mse_loss_with_reduction_sum() -> None:
    model = _mlp([2, 2])
    x, y = torch.randn(3, 2, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        return F.mse_loss(model(x), y, reduction="sum")

    _assert_autograds(from_torch(loss_fn, model), loss_fn, dict(model.named_parameters()))


def test_a_softmax_cross_entropy_classifier_has_torchs_gradients() -> None:
    torch.manual_seed(2)
    model = _mlp([2, 8, 3])
    x = torch.randn(20, 2, dtype=torch.float64)
    labels = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()  # three classes

    def loss_fn() -> torch.Tensor:
        return F.cross_entropy(model(x), labels)

    result = from_torch(loss_fn, model)
    _assert_autograds(result, loss_fn, dict(model.named_parameters()))
    assert result.check is not None and result.check.ok
    assert not result.warnings
    groups = result.groups
    assert groups is not None
    parents = {name: groups.name[p] if p >= 0 else None
               for name, p in zip(groups.name, groups.parent, strict=True)}
    assert parents["log_softmax"] == "cross_entropy" and parents["cross_entropy"] is None
    ops = [n.op for n in result.nodes if n.op not in ("input", "const")]
    assert ops[-6:] == ["logsumexp_rows", "sub", "mul", "sum", "neg", "div"]


@pytest.mark.parametrize("loss_of", [
    lambda m, x, y, p: F.cross_entropy(m(x), y, reduction="sum"),
    lambda m, x, y, p: F.cross_entropy(m(x), y, reduction="none").mean(),
    lambda m, x, y, p: F.cross_entropy(m(x), y, ignore_index=1),
    lambda m, x, y, p: F.cross_entropy(m(x), p),  # class probabilities as the target
    lambda m, x, y, p: F.cross_entropy(m(x[0]), y[0]),  # one sample, no batch axis
    lambda m, x, y, p: F.nll_loss(F.log_softmax(m(x), dim=1), y),
    lambda m, x, y, p: nn.CrossEntropyLoss()(m(x), y),
    lambda m, x, y, p: (F.softmax(m(x), dim=-1) * p).sum() + torch.log_softmax(m(x), 0).sum(),
    lambda m, x, y, p: (m(x).softmax(1) ** 2).sum() + m(x).log_softmax(dim=-1).mean(),
], ids=["sum", "none", "ignore_index", "probabilities", "one-sample", "nll_loss",
        "CrossEntropyLoss", "softmax-dims", "methods"])
def test_softmax_log_softmax_and_the_losses_built_on_them_have_torchs_gradients(
        loss_of: Callable[..., torch.Tensor]) -> None:
    torch.manual_seed(3)
    model = _mlp([2, 4, 3])
    x = torch.randn(6, 2, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 1, 1, 0])
    p = torch.softmax(torch.randn(6, 3, dtype=torch.float64), dim=1)

    def loss_fn() -> torch.Tensor:
        return loss_of(model, x, y, p)

    result = from_torch(loss_fn, model)
    _assert_autograds(result, loss_fn, dict(model.named_parameters()))
    assert not result.warnings


class Reshaping(nn.Module):
    """Every reshape that changes the shape, in one forward."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1, 1, 12, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.w.view(3, 4) * x
        h = torch.reshape(h, (2, 6)).flatten().unsqueeze(0).unsqueeze(-1)
        h = h.squeeze().view_as(self.w).reshape_as(x) @ x.T
        return torch.tanh(nn.Flatten(0)(h)).squeeze(0).sum()


def test_reshapes_that_change_the_shape_have_torchs_gradients() -> None:
    model = Reshaping()
    x = torch.randn(3, 4, dtype=torch.float64)
    result = from_torch(lambda: model(x), model)
    _assert_autograds(result, lambda: model(x), dict(model.named_parameters()))
    assert result.check is not None and result.check.ok
    assert [n.op for n in result.nodes].count("reshape") == 8


def test_softmax_along_a_middle_axis_is_refused_with_its_dim() -> None:
    w = torch.ones(2, 3, 4, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ChainruleError, match=r"softmax \(test_torch.py:\d+\) is not "
                       r"supported: it works along dim=1 of a 3-axis tensor"):
        from_torch(lambda: F.softmax(w, dim=1).sum())


class TwoLayers(nn.Module):
    """A model whose forward is the user's own code: its nodes point into it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(2, 3), nn.Linear(3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.fc1(x))
        return self.fc2(hidden).squeeze(1)


def test_each_node_points_into_the_users_own_source() -> None:
    model = TwoLayers().double()
    x, y = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        return F.mse_loss(model(x), y)

    result = from_torch(loss_fn, model)
    assert inspect.getsource(loss_fn) in result.source
    assert inspect.getsource(TwoLayers.forward) in result.source
    text = {n.id: result.source[n.span[0]:n.span[1]] for n in result.nodes}
    by_op = {op: {text[n.id] for n in result.nodes if n.op == op}
             for op in {n.op for n in result.nodes}}
    assert by_op["transpose"] == by_op["matmul"] == {"self.fc1(x)", "self.fc2(hidden)"}
    assert by_op["tanh"] == {"torch.tanh(self.fc1(x))"}
    assert by_op["reshape"] == {"self.fc2(hidden).squeeze(1)"}
    assert by_op["mean"] == by_op["pow"] == {"F.mse_loss(model(x), y)"}
    assert by_op["input"] == {""}, "parameters are made where no line of the user's is"
    groups = result.groups
    assert groups is not None
    spans = {name: result.source[a:b] for name, (a, b) in zip(groups.name, groups.span,
                                                               strict=True)}
    assert spans == {"model": "model(x)", "model.fc1": "self.fc1(x)",
                     "model.fc2": "self.fc2(hidden)", "mse_loss": "F.mse_loss(model(x), y)"}


class Sorting(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sort(x, dim=0).values


def _line_of(text: str, function: Callable[..., Any]) -> int:
    lines, first = inspect.getsourcelines(function)
    return first + next(k for k, line in enumerate(lines) if text in line)


def test_an_op_outside_the_table_is_refused_with_its_module_and_line() -> None:
    model = nn.Sequential(nn.Linear(2, 2), Sorting()).double()
    x = torch.ones(3, 2, dtype=torch.float64)
    with pytest.raises(ChainruleError) as caught:
        from_torch(lambda: model(x).sum(), model)
    line = _line_of("torch.sort", Sorting.forward)
    assert str(caught.value).startswith(
        f"torch.sort in model.1 (test_torch.py:{line}) is not supported")
    assert caught.value.kind == "unknown_function"


def test_an_op_outside_any_module_is_refused_with_its_line() -> None:
    w = torch.ones(1, 1, 2, dtype=torch.float64, requires_grad=True)
    x = torch.ones(1, 1, 5, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        return torch.conv_transpose1d(x, w).sum()

    with pytest.raises(ChainruleError) as caught:
        from_torch(loss_fn)
    line = _line_of("torch.conv_transpose1d", loss_fn)
    # torch.conv_transpose1d is torch.nn.functional.conv_transpose1d: torch names it so.
    assert str(caught.value).startswith(
        f"torch.nn.functional.conv_transpose1d (test_torch.py:{line}) is not supported")


@pytest.mark.parametrize("loss_fn, message", [
    (lambda w: w.sum(dim=0, dtype=torch.float64).sum(), "torch.Tensor.sum (test_torch.py"),
    (lambda w: torch.tensor(w.sum().item()), "torch.Tensor.item (test_torch.py"),
    (lambda w: w * 2, "needs the output to be a scalar"),
    (lambda w: torch.ones(2).sum(), "returned no value computed from the parameters"),
])
def test_what_cannot_be_read_is_refused(loss_fn: Callable[[torch.Tensor], torch.Tensor],
                                        message: str) -> None:
    w = torch.ones(2, 2, dtype=torch.float64, requires_grad=True)
    with pytest.raises(ChainruleError, match=message.replace("(", r"\(")):
        from_torch(lambda: loss_fn(w))


def test_unused_parameters_are_warned_about() -> None:
    model = nn.Sequential(nn.Linear(2, 1), nn.Linear(1, 1)).double()
    result = from_torch(lambda: model[0](torch.ones(1, 2, dtype=torch.float64)).sum(), model)
    assert [w.message for w in result.warnings if w.kind == "unused_value"] == [
        "the parameter 1.weight is not part of the loss's graph",
        "the parameter 1.bias is not part of the loss's graph"]


def test_chainrule_imports_without_torch() -> None:
    code = "import sys, chainrule; chainrule.from_torch; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
