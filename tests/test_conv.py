"""Convolution and pooling (conv2d, conv1d, max_pool2d, avg_pool2d) through the ways in: the
PyTorch tutorials' LeNet and CIFAR-10 net read by `from_torch` as written (against torch
autograd), and the language's conv2d and pooling (against central differences of torch's own
forward). The op table's own check of their rules is tests/test_ops.py's."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import ChainruleError, backprop, from_torch
from chainrule.answer.models import Answer
from chainrule.settings import LIMITS
from torch import nn

from .oracles import assert_close, central_difference


def _assert_torchs_gradients(result: Answer, loss_fn: Callable[[], torch.Tensor],
                             model: nn.Module) -> None:
    """The loss and every parameter's gradient equal torch autograd's (relative 1e-6)."""
    model.zero_grad()
    loss = loss_fn()
    loss.backward()
    assert_close(result.output.value, float(loss.detach()), rtol=1e-6)
    params = dict(model.named_parameters())
    assert set(result.gradients) == set(params)
    for name, p in params.items():
        assert p.grad is not None
        assert_close(result.gradients[name], p.grad.numpy(), rtol=1e-6, atol=1e-12)


def _by_group(result: Answer) -> dict[str | None, list[str]]:
    """The ops of the nodes in each group, by the group's name."""
    groups = result.groups
    assert groups is not None
    ops = json.loads(result.compact_json())["columns"]["nodes"]["op"]
    out: dict[str | None, list[str]] = {}
    for op, g in zip(ops, groups.node_group, strict=True):
        out.setdefault(groups.name[g] if g >= 0 else None, []).append(op)
    return out


# ------------------------------------------------------------------ the tutorials' networks


class LeNet(nn.Module):
    """The "Neural Networks" tutorial's Net, as written there."""

    def __init__(self):
        super(LeNet, self).__init__()  # noqa: UP008 (as the tutorial writes it)
        # 1 input image channel, 6 output channels, 5x5 square convolution
        # kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        # Max pooling over a (2, 2) window
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        # If the size is a square, you can specify with a single number
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)  # flatten all dimensions except the batch dimension
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


class CifarNet(nn.Module):
    """The "Training a classifier" tutorial's Net for CIFAR-10, as written there (`view` is
    the tutorial's older spelling of the flatten)."""

    def __init__(self, flatten: str = "flatten"):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.flatten = flatten

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        if self.flatten == "view":
            x = x.view(-1, 16 * 5 * 5)
        else:
            x = torch.flatten(x, 1)  # flatten all dimensions except batch
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x


def test_the_neural_networks_tutorials_lenet_has_torchs_gradients() -> None:
    torch.manual_seed(0)
    net = LeNet().double()
    input = torch.randn(1, 1, 32, 32, dtype=torch.double)
    target = torch.randn(10, dtype=torch.double)  # a dummy target, for example
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()

    def loss_fn() -> torch.Tensor:
        output = net(input)
        return criterion(output, target)

    result = from_torch(loss_fn, net)
    _assert_torchs_gradients(result, loss_fn, net)
    assert result.check is not None and result.check.ok
    assert not result.warnings


@pytest.mark.parametrize("flatten", ["flatten", "view"])
def test_the_cifar10_tutorials_net_has_torchs_gradients(flatten: str) -> None:
    torch.manual_seed(1)
    net = CifarNet(flatten).double()
    inputs = torch.randn(4, 3, 32, 32, dtype=torch.double)
    labels = torch.tensor([3, 8, 0, 6])
    criterion = nn.CrossEntropyLoss()

    def loss_fn() -> torch.Tensor:
        outputs = net(inputs)
        return criterion(outputs, labels)

    result = from_torch(loss_fn, net, check=False)
    _assert_torchs_gradients(result, loss_fn, net)


def test_a_conv_module_is_a_group_that_opens_to_the_convolution_and_its_bias() -> None:
    torch.manual_seed(2)
    net = CifarNet().double()
    x, labels = torch.randn(2, 3, 32, 32, dtype=torch.double), torch.tensor([1, 2])
    groups = _by_group(from_torch(lambda: F.cross_entropy(net(x), labels), net, check=False))
    # the constant x is placed where it is first used; the bias is added as (6, 1, 1)
    assert [op for op in groups["model.conv1"] if op != "const"] == ["conv2d", "reshape", "add"]
    assert [op for op in groups["model.conv2"] if op != "const"] == ["conv2d", "reshape", "add"]
    assert groups["model.pool"] == ["max_pool2d", "max_pool2d"]  # one module, called twice


