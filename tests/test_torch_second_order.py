"""from_torch reads `torch.autograd.grad(..., create_graph=True)` inside a loss as the backward
graph (a gradient penalty, as in WGAN-GP): its gradients equal torch autograd's (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from chainrule import ChainruleError, from_torch
from torch import nn

from .oracles import assert_close, torch_autograd


def _critic(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1)).double()


def _points(seed: int = 1) -> torch.Tensor:
    return torch.randn(6, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _assert_torchs(model: nn.Module, loss_fn: object) -> None:
    result = from_torch(loss_fn, model)  # type: ignore[arg-type]
    loss, grads = torch_autograd(loss_fn, dict(model.named_parameters()))  # type: ignore[arg-type]
    assert_close(result.output.value, loss, rtol=1e-6)
    assert set(result.gradients) == set(grads)
    for name, grad in grads.items():
        assert_close(result.gradients[name], grad, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_wgan_gp_gradient_penalty_has_torchs_gradients(seed: int) -> None:
    model, x = _critic(seed), _points(seed + 10)

    def loss_fn() -> torch.Tensor:
        xx = x.clone().requires_grad_(True)
        f = model(xx)
        g, = torch.autograd.grad(f.sum(), xx, create_graph=True)
        return (g.norm(2, dim=1) - 1).pow(2).mean() + f.mean()

    _assert_torchs(model, loss_fn)


def test_the_backward_pass_is_a_group_of_the_graph() -> None:
    model, x = _critic(), _points()

    def loss_fn() -> torch.Tensor:
        xx = x.clone().requires_grad_(True)
        f = model(xx)
        g, = torch.autograd.grad(f.sum(), xx, create_graph=True)
        return (g ** 2).sum(dim=1).mean()

    result = from_torch(loss_fn, model)
    groups = result.groups
    assert groups is not None and "backward" in groups.kind
    backward = groups.kind.index("backward")
    assert groups.name[backward] == "torch.autograd.grad"
    inside = [n for n, g in zip(result.nodes, groups.node_group, strict=True) if g == backward]
    # upstream × local through tanh, the linears' matmuls by the transposed weights
    assert {"mul", "matmul", "transpose"} <= {n.op for n in inside}
    assert result.check is not None and result.check.ok  # finite differences of the loss


def test_grad_outputs_and_gradients_wrt_parameters_as_in_maml() -> None:
    """The seed given, and the gradient taken with respect to a weight (a step of inner-loop
    descent, then the loss at the stepped weight): second derivatives in the parameters."""
    model, x = _critic(3), _points(4)
    y = torch.sin(x[:, :1])

    def loss_fn() -> torch.Tensor:
        w = model[2].weight
        inner = ((model(x) - y) ** 2).mean()
        g, = torch.autograd.grad(inner, w, grad_outputs=torch.tensor(2.0, dtype=torch.float64),
                                 create_graph=True)
        stepped = w - 0.1 * g
        out = torch.tanh(model[0](x)) @ stepped.T + model[2].bias
        return ((out - y) ** 2).mean()

    _assert_torchs(model, loss_fn)


def test_several_inputs_of_one_grad_call() -> None:
    model, x = _critic(5), _points(6)

    def loss_fn() -> torch.Tensor:
        xx = x.clone().requires_grad_(True)
        h = model[0](xx)
        f = model[2](torch.tanh(h))
        gx, gh = torch.autograd.grad(f.sum(), (xx, h), create_graph=True)
        return (gx ** 2).mean() + torch.linalg.vector_norm(gh) + f.mean()

    _assert_torchs(model, loss_fn)


def test_without_create_graph_it_is_refused() -> None:
    model, x = _critic(), _points()

    def loss_fn() -> torch.Tensor:
        xx = x.clone().requires_grad_(True)
        f = model(xx)
        g, = torch.autograd.grad(f.sum(), xx)
        return (g ** 2).mean() + f.mean()

    with pytest.raises(ChainruleError, match="create_graph=True"):
        from_torch(loss_fn, model)


def test_a_penalty_on_a_classifiers_input_gradient_through_its_cross_entropy() -> None:
    """The cross entropy's log-softmax rows differentiated twice: a penalty on the gradient of a
    3-class classifier's loss with respect to its input, beside the loss itself."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    x, labels = _points(4), torch.tensor([0, 2, 1, 1, 0, 2])

    def loss_fn() -> torch.Tensor:
        xx = x.clone().requires_grad_(True)
        ce = nn.functional.cross_entropy(model(xx), labels)
        g, = torch.autograd.grad(ce, xx, create_graph=True)
        return ce + (g ** 2).sum()

    _assert_torchs(model, loss_fn)


def test_an_op_whose_backward_cannot_be_built_is_named() -> None:
    model, x = _critic(), _points()

    def loss_fn() -> torch.Tensor:
        xx = x.clone().requires_grad_(True)
        f = model(xx)[torch.tensor([0, 0, 2])]  # a gather, its backward a scatter-add
        g, = torch.autograd.grad(f.sum(), xx, create_graph=True)
        return (g ** 2).mean()

    with pytest.raises(ChainruleError, match="gather"):
        from_torch(loss_fn, model)


def test_the_penalty_value_is_torchs() -> None:
    """The tensor standing for the backward nodes holds torch's gradient."""
    model, x = _critic(7), _points(8)
    seen: list[np.ndarray] = []

    def loss_fn() -> torch.Tensor:
        xx = x.clone().requires_grad_(True)
        f = model(xx)
        g, = torch.autograd.grad(f.sum(), xx, create_graph=True)
        seen.append(g.detach().numpy().copy())
        return (g ** 2).mean()

    from_torch(loss_fn, model)
    loss_fn()  # torch's own
    assert_close(seen[0], seen[1], rtol=1e-12)
