"""One way in: every reader takes every option the text path has.

For a traced numpy function, a micrograd graph and a torch model, forward mode, a seed, the
Jacobian and a chosen `output` answer what `backprop(src, ...)` answers for the same function
written in the language, and what an independent oracle says: finite differences or sympy
(numpy, micrograd), micrograd's own `backward()`, torch's autograd (`torch.autograd.functional`'s
`jvp` and `jacobian`, `backward` with a gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import ChainruleError, backprop, from_micrograd, from_torch, trace
from chainrule.answer.models import Answer
from chainrule.core.numbers import decode
from micrograd.engine import Value
from torch import nn

from .oracles import assert_close, central_difference, sympy_gradients
from .test_jacobian import numeric_jacobian


def _block(result: Answer, name: str) -> np.ndarray:
    """The Jacobian's columns of one input, as rows × that input's elements."""
    assert result.jacobian is not None
    matrix = np.asarray(decode(result.jacobian.matrix), dtype=float).reshape(
        result.jacobian.rows, result.jacobian.columns)
    block = next(b for b in result.jacobian.inputs if b.name == name)
    return matrix[:, block.offset:block.offset + int(np.prod(block.shape))]


def _assert_same_gradients(result: Answer, text: Answer, names: dict[str, str]) -> None:
    """Each of the reader's inputs has the text path's gradient (`names`: reader's -> text's)."""
    for ours, theirs in names.items():
        assert_close(decode(result.gradients[ours]), decode(text.gradients[theirs]))


# ------------------------------------------------------------------ a traced numpy function

NUMPY_VALUES = {"W": [[0.5, -1.0, 0.25], [1.5, 0.3, -0.7]], "x": [0.2, -0.4, 0.9],
                "b": [0.1, -0.2]}
LAYER_SOURCE = "h = tanh(W @ x + b)\nsum(h * h)"


def layer(W: Any, x: Any, b: Any) -> Any:
    h = np.tanh(W @ x + b)
    return np.sum(h * h)


def layer_out(W: Any, x: Any) -> Any:
    return np.sin(W @ x)


def two_steps(x: Any, y: Any) -> Any:
    a = np.sin(x * y)
    b = a * a + x
    return np.exp(b)


TWO_STEPS_SOURCE = "a = sin(x*y)\nb = a*a + x\nexp(b)"
SAME = {"W": "W", "x": "x", "b": "b"}


def _layer_at(name: str, value: np.ndarray) -> float:
    arrays = {k: np.asarray(v, dtype=float) for k, v in NUMPY_VALUES.items()}
    return float(layer(**{**arrays, name: value}))


@pytest.mark.parametrize("wrt", ["W", "x", "b"])
def test_a_traced_function_in_forward_mode(wrt: str) -> None:
    result = trace(layer, NUMPY_VALUES, mode="forward", wrt=wrt)
    text = backprop(LAYER_SOURCE, NUMPY_VALUES, mode="forward", wrt=wrt)
    assert result.tangent is not None and text.tangent is not None
    assert_close(result.tangent.derivative, text.tangent.derivative)
    along_ones = central_difference(lambda t: _layer_at(
        wrt, np.asarray(NUMPY_VALUES[wrt], dtype=float) + t), np.zeros(()))
    assert_close(result.tangent.derivative, along_ones, rtol=1e-5)


def test_a_traced_function_with_a_seed() -> None:
    result = trace(layer, NUMPY_VALUES, seed=2.5)
    _assert_same_gradients(result, backprop(LAYER_SOURCE, NUMPY_VALUES, seed=2.5), SAME)
    assert_close(decode(result.gradients["W"]), 2.5 * central_difference(
        lambda w: _layer_at("W", w), np.asarray(NUMPY_VALUES["W"])), rtol=1e-5)


def test_a_traced_array_output_with_a_seed_is_swept_from_it() -> None:
    values, seed = {k: NUMPY_VALUES[k] for k in ("W", "x")}, [1.0, -2.0]
    result = trace(layer_out, values, seed=seed)
    assert result.output.shape == [2]
    _assert_same_gradients(result, backprop("sin(W @ x)", values, seed=seed),
                           {"W": "W", "x": "x"})
    assert_close(decode(result.gradients["x"]), central_difference(
        lambda x: float(np.dot(seed, layer_out(np.asarray(values["W"]), x))),
        np.asarray(values["x"])), rtol=1e-5)


def test_a_traced_array_output_answers_its_jacobian() -> None:
    values = {k: NUMPY_VALUES[k] for k in ("W", "x")}
    result = trace(layer_out, values, jacobian=True)
    text = backprop("sin(W @ x)", values)
    oracle = numeric_jacobian(layer_out, values["W"], values["x"])
    for name, columns in (("W", slice(0, 6)), ("x", slice(6, 9))):
        assert_close(_block(result, name), _block(text, name))
        assert_close(_block(result, name), oracle[:, columns], rtol=1e-5)


def test_a_traced_scalar_output_answers_its_jacobian_as_one_row() -> None:
    result = trace(layer, NUMPY_VALUES, jacobian=True)
    assert result.jacobian is not None and result.jacobian.rows == 1
    assert_close(_block(result, "b")[0], decode(result.gradients["b"]))
    assert_close(_block(result, "b"), _block(backprop(LAYER_SOURCE, NUMPY_VALUES,
                                                      jacobian=True), "b"))


def test_a_traced_function_differentiates_a_local_variable_as_its_output() -> None:
    result = trace(two_steps, x=0.5, y=-1.2, output="b")
    text = backprop(TWO_STEPS_SOURCE, x=0.5, y=-1.2, output="b")
    assert result.output.label == "b" and result.output.value == text.output.value
    _assert_same_gradients(result, text, {"x": "x", "y": "y"})
    expected = sympy_gradients("a = sin(x*y)\nb = a*a + x", {"x": 0.5, "y": -1.2})
    assert_close(result.gradients["x"], expected["x"])
    assert_close(result.gradients["y"], expected["y"])


def test_an_output_the_reader_did_not_name_is_refused_with_the_names_it_did() -> None:
    with pytest.raises(ChainruleError, match="the values named here are: a, b") as info:
        trace(two_steps, x=0.5, y=-1.2, output="c")
    assert info.value.kind == "unknown_name"
    with pytest.raises(ChainruleError, match="x is an input"):
        trace(two_steps, x=0.5, y=-1.2, output="x")


def test_a_traced_array_output_without_a_seed_or_the_jacobian_is_still_refused() -> None:
    with pytest.raises(ChainruleError, match="needs the output to be a scalar"):
        trace(layer_out, {k: NUMPY_VALUES[k] for k in ("W", "x")})


# ------------------------------------------------------------------ a micrograd graph

MICROGRAD_SOURCE = "a = x*y + x**2\nb = a*a + y\nb*3 + a"
POINT = {"x": 0.5, "y": -1.2}


def _micrograd_loss() -> tuple[Value, dict[str, Value], Value]:
    x, y = Value(POINT["x"]), Value(POINT["y"])
    a = x * y + x**2
    a.label = "a"
    b = a * a + y
    return b * 3 + a, {"x": x, "y": y}, a


@pytest.mark.parametrize("wrt", ["x", "y"])
def test_a_micrograd_graph_in_forward_mode(wrt: str) -> None:
    loss, inputs, _ = _micrograd_loss()
    result = from_micrograd(loss, inputs, mode="forward", wrt=wrt)
    text = backprop(MICROGRAD_SOURCE, POINT, mode="forward", wrt=wrt)
    assert result.tangent is not None and text.tangent is not None
    assert_close(result.tangent.derivative, text.tangent.derivative)
    loss.backward()  # micrograd's own reverse mode
    assert_close(result.tangent.derivative, inputs[wrt].grad)


def test_a_micrograd_graph_with_a_seed() -> None:
    loss, inputs, _ = _micrograd_loss()
    result = from_micrograd(loss, inputs, seed=-3.0)
    _assert_same_gradients(result, backprop(MICROGRAD_SOURCE, POINT, seed=-3.0),
                           {"x": "x", "y": "y"})
    loss.backward()
    assert_close(result.gradients["x"], -3.0 * inputs["x"].grad)


def test_a_micrograd_graph_answers_its_jacobian() -> None:
    loss, inputs, _ = _micrograd_loss()
    result = from_micrograd(loss, inputs, jacobian=True)
    text = backprop(MICROGRAD_SOURCE, POINT, jacobian=True)
    expected = sympy_gradients(MICROGRAD_SOURCE, POINT)
    for name in POINT:
        assert_close(_block(result, name), _block(text, name))
        assert_close(_block(result, name), [[expected[name]]])


def test_a_micrograd_graph_differentiates_a_labelled_or_listed_value() -> None:
    loss, inputs, a = _micrograd_loss()
    result = from_micrograd(loss, inputs, output="a")
    text = backprop(MICROGRAD_SOURCE, POINT, output="a")
    assert result.output.value == a.data == text.output.value
    _assert_same_gradients(result, text, {"x": "x", "y": "y"})
    assert not [w for w in result.warnings if w.kind == "micrograd_mismatch"]
    listed = f"v{result.output.node[1:]}"  # the Value `a` as the answer's source lists it
    assert f"\n{listed} = " in result.source
    again = from_micrograd(loss, inputs, output=listed)
    assert again.output.node == result.output.node and again.gradients == result.gradients
    a.backward()
    assert_close(result.gradients["x"], inputs["x"].grad)


# ------------------------------------------------------------------ a torch model

torch.manual_seed(0)
MODEL = nn.Sequential(nn.Linear(3, 2), nn.Tanh()).double()
X = torch.randn(4, 3, dtype=torch.float64)
Y = torch.randn(4, 2, dtype=torch.float64)
TORCH_SOURCE = ("h = tanh(x @ W.T + b)\nmse = mean((h - t) ** 2)\n"
                "mse + 0.1 * sum(W * W)")
TORCH_NAMES = {"0.weight": "W", "0.bias": "b"}


def _torch_values() -> dict[str, object]:
    return {"W": MODEL[0].weight.tolist(), "b": MODEL[0].bias.tolist(), "x": X.tolist(),
            "t": Y.tolist()}


def _loss() -> torch.Tensor:
    return F.mse_loss(MODEL(X), Y) + 0.1 * (MODEL[0].weight ** 2).sum()


def _of_parameters(W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.tanh(X @ W.T + b)


def _parameters() -> tuple[torch.Tensor, torch.Tensor]:
    return MODEL[0].weight.detach().clone(), MODEL[0].bias.detach().clone()


@pytest.mark.parametrize(("wrt", "position"), [("0.weight", 0), ("0.bias", 1)])
def test_a_torch_model_in_forward_mode(wrt: str, position: int) -> None:
    result = from_torch(_loss, MODEL, mode="forward", wrt=wrt)
    text = backprop(TORCH_SOURCE, _torch_values(), mode="forward", wrt=TORCH_NAMES[wrt])
    assert result.tangent is not None and text.tangent is not None
    assert_close(result.tangent.derivative, text.tangent.derivative)
    W, b = _parameters()
    tangents = tuple(torch.ones_like(p) if k == position else torch.zeros_like(p)
                     for k, p in enumerate((W, b)))
    _, jvp = torch.autograd.functional.jvp(
        lambda W, b: F.mse_loss(_of_parameters(W, b), Y) + 0.1 * (W ** 2).sum(), (W, b),
        tangents)
    assert_close(result.tangent.derivative, float(jvp), rtol=1e-9)


def test_a_torch_models_array_output_with_a_seed() -> None:
    seed = torch.linspace(-1, 1, 8, dtype=torch.float64).reshape(4, 2)
    result = from_torch(lambda: MODEL(X), MODEL, seed=seed.tolist())
    values = {k: v for k, v in _torch_values().items() if k != "t"}
    _assert_same_gradients(result, backprop("tanh(x @ W.T + b)", values, seed=seed.tolist()),
                           TORCH_NAMES)
    W, b = (p.requires_grad_() for p in _parameters())
    _of_parameters(W, b).backward(seed)
    assert W.grad is not None and b.grad is not None
    assert_close(decode(result.gradients["0.weight"]), W.grad.numpy(), rtol=1e-9)
    assert_close(decode(result.gradients["0.bias"]), b.grad.numpy(), rtol=1e-9)


def test_a_torch_models_array_output_answers_its_jacobian() -> None:
    result = from_torch(lambda: MODEL(X), MODEL, jacobian=True)
    values = {k: v for k, v in _torch_values().items() if k != "t"}
    text = backprop("tanh(x @ W.T + b)", values)
    jacobians = torch.autograd.functional.jacobian(_of_parameters, _parameters())
    for (name, theirs), oracle in zip(TORCH_NAMES.items(), jacobians, strict=True):
        assert_close(_block(result, name), _block(text, theirs))
        assert_close(_block(result, name), oracle.reshape(8, -1).numpy(), rtol=1e-9)


def test_a_torch_model_differentiates_its_loss_or_a_modules_output() -> None:
    result = from_torch(_loss, MODEL, output="mse_loss")
    text = backprop(TORCH_SOURCE, _torch_values(), output="mse")
    assert_close(result.output.value, text.output.value)
    _assert_same_gradients(result, text, TORCH_NAMES)
    W, b = (p.requires_grad_() for p in _parameters())
    F.mse_loss(_of_parameters(W, b), Y).backward()
    assert W.grad is not None
    assert_close(decode(result.gradients["0.weight"]), W.grad.numpy(), rtol=1e-9)
    assert not [w for w in result.warnings if w.kind == "torch_mismatch"]
    layer_out = from_torch(_loss, MODEL, output="model.0", jacobian=True)
    jacobians = torch.autograd.functional.jacobian(lambda W, b: X @ W.T + b, _parameters())
    assert_close(_block(layer_out, "0.bias"), jacobians[1].reshape(8, -1).numpy())


def test_a_torch_model_refuses_an_output_it_did_not_name() -> None:
    with pytest.raises(ChainruleError, match="the values named here are: .*model.0"):
        from_torch(_loss, MODEL, output="model.5")
