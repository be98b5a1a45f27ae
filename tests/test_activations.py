"""Activations, clip, where, losses, dropout and data constructors, through the three ways in:
`from_torch` against torch's own autograd, the language and `trace` against central
differences (tests/oracles.py); composites checked to be groups named by their function."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import ChainruleError, backprop, from_torch, trace
from chainrule.answer.models import Answer
from torch import nn

from .oracles import assert_close, central_difference, torch_autograd

# ------------------------------------------------------------------ from_torch vs autograd



def _agrees(result: Answer, loss_fn: Callable[[], torch.Tensor],
            tensors: dict[str, torch.Tensor], rtol: float = 1e-6) -> None:
    loss, grads = torch_autograd(loss_fn, tensors)
    assert_close(result.output.value, loss, rtol=rtol)
    for name, grad in grads.items():
        assert_close(result.gradients[name], grad, rtol=rtol, atol=1e-12)


def _groups(result: Answer) -> list[tuple[str, str, str | None]]:
    """(kind, name, parent's name) of each group of an answer."""
    groups = result.groups
    assert groups is not None
    return [(kind, name, groups.name[parent] if parent >= 0 else None)
            for kind, name, parent in zip(groups.kind, groups.name, groups.parent, strict=True)]


def _ops_in(result: Answer, group: str) -> list[str]:
    """The ops of the nodes in the group named `group` and the groups inside it."""
    groups = result.groups
    assert groups is not None
    inside = {groups.name.index(group)}
    for index, parent in enumerate(groups.parent):
        if parent in inside:
            inside.add(index)
    return [node.op for node, g in zip(result.nodes, groups.node_group, strict=True)
            if g in inside]


def _x(*shape: int, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    x = torch.randn(*shape, dtype=torch.float64) * 2
    # Away from the kinks at 0, ±1 and ±6 (a bound of clip or hardtanh): 1e-3 is far enough
    # for torch's and chainrule's one-sided rules to agree.
    x = torch.where((x.abs() - 1).abs() < 1e-3, x + 0.01, x)
    return torch.where(x.abs() < 1e-3, x + 0.01, x).requires_grad_()


FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "leaky_relu": F.leaky_relu,
    "leaky_relu_0.2": lambda x: F.leaky_relu(x, 0.2),
    "elu": F.elu,
    "elu_alpha": lambda x: F.elu(x, alpha=0.5),
    "softplus": F.softplus,
    "softplus_beta": lambda x: F.softplus(x, beta=2.0),
    "relu6": F.relu6,
    "hardtanh": F.hardtanh,
    "hardtanh_bounds": lambda x: F.hardtanh(x, -0.5, 2.0),
    "clamp": lambda x: torch.clamp(x, -0.5, 0.5),
    "clamp_min": lambda x: x.clamp(min=0.3),
    "clamp_max": lambda x: torch.clamp_max(x, 0.3),
    "clamp_min_method": lambda x: x.clamp_min(-0.2),
    "clip": lambda x: torch.clip(x, max=1.5),
    "erf": torch.erf,
    "where": lambda x: torch.where(x > 0, x, 0.1 * x),
    "where_method": lambda x: (x * 3).where(x < 0.5, x ** 2),
    "d2l_relu": lambda x: torch.max(x, torch.zeros_like(x)),
    "maximum": lambda x: torch.maximum(x, torch.full_like(x, 0.2)),
    "minimum": lambda x: torch.minimum(x, torch.ones_like(x)),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_torch_activations_have_torchs_gradients(name: str) -> None:
    x = _x(4, 5)
    w = torch.randn(5, dtype=torch.float64, requires_grad=True)

    def loss_fn() -> torch.Tensor:
        return (FUNCTIONS[name](x) * w).sum()

    _agrees(from_torch(loss_fn), loss_fn, {"t0": x, "t1": w})


MODULES: dict[str, Callable[[], nn.Module]] = {
    "GELU": nn.GELU, "GELU_tanh": lambda: nn.GELU(approximate="tanh"), "SiLU": nn.SiLU,
    "Mish": nn.Mish, "LeakyReLU": lambda: nn.LeakyReLU(0.1), "ELU": lambda: nn.ELU(0.7),
    "Softplus": nn.Softplus, "ReLU6": nn.ReLU6, "Hardtanh": nn.Hardtanh,
}


@pytest.mark.parametrize("name", list(MODULES))
def test_torch_activation_modules_have_torchs_gradients(name: str) -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 6), MODULES[name](), nn.Linear(6, 1)).double()
    x = torch.randn(8, 3, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        return model(x).pow(2).mean()

    _agrees(from_torch(loss_fn, model), loss_fn, dict(model.named_parameters()))


@pytest.mark.parametrize(("module", "parts"), [
    (nn.GELU, "gelu"), (lambda: nn.GELU(approximate="tanh"), "gelu"), (nn.SiLU, "silu"),
    (nn.Mish, "mish")])
def test_a_composite_module_is_a_box_that_opens_to_its_parts(
        module: Callable[[], nn.Module], parts: str) -> None:
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), module()).double()
    result = from_torch(lambda: model(torch.randn(2, 3, dtype=torch.float64)).sum(), model)
    assert ("function", parts, "model.1") in _groups(result)
    ops = _ops_in(result, parts)
    assert len([op for op in ops if op not in ("const", "input")]) >= 2  # its parts
    expected = {"gelu": {"erf", "mul"}, "silu": {"sigmoid", "mul"},
                "mish": {"softplus", "tanh", "mul"}}[parts]
    if parts == "gelu" and "tanh" in ops:
        expected = {"tanh", "pow", "mul"}
    assert expected <= set(ops)


