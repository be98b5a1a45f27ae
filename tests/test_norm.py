"""Normalization, recurrent cells and stacked matmul: `from_torch` reads nn.BatchNorm1d/2d (train
and eval), nn.LayerNorm, F.batch_norm, F.layer_norm, nn.RNNCell, nn.RNN and 3-D `@` as their parts,
each parameter's gradient checked against torch autograd; a float32 model is warned about and
checked at float32's precision; refusals are one short sentence naming the call, the module and
the line. The language composes makemore's batchnorm, checked against central differences."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import ChainruleError, backprop, from_torch, trace
from chainrule.answer.models import Answer
from torch import nn

from .oracles import assert_close, central_difference

BN_PARTS = ["bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw"]
LN_PARTS = ["lnmean", "lndiff", "lndiff2", "lnvar", "lnvar_inv", "lnraw"]


def _assert_torchs_gradients(result: Answer, loss_fn: Callable[[], torch.Tensor],
                             tensors: dict[str, torch.Tensor], rtol: float = 1e-6) -> None:
    """The loss and every tensor's gradient as torch autograd computes them: each element to
    `rtol` of itself or of the largest element of all the gradients (a gradient near 0 is
    what is left after terms of that size cancel, and carries their rounding)."""
    for tensor in tensors.values():
        tensor.grad = None
    loss = loss_fn()
    loss.backward()
    assert_close(result.output.value, float(loss.detach()), rtol=rtol)
    assert set(result.gradients) == set(tensors)
    grads = {name: t.grad.double().numpy() for name, t in tensors.items() if t.grad is not None}
    assert set(grads) == set(tensors)
    scale = max(float(np.abs(g).max()) for g in grads.values())
    for name, grad in grads.items():
        assert_close(result.gradients[name], grad, rtol=rtol, atol=rtol * scale + 1e-12)


def _parameters(model: nn.Module) -> dict[str, torch.Tensor]:
    return dict(model.named_parameters())


def _names_by_group(result: Answer) -> dict[str, list[str]]:
    """The named nodes of each group, in order."""
    groups = result.groups
    assert groups is not None
    names = json.loads(result.compact_json())["columns"]["nodes"]["name"]
    found: dict[str, list[str]] = {}
    for name, group in zip(names, groups.node_group, strict=True):
        if name is not None and group >= 0:
            found.setdefault(groups.name[group], []).append(name)
    return found


def _group_parents(result: Answer) -> dict[str, tuple[str, str | None]]:
    """Each group's (kind, parent's name)."""
    groups = result.groups
    assert groups is not None
    return {name: (kind, groups.name[parent] if parent >= 0 else None)
            for name, kind, parent in zip(groups.name, groups.kind, groups.parent, strict=True)}


def _mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], torch.Tensor]:
    return lambda: F.mse_loss(model(x), y)


# ---- BatchNorm


def _bn_mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Tanh(), nn.Linear(5, 2)).double()


def test_batchnorm1d_in_training_has_torchs_gradients_from_the_batchs_statistics() -> None:
    model = _bn_mlp()
    x, y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    loss_fn = _mse(model, x, y)
    result = from_torch(loss_fn, model)
    _assert_torchs_gradients(result, loss_fn, _parameters(model))
    assert result.check is not None and result.check.ok
    assert not result.warnings


def test_batchnorm1d_in_eval_reads_the_running_statistics_as_data() -> None:
    model = _bn_mlp()
    x, y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    for _ in range(3):  # running statistics away from torch's initial 0 and 1
        model(torch.randn(8, 3, dtype=torch.float64) * 2 + 1)
    model.eval()
    loss_fn = _mse(model, x, y)
    result = from_torch(loss_fn, model)
    _assert_torchs_gradients(result, loss_fn, _parameters(model))
    nodes = json.loads(result.compact_json())["columns"]["nodes"]
    constants = {name for name, op in zip(nodes["name"], nodes["op"], strict=True)
                 if op == "const" and name}
    assert constants == {"1.running_mean", "1.running_var"}
    # No mean nor variance of the batch: the running ones stand for them.
    assert "bnmeani" not in nodes["name"] and "bnvar" not in nodes["name"]
    assert "bnraw" in nodes["name"]


def test_batchnorm1d_of_sequences_without_running_statistics_or_affine_parameters() -> None:
    torch.manual_seed(10)
    model = nn.Sequential(nn.Linear(4, 4),
                          nn.BatchNorm1d(3, affine=False, track_running_stats=False),
                          nn.Tanh()).double()
    model.eval()  # without running statistics, eval normalizes by the batch's too
    x = torch.randn(5, 3, 4, dtype=torch.float64)
    y = torch.randn(5, 3, 4, dtype=torch.float64)
    loss_fn = _mse(model, x, y)
    result = from_torch(loss_fn, model)
    _assert_torchs_gradients(result, loss_fn, _parameters(model))
    assert _names_by_group(result)["model.1"] == BN_PARTS


class _ScaledImages(nn.Module):
    """A parameter before BatchNorm2d, so that gradients flow through the batch statistics."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.linspace(0.5, 1.5, 3).reshape(3, 1, 1))
        self.bn = nn.BatchNorm2d(3)
        self.head = nn.Linear(3 * 4 * 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.bn(x * self.scale)).flatten(1))


