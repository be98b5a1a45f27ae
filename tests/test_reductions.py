"""Reductions along an axis (sum, mean, var, max, min, logsumexp with axis, keepdims, ddof),
through every way in: the language (against finite differences of the same numpy code), `trace`
(against finite differences of the traced function) and `from_torch` (against torch autograd).
The op table's own check of their rules is tests/test_ops.py's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from chainrule import ChainruleError, backprop, from_torch, trace
from chainrule.answer.models import Answer

from .oracles import assert_close, central_difference


def _grad(result: Answer, name: str) -> np.ndarray:
    value = result.gradients[name]
    return np.asarray(value if not isinstance(value, dict) else value["value"], dtype=float)


def _nodes(result: Answer) -> dict[str, Any]:
    return json.loads(result.compact_json())["columns"]["nodes"]  # type: ignore[no-any-return]


# The language, and the same computation in numpy: the finite differences' function.
PROGRAMS = [
    ("sum(sum(x, axis=0) ** 2)", lambda x: np.sum(np.sum(x, axis=0) ** 2)),
    ("s = x.sum(axis=1, keepdims=True)\nsum(x * s)",
     lambda x: np.sum(x * x.sum(axis=1, keepdims=True))),
    ("mean(sin(mean(x, axis=0)))", lambda x: np.mean(np.sin(np.mean(x, axis=0)))),
    ("x.mean(axis=-1).sum()", lambda x: x.mean(axis=-1).sum()),
    ("sum(var(x, axis=0, ddof=1) * [1, 2, 3])",
     lambda x: np.sum(np.var(x, axis=0, ddof=1) * [1, 2, 3])),
    ("x.var() + var(x, axis=1, keepdims=True).sum()",
     lambda x: x.var() + np.var(x, axis=1, keepdims=True).sum()),
    ("sum(max(x, axis=1) * [2, 3, 5, 7])", lambda x: np.sum(np.max(x, axis=1) * [2, 3, 5, 7])),
    ("x.max() - x.min(axis=0).sum()", lambda x: x.max() - x.min(axis=0).sum()),
    ("m = max(x, axis=1, keepdims=True)\nz = x - m\nsum(logsumexp(z, axis=1) ** 2)",
     lambda x: np.sum(np.log(np.exp(x - x.max(axis=1, keepdims=True)).sum(axis=1)) ** 2)),
    # A batchnorm's statistics, as makemore writes them (axis 0, keepdims).
    (("mu = mean(x, axis=0, keepdims=True)\nv = var(x, axis=0, keepdims=True, ddof=1)\n"
      "h = (x - mu) / sqrt(v + 0.00001)\nsum(tanh(h) * [1, -2, 3])"),
     lambda x: np.sum(np.tanh((x - x.mean(0, keepdims=True)) / np.sqrt(
         x.var(0, keepdims=True, ddof=1) + 1e-5)) * [1, -2, 3])),
]


@pytest.mark.parametrize(("source", "fun"), PROGRAMS)
def test_the_language_reduces_along_an_axis_as_numpy_does(
        source: str, fun: Callable[[np.ndarray], float]) -> None:
    x = np.random.normal(size=(4, 3))
    result = backprop(source, {"x": x.tolist()})
    assert result.check is not None and result.check.ok  # the batched forward agrees too
    assert_close(result.output.value, fun(x))
    assert_close(_grad(result, "x"), central_difference(fun, x), rtol=1e-5, atol=1e-8)
    forward = backprop(source, {"x": x.tolist()}, mode="forward", wrt="x", check=False)
    assert forward.tangent is not None
    assert_close(forward.tangent.derivative, _grad(result, "x").sum(), rtol=1e-8)


def test_a_node_says_its_params_in_its_formula_and_as_data() -> None:
    result = backprop("a = sum(var(x, axis=1, ddof=1))\na + sum(x.sum(axis=0, keepdims=True))",
                      x=np.ones((2, 3)).tolist())
    nodes = _nodes(result)
    assert "sum(x, axis=0, keepdims=True)" in nodes["expr"]
    assert "var(x, axis=1, ddof=1)" in nodes["expr"]
    params = list(nodes["params"].values())
    assert {"axis": 0, "keepdims": True} in params and {"axis": 1, "ddof": 1} in params
    assert _nodes(backprop("sum(x)", x=[1.0, 2.0]))["params"] == {}


def test_reductions_of_one_generation_along_different_axes_are_not_stacked() -> None:
    x = np.arange(6.0).reshape(2, 3)
    result = backprop("a = sum(x, axis=0)\nb = sum(x, axis=1)\nsum(a) * 2 + sum(b) * 3",
                      x=x.tolist())
    assert_close(result.output.value, 5 * x.sum())
    assert_close(_grad(result, "x"), np.full((2, 3), 5.0))


def test_a_tie_splits_the_gradient_of_max_evenly() -> None:
    result = backprop("sum(max(x, axis=1))", x=[[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], check=False)
    assert_close(_grad(result, "x"), [[0, 0.5, 0.5], [1, 0, 0]])


@pytest.mark.parametrize(("source", "wrong"), [
    ("sum(x, axis=1.5)", "1.5"), ("sum(x, axis=y)", "y"), ("sum(x, keepdims=1)", "keepdims=1"),
    ("sum(x, dim=0)", "dim=0"), ("sin(x, axis=0)", "axis=0"), ("sum(x, axis=0, 1)", "1"),
    ("sum(x, axis=0, axis=1)", "axis=1"), ("var(x, ddof=-1)", "ddof=-1"),
])
def test_a_keyword_that_is_not_a_literal_param_is_refused_at_its_span(source: str,
                                                                      wrong: str) -> None:
    with pytest.raises(ChainruleError) as caught:
        backprop(source, x=np.ones((2, 3)).tolist(), y=1.0)
    start, end = caught.value.span  # type: ignore[misc]
    assert source[start:end] == wrong, caught.value


def test_an_axis_out_of_bounds_is_refused_with_the_shape() -> None:
    with pytest.raises(ChainruleError, match=r"axis 2 is out of bounds for shape \[2, 3\]"):
        backprop("sum(x, axis=2)", x=np.ones((2, 3)).tolist())


def test_true_false_and_none_are_read_only_as_a_keywords_value() -> None:
    with pytest.raises(ChainruleError, match="True"):
        backprop("y = True\nx * y", x=1.0)
    result = backprop("sum(x, axis=None, keepdims=False)", x=[1.0, 2.0])
    assert _nodes(result)["params"] == {}


# ------------------------------------------------------------------------- trace


def batchnorm_and_softmax(x, w):
    h = x @ w
    h = (h - h.mean(axis=0, keepdims=True)) / np.sqrt(np.var(h, axis=0, keepdims=True) + 1e-5)
    z = h - np.max(h, axis=1, keepdims=True)
    p = np.exp(z) / np.sum(np.exp(z), axis=1, keepdims=True)
    return np.sum(p * np.array([1.0, 2.0, 3.0])) + np.var(x, 0, ddof=1).sum()


def column_extremes(x):
    return np.sum(x.max(axis=0) ** 2) - x.min(axis=1).sum() + np.amax(x) + x.sum(0).mean()


@pytest.mark.parametrize("fun", [batchnorm_and_softmax, column_extremes])
def test_trace_reads_numpys_reductions_along_an_axis(fun: Callable[..., float]) -> None:
    values = {"x": np.random.normal(size=(4, 3)), "w": np.random.normal(size=(3, 3))}
    names = list(values)[:fun.__code__.co_argcount]
    result = trace(fun, {n: values[n] for n in names})
    assert result.check is not None and result.check.ok
    assert_close(result.output.value, fun(*(values[n] for n in names)))
    for k, name in enumerate(names):
        def f(v: np.ndarray, k: int = k) -> float:
            return fun(*(v if j == k else values[n] for j, n in enumerate(names)))
        assert_close(_grad(result, name), central_difference(f, values[name]), rtol=1e-5,
                     atol=1e-8)


def uses_a_dtype(x):
    return np.sum(x, axis=0, dtype=float).sum()


def test_trace_refuses_a_reductions_option_it_does_not_take() -> None:
    with pytest.raises(ChainruleError, match="dtype="):
        trace(uses_a_dtype, x=np.ones((2, 3)))


# --------------------------------------------------------------------- from_torch


def test_from_torch_reads_torchs_reductions_as_torch_autograd_does() -> None:
    torch.manual_seed(0)
    x = torch.randn(6, 4, dtype=torch.double, requires_grad=True)
    w = torch.randn(4, 3, dtype=torch.double, requires_grad=True)

    def loss() -> torch.Tensor:
        h = x @ w
        hn = (h - h.mean(0, keepdim=True)) / (h.var(0, keepdim=True, unbiased=True) + 1e-5) ** 0.5
        m = hn.max(1, keepdim=True).values
        return (torch.logsumexp(hn - m, dim=1).sum() + torch.amax(hn, dim=0).sum(dim=0)
                + torch.var(h, dim=1, correction=0).sum() + torch.max(h, w.sum(0)).sum()
                + h.min() + h.sum(dim=(0, 1)) + torch.amin(h, 1).mean() + h.var())

    result = from_torch(loss)
    expected = loss()
    expected.backward()
    assert_close(result.output.value, float(expected.detach()))
    grads = list(result.gradients.values())
    assert len(grads) == 2
    assert x.grad is not None and w.grad is not None
    assert_close(np.asarray(grads[0]), x.grad.numpy(), rtol=1e-6, atol=1e-12)
    assert_close(np.asarray(grads[1]), w.grad.numpy(), rtol=1e-6, atol=1e-12)


def test_from_torch_refuses_a_reductions_option_it_does_not_take() -> None:
    x = torch.randn(2, 3, dtype=torch.double, requires_grad=True)
    with pytest.raises(ChainruleError, match="dtype="):
        from_torch(lambda: x.sum(0, dtype=torch.double).sum())