def test_exact_gelu_opens_to_erf_and_tanh_gelu_to_tanh() -> None:
    x = _x(3)
    exact = from_torch(lambda: F.gelu(x).sum())
    approximate = from_torch(lambda: F.gelu(x, approximate="tanh").sum())
    assert "erf" in _ops_in(exact, "gelu") and "tanh" not in _ops_in(exact, "gelu")
    assert "tanh" in _ops_in(approximate, "gelu")


LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "bce": lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y),
    "bce_sum": lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y, reduction="sum"),
    "bce_none": lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y,
                                                    reduction="none").sum(),
    "bce_logits": F.binary_cross_entropy_with_logits,
    "bce_logits_sum": lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="sum"),
    "bce_logits_none": lambda z, y: (F.binary_cross_entropy_with_logits(
        z, y, reduction="none") ** 2).sum(),
    "bce_logits_large": lambda z, y: F.binary_cross_entropy_with_logits(z * 30, y),
    "l1": F.l1_loss,
    "l1_sum": lambda z, y: F.l1_loss(z, y, reduction="sum"),
    "l1_none": lambda z, y: F.l1_loss(z, y, reduction="none").pow(2).sum(),
    "smooth_l1": F.smooth_l1_loss,
    "smooth_l1_beta": lambda z, y: F.smooth_l1_loss(z, y, beta=0.5, reduction="sum"),
    "smooth_l1_beta0": lambda z, y: F.smooth_l1_loss(z, y, beta=0.0),
    "smooth_l1_none": lambda z, y: F.smooth_l1_loss(z, y, reduction="none").pow(2).sum(),
    "huber": F.huber_loss,
    "huber_delta": lambda z, y: F.huber_loss(z, y, delta=0.3, reduction="sum"),
    "BCELoss": lambda z, y: nn.BCELoss()(torch.sigmoid(z), y),
    "BCEWithLogitsLoss": lambda z, y: nn.BCEWithLogitsLoss(reduction="sum")(z, y),
    "L1Loss": lambda z, y: nn.L1Loss()(z, y),
    "SmoothL1Loss": lambda z, y: nn.SmoothL1Loss(beta=2.0)(z, y),
    "HuberLoss": lambda z, y: nn.HuberLoss(delta=0.5)(z, y),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_torch_losses_have_torchs_gradients(name: str) -> None:
    torch.manual_seed(2)
    model = nn.Linear(3, 2).double()
    x = torch.randn(16, 3, dtype=torch.float64)
    y = torch.rand(16, 2, dtype=torch.float64)
    if name.startswith(("bce", "BCE")):
        y = (y > 0.5).double() if name.endswith("sum") else y

    def loss_fn() -> torch.Tensor:
        return LOSSES[name](model(x), y)

    _agrees(from_torch(loss_fn, model), loss_fn, dict(model.named_parameters()))


@pytest.mark.parametrize(("call", "group"), [
    (lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y), "binary_cross_entropy"),
    (F.binary_cross_entropy_with_logits, "binary_cross_entropy_with_logits"),
    (F.l1_loss, "l1_loss"), (F.smooth_l1_loss, "smooth_l1_loss"), (F.huber_loss, "huber_loss")])
def test_a_loss_is_a_loss_group_of_its_parts(call: Any, group: str) -> None:
    z = _x(4, 2)
    result = from_torch(lambda: call(z, torch.rand(4, 2, dtype=torch.float64)))
    assert ("loss", group, None) in _groups(result)
    assert "mean" in _ops_in(result, group)