def test_batchnorm2d_in_training_normalizes_each_channel_over_batch_and_space() -> None:
    torch.manual_seed(1)
    model = _ScaledImages().double()
    with torch.no_grad():
        model.bn.weight.uniform_(0.5, 2.0)
        model.bn.bias.uniform_(-1.0, 1.0)
    x, y = torch.randn(4, 3, 4, 4, dtype=torch.float64), torch.randn(4, 1, dtype=torch.float64)
    loss_fn = _mse(model, x, y)
    _assert_torchs_gradients(from_torch(loss_fn, model), loss_fn, _parameters(model))


def test_batchnorm_is_a_box_named_by_its_module_opening_to_makemores_parts() -> None:
    model = _bn_mlp()
    x, y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 2, dtype=torch.float64)
    result = from_torch(_mse(model, x, y), model)
    assert _group_parents(result)["model.1"] == ("layer", "model")
    assert _names_by_group(result)["model.1"] == BN_PARTS


# ---- LayerNorm


def test_layernorm_has_torchs_gradients() -> None:
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 6), nn.LayerNorm(6), nn.ReLU(), nn.Linear(6, 1)).double()
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 2.0)
        model[1].bias.uniform_(-1.0, 1.0)
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 1, dtype=torch.float64)
    loss_fn = _mse(model, x, y)
    result = from_torch(loss_fn, model)
    _assert_torchs_gradients(result, loss_fn, _parameters(model))
    assert _names_by_group(result)["model.1"] == LN_PARTS


def test_layernorm_over_two_axes_of_a_sequence() -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm((2, 3))).double()
    x = torch.randn(5, 2, 4, dtype=torch.float64)
    weights = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)

    def loss_fn() -> torch.Tensor:
        return (model(x) * weights).sum()

    _assert_torchs_gradients(from_torch(loss_fn, model), loss_fn, _parameters(model))


# ---- the functions, without a module


