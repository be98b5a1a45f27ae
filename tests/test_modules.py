"""Every nn module issue 27 lists, as a user writes a model: in float32 (torch's default dtype,
which the other tests leave for float64), inside a small nn.Sequential with an nn.Linear whose
parameters are differentiated through it, and each loss module after one. Each reads with
torch autograd's gradients to float32's precision and the precision warning (nn.RNN is
test_join's)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from chainrule import from_torch
from torch import nn

from .oracles import assert_close

RTOL = 1e-4  # float32 (eps 1.2e-7) through a few layers, against the largest gradient
Case = Callable[[], tuple[nn.Module, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]]


def _mlp(module: nn.Module, width: int = 6) -> Case:
    """Linear(3, width), the module, Linear(width, 1); a batch of 8; mean of squares."""
    def case() -> tuple[nn.Module, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        model = nn.Sequential(nn.Linear(3, width), module, nn.Linear(width, 1))
        return model, torch.randn(8, 3), lambda out: out.pow(2).mean()
    return case


def _images(*modules: nn.Module, features: int) -> Case:
    """A Conv2d(1, 2, 3), the modules, Flatten and a Linear; two 1×8×8 images."""
    def case() -> tuple[nn.Module, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        model = nn.Sequential(nn.Conv2d(1, 2, 3), *modules, nn.Flatten(),
                              nn.Linear(features, 1))
        return model, torch.randn(2, 1, 8, 8), lambda out: out.pow(2).mean()
    return case


def _signals(module: nn.Module, features: int) -> Case:
    """The module on two 1-channel signals of 9 steps (N, C, L), Flatten and a Linear (a
    Linear before it would need x.transpose(1, 2) of a 3-D tensor, which is not read yet)."""
    def case() -> tuple[nn.Module, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        model = nn.Sequential(module, nn.Flatten(), nn.Linear(features, 1))
        return model, torch.randn(2, 1, 9), lambda out: out.pow(2).mean()
    return case


def _embedding() -> tuple[nn.Module, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.Linear(12, 1))
    return model, torch.randint(0, 10, (8, 3)), lambda out: out.pow(2).mean()


def _loss(loss: nn.Module, target: Callable[[], torch.Tensor], outputs: int = 2,
          before: nn.Module | None = None) -> Case:
    """A Linear(3, outputs) (then `before`) and the loss module against `target()`."""
    def case() -> tuple[nn.Module, torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        layers = [nn.Linear(3, outputs), *([before] if before is not None else [])]
        y = target()
        return nn.Sequential(*layers), torch.randn(8, 3), lambda out: loss(out, y)
    return case


CASES: dict[str, Case] = {
    "Dropout_eval": _mlp(nn.Dropout(0.5)),
    "Dropout_train": _mlp(nn.Dropout(0.3), width=16),
    "BatchNorm1d_train": _mlp(nn.BatchNorm1d(6)),
    "BatchNorm1d_eval": _mlp(nn.BatchNorm1d(6)),
    "BatchNorm2d_train": _images(nn.BatchNorm2d(2), features=72),
    "BatchNorm2d_eval": _images(nn.BatchNorm2d(2), features=72),
    "LayerNorm": _mlp(nn.LayerNorm(6)),
    "Embedding": _embedding,
    "Conv1d_stride_padding": _signals(nn.Conv1d(1, 3, 3, stride=2, padding=1), features=15),
    "Conv2d_stride_padding": _images(nn.Conv2d(2, 3, 3, stride=2, padding=1), features=27),
    "MaxPool2d": _images(nn.MaxPool2d(2), features=18),
    "AvgPool2d": _images(nn.AvgPool2d(2, stride=1), features=50),
    "Flatten": _images(features=72),
    "RNNCell": _mlp(nn.RNNCell(6, 6)),
    "GELU": _mlp(nn.GELU()),
    "SiLU": _mlp(nn.SiLU()),
    "LeakyReLU": _mlp(nn.LeakyReLU(0.2)),
    "ELU": _mlp(nn.ELU()),
    "Softplus": _mlp(nn.Softplus()),
    "BCELoss": _loss(nn.BCELoss(), lambda: torch.rand(8, 2), before=nn.Sigmoid()),
    "BCEWithLogitsLoss": _loss(nn.BCEWithLogitsLoss(), lambda: (torch.rand(8, 2) > 0.5).float()),
    "L1Loss": _loss(nn.L1Loss(), lambda: torch.randn(8, 2)),
    "SmoothL1Loss": _loss(nn.SmoothL1Loss(), lambda: torch.randn(8, 2)),
    "HuberLoss": _loss(nn.HuberLoss(delta=0.5), lambda: torch.randn(8, 2)),
    "MSELoss": _loss(nn.MSELoss(), lambda: torch.randn(8, 2)),
    "CrossEntropyLoss": _loss(nn.CrossEntropyLoss(), lambda: torch.randint(0, 5, (8,)), 5),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_listed_module_in_a_float32_model_has_torchs_gradients(name: str) -> None:
    torch.manual_seed(0)
    model, x, loss = CASES[name]()
    if name.endswith("_eval"):
        model.train()
        model(x)  # one batch through in training: running statistics that are not 0 and 1
        model.eval()

    def loss_fn() -> torch.Tensor:
        torch.manual_seed(1)  # dropout's draw: the same in from_torch's reading and autograd's
        return loss(model(x))

    result = from_torch(loss_fn, model)
    assert [w.kind for w in result.warnings] == ["precision"]
    model.zero_grad()
    expected = loss_fn()
    expected.backward()
    assert_close(result.output.value, float(expected.detach()), rtol=RTOL)
    grads = {k: p.grad.double().numpy() for k, p in model.named_parameters()}
    assert set(result.gradients) == set(grads)
    scale = max(float(np.abs(g).max()) for g in grads.values())
    for k, grad in grads.items():
        assert_close(result.gradients[k], grad, rtol=RTOL, atol=RTOL * scale)