def test_bce_with_logits_is_softplus_minus_z_times_y() -> None:
    z = _x(5)
    result = from_torch(lambda: F.binary_cross_entropy_with_logits(z, torch.ones(5).double()))
    ops = _ops_in(result, "binary_cross_entropy_with_logits")
    assert {"softplus", "mul", "sub", "mean"} <= set(ops)


# ------------------------------------------------------------------ dropout


def test_dropout_in_eval_mode_is_the_identity() -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 1)).double()
    model.eval()
    x = torch.randn(6, 4, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        return model(x).pow(2).mean()

    result = from_torch(loss_fn, model)
    _agrees(result, loss_fn, dict(model.named_parameters()))
    assert "dropout" not in [name for _, name, _ in _groups(result)]
    eval_nodes = len(result.nodes)
    for call in (lambda t: F.dropout(t, 0.5, training=False), lambda t: F.dropout(t, p=0.0)):
        x0 = _x(3)
        assert len(from_torch(lambda call=call, x0=x0: call(x0).sum()).nodes) == 2 < eval_nodes


def test_dropout_in_training_uses_torchs_own_mask_as_data() -> None:
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1)).double()
    model.train()
    x = torch.randn(10, 4, dtype=torch.float64)
    seen: list[torch.Tensor] = []

    def loss_fn() -> torch.Tensor:
        torch.manual_seed(7)  # the same draw in from_torch's reading and in autograd's run
        out = model(x).pow(2).mean()
        seen.append(out.detach())
        return out

    result = from_torch(loss_fn, model)
    _agrees(result, loss_fn, dict(model.named_parameters()))
    assert ("function", "dropout", "model.2") in _groups(result)
    mask = next(node for node, g in zip(result.nodes, result.groups.node_group, strict=True)
                if node.op == "const" and g == result.groups.name.index("dropout"))
    values = np.asarray(mask.value)
    assert set(np.unique(values)) <= {0.0, 1 / 0.7} and 0 < (values == 0).mean() < 1


def test_dropout_mask_is_torchs_even_where_the_input_is_zero() -> None:
    x = torch.tensor([0.0, 0.0, 1.0, 2.0, 0.0, -1.0, 3.0, 0.5], dtype=torch.float64,
                     requires_grad=True)
    w = torch.arange(1.0, 9.0, dtype=torch.float64).requires_grad_()  # x[0] = 0 is kept

    def loss_fn() -> torch.Tensor:
        torch.manual_seed(11)
        return (F.dropout(x * w, 0.5) * torch.arange(1.0, 9.0, dtype=torch.float64)).sum()

    _agrees(from_torch(loss_fn), loss_fn, {"t0": x, "t1": w})


def test_dropout_leaves_torchs_random_state_as_the_call_left_it() -> None:
    x = _x(50)
    torch.manual_seed(5)
    F.dropout(x, 0.5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    from_torch(lambda: F.dropout(x, 0.5).sum())
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------------ data constructors


def test_data_constructors_are_constants() -> None:
    x = _x(3, 4)

    def loss_fn() -> torch.Tensor:
        onehot = F.one_hot(torch.tensor([0, 2, 3]), 4).double()
        mask = (x > 0).double()
        return ((x * onehot).sum() + (x * mask).sum() + (x * torch.ones_like(x)).sum()
                + (x @ torch.eye(4, dtype=torch.float64)).sum()
                + (x * torch.arange(4, dtype=torch.float64)).sum()
                + (x * torch.full((3, 4), 2.0, dtype=torch.float64)).sum()
                + (x * torch.zeros(3, 4, dtype=torch.float64)).sum())

    result = from_torch(loss_fn)
    _agrees(result, loss_fn, {"t0": x})
    assert result.gradients.keys() == {"t0"}


def test_d2l_relu_from_scratch_reads_as_written() -> None:
    torch.manual_seed(6)
    W1 = (torch.randn(4, 8, dtype=torch.float64) * 0.1).requires_grad_()
    b1 = torch.zeros(8, dtype=torch.float64, requires_grad=True)
    W2 = (torch.randn(8, 3, dtype=torch.float64) * 0.1).requires_grad_()
    b2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    X, y = torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 2, 1, 1, 0])

    def relu(X: torch.Tensor) -> torch.Tensor:
        a = torch.zeros_like(X)
        return torch.max(X, a)

    def loss_fn() -> torch.Tensor:
        H = relu(X @ W1 + b1)
        return F.cross_entropy(H @ W2 + b2, y)

    _agrees(from_torch(loss_fn), loss_fn, {"t0": W1, "t1": b1, "t2": W2, "t3": b2})


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize("call", [
    lambda x: F.softplus(x, threshold=5),
    lambda x: F.binary_cross_entropy_with_logits(x, torch.ones(3).double(),
                                                 pos_weight=torch.ones(3).double()),
    lambda x: F.binary_cross_entropy(torch.sigmoid(x), torch.ones(3).double(),
                                     weight=torch.ones(3).double()),
    lambda x: F.leaky_relu(x * 1, 0.1, inplace=True),
    lambda x: torch.clamp(x, min=torch.zeros(3).double()),
    lambda x: F.huber_loss(x, torch.ones(3).double(), weight=torch.ones(3).double()),
])
def test_options_chainrule_does_not_read_are_refused(call: Any) -> None:
    x = _x(3)
    with pytest.raises(ChainruleError, match="is not supported"):
        from_torch(lambda: call(x).sum())