def test_f_batch_norm_in_training_and_with_running_statistics() -> None:
    torch.manual_seed(4)
    w = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    gain = torch.rand(4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(4, dtype=torch.float64, requires_grad=True)
    x = torch.randn(6, 3, dtype=torch.float64)
    mean, var = torch.randn(4, dtype=torch.float64), torch.rand(4, dtype=torch.float64) + 0.5

    def loss_fn(training: bool) -> torch.Tensor:
        h = F.batch_norm(x @ w, None if training else mean, None if training else var,
                         gain, bias, training=training, eps=1e-3)
        return torch.sin(h).sum()

    for training in (True, False):
        result = from_torch(lambda t=training: loss_fn(t))
        _assert_torchs_gradients(result, lambda t=training: loss_fn(t),
                                 {"t0": w, "t1": gain, "t2": bias})
        assert _group_parents(result)["batch_norm"] == ("function", None)
        assert "bnraw" in _names_by_group(result)["batch_norm"]


def test_f_layer_norm_without_affine_parameters() -> None:
    torch.manual_seed(5)
    w = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 3, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        return (F.layer_norm(x @ w, (5,)) ** 3).mean()

    result = from_torch(loss_fn)
    _assert_torchs_gradients(result, loss_fn, {"t0": w})
    assert _names_by_group(result)["layer_norm"] == LN_PARTS


# ---- RNNCell, and nn.RNN as its cells


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_an_rnn_cell_stepped_three_times_has_torchs_gradients(nonlinearity: str) -> None:
    torch.manual_seed(6)
    cell = nn.RNNCell(3, 4, nonlinearity=nonlinearity).double()
    xs = torch.randn(3, 2, 3, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        h = cell(xs[0])
        for x in xs[1:]:
            h = cell(x, h)
        return (h ** 2).sum()

    result = from_torch(loss_fn, cell)
    _assert_torchs_gradients(result, loss_fn, _parameters(cell))
    groups = result.groups
    assert groups is not None and groups.name.count("model") == 3  # a box per step
    ops = json.loads(result.compact_json())["columns"]["nodes"]["op"]
    assert ops.count(nonlinearity) == 3 and ops.count("matmul") == 6


def test_nn_rnn_is_read_as_its_cells_step_by_step() -> None:
    torch.manual_seed(8)
    rnn = nn.RNN(3, 4).double()
    x = torch.randn(2, 1, 3, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        return rnn(x)[0].sum()

    result = from_torch(loss_fn, rnn)
    _assert_torchs_gradients(result, loss_fn, _parameters(rnn))
    assert {"step 1", "step 2"} <= set(_group_parents(result))
    assert _group_parents(result)["step 1"] == ("function", "model")


# ---- batched matmul


def test_stacked_matmul_bmm_and_a_linear_layer_on_a_sequence() -> None:
    torch.manual_seed(7)
    a = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 4, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 2, dtype=torch.float64, requires_grad=True)
    v = torch.randn(2, dtype=torch.float64, requires_grad=True)
    c = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    u = torch.randn(3, dtype=torch.float64, requires_grad=True)

    def loss_fn() -> torch.Tensor:
        h = torch.tanh(torch.bmm(a, b) + torch.matmul(a, b))  # (2, 3, 5)
        return ((h @ w) @ v).sum() + (a @ c).pow(2).sum() + (u @ h).sum()

    _assert_torchs_gradients(from_torch(loss_fn), loss_fn,
                             {"t0": a, "t1": b, "t2": w, "t3": v, "t4": c, "t5": u})
    model = nn.Linear(4, 3).double()
    seq = torch.randn(2, 5, 4, dtype=torch.float64)
    _assert_torchs_gradients(from_torch(lambda: model(seq).sum(), model),
                             lambda: model(seq).sum(), _parameters(model))


def test_the_language_multiplies_stacks_of_matrices() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(4, 5))

    def f(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.sum(np.tanh(a @ b) @ b.T))

    result = backprop("sum(tanh(a @ b) @ b.T)", a=a.tolist(), b=b.tolist())
    assert result.check is not None and result.check.ok
    assert_close(result.gradients["a"], central_difference(lambda v: f(v, b), a), rtol=1e-6)
    assert_close(result.gradients["b"], central_difference(lambda v: f(a, v), b), rtol=1e-6)


# ---- float32


def test_a_float32_model_is_warned_about_and_agrees_to_float32_precision() -> None:
    torch.manual_seed(8)
    model = nn.Sequential(nn.Linear(3, 5), nn.LayerNorm(5), nn.BatchNorm1d(5), nn.Tanh(),
                          nn.Linear(5, 1))
    x, y = torch.randn(16, 3), torch.randn(16, 1)
    loss_fn = _mse(model, x, y)
    result = from_torch(loss_fn, model)
    precision = [w.message for w in result.warnings if w.kind == "precision"]
    assert len(precision) == 1
    assert "float32" in precision[0] and "float64" in precision[0]
    assert not [w for w in result.warnings if w.kind == "torch_mismatch"]
    _assert_torchs_gradients(result, loss_fn, _parameters(model), rtol=1e-4)


# ---- refusals


class _Sorting(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sort(x, dim=0).values


def _line_of(text: str, function: Callable[..., Any]) -> int:
    lines, first = inspect.getsourcelines(function)
    return first + next(k for k, line in enumerate(lines) if text in line)


def test_a_refusal_is_one_short_sentence_naming_the_call_module_and_line() -> None:
    model = nn.Sequential(nn.Linear(2, 2), _Sorting()).double()
    with pytest.raises(ChainruleError) as caught:
        from_torch(lambda: model(torch.ones(3, 2, dtype=torch.float64)).sum(), model)
    message = str(caught.value)
    line = _line_of("torch.sort", _Sorting.forward)
    assert message.startswith(f"torch.sort in model.1 (test_norm.py:{line}) is not supported")
    assert len(message) < 300 and message.count(". ") == 0
    assert "/api/v1/ops" in message and "README" in message


def test_a_traced_functions_refusal_is_one_short_sentence_with_the_pointer() -> None:
    def cumulative(x: np.ndarray) -> float:
        return float(np.cumsum(x).sum())

    with pytest.raises(ChainruleError) as caught:
        trace(cumulative, x=[1.0, 2.0])
    message = str(caught.value)
    assert message.startswith("np.cumsum is not in chainrule's op table")
    assert len(message) < 300 and "/api/v1/ops" in message and "README" in message


def test_what_torch_takes_and_an_op_of_chainrules_does_not_is_refused_at_its_line() -> None:
    w = torch.ones(3, 2, dtype=torch.float64, requires_grad=True)

    def loss_fn() -> torch.Tensor:
        return torch.var(w, dim=0, correction=-1).sum()

    with pytest.raises(ChainruleError) as caught:
        from_torch(loss_fn)
    line = _line_of("torch.var", loss_fn)
    assert str(caught.value).startswith(
        f"torch.var (test_norm.py:{line}) is not supported: it is read as chainrule's var: ")
    assert caught.value.kind == "shape" and len(str(caught.value)) < 300


# ---- the language


def _makemore_batchnorm(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, bngain: np.ndarray,
                        bnbias: np.ndarray, w2: np.ndarray) -> float:
    """Makemore part 4's batchnorm layer in numpy, as the program below writes it."""
    hprebn = x @ w1 + b1
    bnmeani = 1 / 4 * hprebn.sum(axis=0, keepdims=True)
    bndiff = hprebn - bnmeani
    bnvar = 1 / 3 * (bndiff ** 2).sum(axis=0, keepdims=True)
    bnraw = bndiff * (bnvar + 1e-5) ** -0.5
    hpreact = bngain * bnraw + bnbias
    fast = (hprebn - np.mean(hprebn, axis=0, keepdims=True)) / np.sqrt(
        np.var(hprebn, axis=0, keepdims=True) + 1e-5)
    return float(np.sum(np.tanh(hpreact) @ w2) + np.sum(fast * bngain))


MAKEMORE = """hprebn = x @ W1 + b1
bnmeani = 1/4 * hprebn.sum(axis=0, keepdims=True)
bndiff = hprebn - bnmeani
bndiff2 = bndiff ** 2
bnvar = 1/3 * bndiff2.sum(axis=0, keepdims=True)
bnvar_inv = (bnvar + 1e-5) ** -0.5
bnraw = bndiff * bnvar_inv
hpreact = bngain * bnraw + bnbias
v = var(hprebn, axis=0, keepdims=True)
fast = (hprebn - mean(hprebn, axis=0, keepdims=True)) / sqrt(v + 1e-5)
sum(tanh(hpreact) @ W2) + sum(fast * bngain)"""


def test_makemores_batchnorm_written_in_the_language_equals_central_differences() -> None:
    rng = np.random.default_rng(9)
    values = {"x": rng.normal(size=(4, 3)), "W1": rng.normal(size=(3, 5)),
              "b1": rng.normal(size=5), "bngain": rng.uniform(0.5, 1.5, size=(1, 5)),
              "bnbias": rng.normal(size=(1, 5)), "W2": rng.normal(size=(5, 2))}
    result = backprop(MAKEMORE, {k: v.tolist() for k, v in values.items()})
    assert_close(result.output.value, _makemore_batchnorm(*values.values()))
    for name, value in values.items():
        def f(v: np.ndarray, name: str = name) -> float:
            return _makemore_batchnorm(*(v if k == name else a for k, a in values.items()))
        assert_close(np.asarray(result.gradients[name], dtype=float), central_difference(f, value),
                     rtol=1e-5, atol=1e-8)