def test_strides_paddings_average_pooling_flatten_and_conv1d_have_torchs_gradients() -> None:
    torch.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.Tanh(),
        nn.Conv2d(4, 3, (3, 2), stride=(1, 2), padding=(1, 0), bias=False),
        nn.AvgPool2d(2), nn.MaxPool2d(3, stride=1, padding=1), nn.AvgPool2d(3, 2, 1),
        nn.Flatten()).double()
    conv1d = nn.Conv1d(1, 2, 3, stride=2, padding=1).double()
    both = nn.ModuleDict({"net": model, "conv1d": conv1d})
    x = torch.randn(2, 2, 12, 11, dtype=torch.double)

    def loss_fn() -> torch.Tensor:
        h = model(x)  # (2, 3 * 2 * 1)
        return (conv1d(h.unsqueeze(1)) ** 2).mean()

    _assert_torchs_gradients(from_torch(loss_fn, both), loss_fn, both)


def test_an_unbatched_image_has_torchs_gradients() -> None:
    torch.manual_seed(4)
    w = torch.randn(2, 3, 3, 3, dtype=torch.double, requires_grad=True)
    x = torch.randn(3, 7, 7, dtype=torch.double, requires_grad=True)

    def loss_fn() -> torch.Tensor:
        return F.max_pool2d(torch.conv2d(x, w, padding=1), 2).sin().sum()

    result = from_torch(loss_fn)
    loss = loss_fn()
    loss.backward()
    assert x.grad is not None and w.grad is not None
    assert_close(result.gradients["t0"], x.grad.numpy(), rtol=1e-6, atol=1e-12)
    assert_close(result.gradients["t1"], w.grad.numpy(), rtol=1e-6, atol=1e-12)


W = torch.randn(2, 2, 3, 3, dtype=torch.double, requires_grad=True)
W1 = torch.randn(2, 1, 3, 3, dtype=torch.double, requires_grad=True)  # for two groups
X = torch.randn(1, 2, 6, 6, dtype=torch.double)


@pytest.mark.parametrize(("loss_fn", "says"), [
    (lambda: F.conv2d(X, W, dilation=2).sum(), "dilation=2"),
    (lambda: F.conv2d(X, W1, groups=2).sum(), "groups=2"),
    (lambda: F.conv2d(X, W, padding="same").sum(), "padding='same'"),
    (lambda: F.max_pool2d(F.conv2d(X, W), 2, ceil_mode=True).sum(), "ceil_mode=True"),
    (lambda: F.avg_pool2d(F.conv2d(X, W), 2, padding=1, count_include_pad=False).sum(),
     "count_include_pad=False"),
    (lambda: F.max_pool2d(F.conv2d(X, W), 2, dilation=2).sum(), "dilation=2"),
])
def test_what_conv_and_pooling_options_change_is_refused_by_name(
        loss_fn: Callable[[], torch.Tensor], says: str) -> None:
    with pytest.raises(ChainruleError) as caught:
        from_torch(loss_fn)
    assert says in str(caught.value) and "test_conv.py" in str(caught.value)


# ------------------------------------------------------------------------------ the language


def _torch_fn(source: Callable[..., torch.Tensor]) -> Callable[..., float]:
    """A scalar function of numpy arrays computed by torch (the finite differences' oracle)."""
    def f(*arrays: np.ndarray) -> float:
        with torch.no_grad():
            return float(source(*(torch.from_numpy(np.asarray(a)) for a in arrays)))
    return f


# The language, and the same computation with torch's own functions.
PROGRAMS: list[tuple[str, Callable[..., Any]]] = [
    ("sum(conv2d(x, w) ** 2)", lambda x, w: (F.conv2d(x, w) ** 2).sum()),
    ("h = conv2d(x, w, stride=2, padding=1)\nsum(tanh(h))",
     lambda x, w: torch.tanh(F.conv2d(x, w, stride=2, padding=1)).sum()),
    ("sum(max_pool2d(tanh(conv2d(x, w, 1, 1)), 2) * 3)",
     lambda x, w: (F.max_pool2d(torch.tanh(F.conv2d(x, w, padding=1)), 2) * 3).sum()),
    ("p = max_pool2d(conv2d(x, w), kernel_size=2, stride=1)\nsum(p ** 2)",
     lambda x, w: (F.max_pool2d(F.conv2d(x, w), 2, stride=1) ** 2).sum()),
    ("sum(avg_pool2d(conv2d(x, w, padding=1) ** 2, 3, 2, 1))",
     lambda x, w: F.avg_pool2d(F.conv2d(x, w, padding=1) ** 2, 3, 2, 1).sum()),
]