def test_a_float32_model_with_an_activation_agrees_to_float32_precision() -> None:
    torch.manual_seed(8)
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Dropout(0.2), nn.Linear(4, 1))
    x = torch.randn(5, 3)

    def loss_fn() -> torch.Tensor:
        torch.manual_seed(9)
        return F.binary_cross_entropy_with_logits(model(x), torch.ones(5, 1))

    _agrees(from_torch(loss_fn, model), loss_fn, dict(model.named_parameters()), rtol=1e-4)


# ------------------------------------------------------------------ the language


def _np_gelu(x: np.ndarray) -> np.ndarray:
    from math import erf
    return x * 0.5 * (1 + np.vectorize(erf)(x / np.sqrt(2)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


LANGUAGE: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {
    "clip": ("sum(clip(x, 0, 0.5) * w)", lambda x: np.clip(x, 0, 0.5)),
    "clip_keywords": ("sum(clip(x, min=-0.5) * w)", lambda x: np.maximum(x, -0.5)),
    "clip_max": ("sum(clip(x, max=0.25) * w)", lambda x: np.minimum(x, 0.25)),
    "leaky_relu": ("sum(leaky_relu(x, 0.1) * w)", lambda x: np.where(x > 0, x, 0.1 * x)),
    "leaky_relu_default": ("sum(leaky_relu(x) * w)", lambda x: np.where(x > 0, x, 0.01 * x)),
    "elu": ("sum(elu(x, alpha=0.5) * w)", lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    "softplus": ("sum(softplus(x) * w)", lambda x: np.log1p(np.exp(x))),
    "erf": ("sum(erf(x) * w)", lambda x: np.vectorize(__import__("math").erf)(x)),
    "gelu": ("sum(gelu(x) * w)", _np_gelu),
    "silu": ("sum(silu(x) * w)", lambda x: x * _sigmoid(x)),
    "mish": ("sum(mish(x) * w)", lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    "where": ("sum(where(m, x, 2 * x ** 2) * w)",
              lambda x: np.where(np.array([1.0, 0, 0, 1, 1]) != 0, x, 2 * x**2)),
}


@pytest.mark.parametrize("name", list(LANGUAGE))
def test_the_language_reads_activations_as_numpy_spells_them(name: str) -> None:
    source, reference = LANGUAGE[name]
    x = np.array([-1.3, -0.2, 0.35, 0.9, 2.1])
    w = np.array([0.5, -1.0, 2.0, 1.5, -0.7])
    m = np.array([1.0, 0, 0, 1, 1])
    result = backprop(source, x=x, w=w, m=m)
    expected = central_difference(lambda v: float(np.sum(reference(v) * w)), x)
    assert_close(result.gradients["x"], expected, rtol=1e-6, atol=1e-8)
    assert result.check is not None and result.check.ok
    if "m" in result.gradients:
        assert np.all(np.asarray(result.gradients["m"]) == 0)  # a condition: data


@pytest.mark.parametrize("name", ["gelu", "silu", "mish"])
def test_a_composite_in_the_language_is_a_function_group(name: str) -> None:
    result = backprop(f"y = {name}(x) * 2", x=0.7)
    assert ("function", name, "y") in _groups(result)
    assert len([op for op in _ops_in(result, name) if op not in ("const", "input")]) >= 2


def test_a_clip_at_its_bound_says_which_side_is_which() -> None:
    lower = backprop("clip(x, 0, 6)", x=0.0).warnings
    upper = backprop("clip(x, 0, 6)", x=6.0).warnings
    assert [w.kink.inputs[0].left for w in lower] == [0.0]
    assert [w.kink.inputs[0].left for w in upper] == [1.0]
    assert backprop("leaky_relu(x, 0.2)", x=0.0).warnings[0].kink.inputs[0].taken == 0.2


@pytest.mark.parametrize(("source", "message"), [
    ("clip(x, 0, 1, 2)", "at most 2 parameters"),
    ("leaky_relu(x, slope=0.1)", "no parameter 'slope'"),
    ("clip(x, y, 1)", "literal number"),
    ("gelu(x, 2)", "takes 1 argument"),
    ("elu(x, alpha=True)", "finite number"),
])
def test_the_language_refuses_what_it_does_not_read(source: str, message: str) -> None:
    with pytest.raises(ChainruleError, match=message):
        backprop(source, x=0.5, y=1.0)


# ------------------------------------------------------------------ trace


def test_trace_reads_clip_where_and_zeros_like() -> None:
    def f(x: np.ndarray, w: np.ndarray) -> Any:
        mask = np.array([1.0, 0.0, 1.0, 0.0])
        h = np.clip(x * w, -0.5, 0.5) + np.where(mask, x, w) + np.zeros_like(x)
        h = h + np.clip(x, a_min=0.1, a_max=None) + np.clip(w, max=1.0)
        return np.sum(np.maximum(h, np.ones_like(h) * 0.1) ** 2 + np.full_like(h, 3.0))

    x = np.array([0.3, -0.8, 1.2, 0.05])
    w = np.array([0.9, 0.4, -0.3, 2.0])
    result = trace(f, x=x, w=w)
    assert result.output.value == pytest.approx(float(f(x, w)))
    assert_close(result.gradients["x"], central_difference(lambda v: float(f(v, w)), x))
    assert_close(result.gradients["w"], central_difference(lambda v: float(f(x, v)), w))


def test_a_step_on_a_kink_says_the_nodes_own_numbers() -> None:
    steps = backprop("y = leaky_relu(x, 0.2) + clip(x, -1, 0)", x=0.0).backward
    texts = [t.text for s in steps for t in (s.terms or [])]
    assert any("leaky_relu'(0) is taken as 0.2; from the left 0.2, from the right 1" in t
               for t in texts)
    upper = [t.text for s in backprop("clip(x, -1, 0) * 2", x=0.0).backward
             for t in (s.terms or [])]
    assert any("clip'(0) is taken as 1; from the left 1, from the right 0" in t for t in upper)


@pytest.mark.parametrize("source", [
    "clip(x, -0.5, 0.5) * leaky_relu(y, 0.3) + elu(x * y, alpha=2)",
    "gelu(x) * silu(y) + erf(x - y)",
    "where(c, x * y, exp(y)) + softplus(x)",
])
def test_forward_mode_and_the_three_ways_agree_on_activations(source: str,
                                                               client: Any) -> None:
    values = {"x": 0.4, "y": -0.7, "c": 1.0}
    reverse = backprop(source, values)
    for name in ("x", "y"):
        forward = backprop(source, values, mode="forward", wrt=name, check=False)
        assert forward.tangent is not None
        assert_close(forward.tangent.derivative, reverse.gradients[name])
    body = client.post("/api/v1/methods", json={"source": source, "values": values})
    assert body.status_code == 200, body.text
    for entry in body.json()["inputs"]:
        assert_close(entry["symbolic"]["value"], reverse.gradients[entry["name"]], rtol=1e-9)
        assert_close(entry["backprop"], reverse.gradients[entry["name"]], rtol=1e-12)


def test_the_language_takes_numpys_names_and_composites_as_methods() -> None:
    """`maximum(x, 0)` and `minimum` as numpy spells them; `x.gelu()` and `x.silu()` as
    methods, as micrograd writes `x.relu()`; against central differences."""
    erf = np.vectorize(math.erf)

    def fun(x: np.ndarray) -> float:
        gelu = x * 0.5 * (1 + erf(x / np.sqrt(2)))
        silu = x / (1 + np.exp(-x))
        return float(np.sum(np.maximum(x, 0) + np.minimum(x, 1) + gelu * silu))

    x = np.array([0.5, -2.0, 1.3])
    result = backprop("sum(maximum(x, 0) + minimum(x, 1) + x.gelu() * x.silu())", x=x.tolist())
    assert_close(result.output.value, fun(x))
    assert_close(np.asarray(result.gradients["x"]), central_difference(fun, x), rtol=1e-6)