@pytest.mark.parametrize(("source", "fun"), PROGRAMS)
def test_the_languages_conv2d_and_pooling_match_central_differences(
        source: str, fun: Callable[..., torch.Tensor]) -> None:
    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(2, 2, 7, 7)), rng.normal(size=(3, 2, 3, 3))
    result = backprop(source, x=x.tolist(), w=w.tolist())
    assert result.check is not None and result.check.ok
    f = _torch_fn(fun)
    assert_close(result.output.value, f(x, w), rtol=1e-10)
    assert_close(result.gradients["x"], central_difference(lambda v: f(v, w), x), rtol=1e-5,
                 atol=1e-7)
    assert_close(result.gradients["w"], central_difference(lambda v: f(x, v), w), rtol=1e-5,
                 atol=1e-7)


def test_a_nodes_formula_says_its_stride_padding_and_kernel() -> None:
    result = backprop("sum(max_pool2d(conv2d(x, w, stride=2, padding=1), 2))",
                      x=np.ones((1, 1, 6, 6)).tolist(), w=np.ones((2, 1, 3, 3)).tolist())
    nodes = json.loads(result.compact_json())["columns"]["nodes"]
    assert "conv2d(x, w, stride=2, padding=1)" in nodes["expr"]
    pooled = backprop("sum(max_pool2d(x, 2, padding=1))", x=np.ones((1, 1, 6, 6)).tolist())
    pooled_nodes = json.loads(pooled.compact_json())["columns"]["nodes"]
    assert "max_pool2d(x, kernel_size=2, padding=1)" in pooled_nodes["expr"]
    assert {"kernel_size": 2, "padding": 1} in pooled_nodes["params"].values()


def test_the_backward_steps_say_what_the_gradients_are() -> None:
    result = backprop("sum(max_pool2d(conv2d(x, w), 2))", x=np.ones((1, 1, 5, 5)).tolist(),
                      w=np.ones((1, 1, 2, 2)).tolist())
    rules = [t.rule.plain for step in result.backward for t in step.terms]
    assert "the upstream convolved with the flipped w" in rules
    assert "x correlated with the upstream" in rules
    assert any("routed to each window's maximum" in r for r in rules)


def test_a_tie_in_a_window_splits_its_gradient_evenly() -> None:
    x = [[[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, 2.0, 0.0]]]]
    result = backprop("sum(max_pool2d(x, 2))", x=x, check=False)
    assert_close(result.gradients["x"], [[[[0.25, 0.25, 0, 0.5], [0.25, 0.25, 0.5, 0]]]])


@pytest.mark.parametrize(("source", "wrong"), [
    ("sum(max_pool2d(x))", "max_pool2d(x)"),
    ("sum(conv2d(x, w, stride=0))", "stride=0"),
    ("sum(max_pool2d(x, 2, 1, 0, 1))", "1"),
    ("sum(conv2d(w, x))", "conv2d(w, x)"),
    ("sum(max_pool2d(x, 2, padding=2))", "max_pool2d(x, 2, padding=2)"),
    ("sum(conv2d(x, w, stride=w))", "w"),
    ("sum(conv2d(x, w, stride=None))", "conv2d(x, w, stride=None)"),
    ("sum(avg_pool2d(x, 7))", "avg_pool2d(x, 7)"),
])
def test_a_wrong_window_is_refused_at_its_span(source: str, wrong: str) -> None:
    with pytest.raises(ChainruleError) as caught:
        backprop(source, x=np.ones((1, 2, 6, 6)).tolist(), w=np.ones((3, 2, 3, 3)).tolist())
    start, end = caught.value.span  # type: ignore[misc]
    assert source[start:end] == wrong, caught.value


def test_params_given_by_position_make_no_node_in_the_count_before_parsing() -> None:
    # x, the pooling and the sum: 3 nodes; the literals 2, 1 and 0 are its params.
    tight = replace(LIMITS, max_nodes=3)
    result = backprop("sum(max_pool2d(x, 2, 1, 0))", x=np.ones((1, 3, 3)).tolist(),
                      limits=tight, check=False)
    assert len(result.nodes) == 3
    with pytest.raises(ChainruleError, match="more than 3 nodes"):
        backprop("sum(max_pool2d(x, 2) * 2)", x=np.ones((1, 3, 3)).tolist(), limits=tight)
