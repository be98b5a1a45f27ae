"""Joining arrays in the three ways in: the language's `concatenate([a, b], axis=1)` and
`stack([a, b, c])`, `trace` of np.concatenate, np.stack, np.hstack, np.vstack and
np.column_stack (against central differences), and `from_torch` of torch.cat, torch.stack,
hstack and vstack, of split, chunk and unbind, and of nn.RNN read as its cells step by step
(against torch autograd, float64, relative 1e-6).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from chainrule import ChainruleError, backprop, from_torch, trace
from chainrule.answer.models import Answer
from torch import nn

from .oracles import assert_close, central_difference


def _grad(result: Answer, name: str) -> np.ndarray:
    value = result.gradients[name]
    return np.asarray(value if not isinstance(value, dict) else value["value"], dtype=float)


def _columns(result: Answer) -> dict[str, Any]:
    return json.loads(result.compact_json())["columns"]["nodes"]  # type: ignore[no-any-return]


def _group_names(result: Answer) -> list[str]:
    assert result.groups is not None
    return list(result.groups.name)


# ---------------------------------------------------------------- the language

A, B, C = (np.random.default_rng(k).normal(size=(2, 3)) for k in range(3))

# A program, and the same computation in numpy, of a, b and c (each 2×3).
PROGRAMS: list[tuple[str, Callable[..., float]]] = [
    ("sum(concatenate([a, b]) ** 2 * arange(4)[:, None])",
     lambda a, b, c: np.sum(np.concatenate([a, b]) ** 2 * np.arange(4)[:, None])),
    ("sum(sin(concatenate([a, b * c], axis=1)) * arange(6))",
     lambda a, b, c: np.sum(np.sin(np.concatenate([a, b * c], axis=1)) * np.arange(6))),
    ("sum(exp(concatenate([a, b], axis=-1)[:, 2:]))",
     lambda a, b, c: np.sum(np.exp(np.concatenate([a, b], axis=-1)[:, 2:]))),
    ("h = concatenate([a, b, c, a, [[1, 2, 3]]], 0)\nsum(h ** 3 * arange(9)[:, None])",
     lambda a, b, c: np.sum(np.concatenate([a, b, c, a, [[1, 2, 3]]], 0) ** 3
                            * np.arange(9)[:, None])),
    ("sum(concatenate([a, b], axis=None) * arange(12))",
     lambda a, b, c: np.sum(np.concatenate([a, b], axis=None) * np.arange(12))),
    ("s = stack([a, b, c])\nsum(tanh(s) * s[0])",
     lambda a, b, c: np.sum(np.tanh(np.stack([a, b, c])) * a)),
    ("sum(stack([a, b, c], axis=1) ** 2 * arange(3)[:, None])",
     lambda a, b, c: np.sum(np.stack([a, b, c], axis=1) ** 2 * np.arange(3)[:, None])),
    ("sum(stack([a, sin(b)], -1) @ [1.0, -2.0])",
     lambda a, b, c: np.sum(np.stack([a, np.sin(b)], -1) @ [1.0, -2.0])),
    ("sum(stack([a[0, 1], b[1, 2] * c[0, 0]]) ** 2)",
     lambda a, b, c: np.sum(np.stack([a[0, 1], b[1, 2] * c[0, 0]]) ** 2)),
    ("sum(vstack([a, b[0]]) ** 3) + sum(hstack([a, c]) ** 2 * arange(6))",
     lambda a, b, c: np.sum(np.vstack([a, b[0]]) ** 3)
     + np.sum(np.hstack([a, c]) ** 2 * np.arange(6))),
    ("sum(exp(column_stack([a[0], b[1], c.T])))",
     lambda a, b, c: np.sum(np.exp(np.column_stack([a[0], b[1], c.T])))),
]


@pytest.mark.parametrize(("source", "fun"), PROGRAMS)
def test_the_language_joins_as_numpy_does(source: str, fun: Callable[..., float]) -> None:
    values = {"a": A.tolist(), "b": B.tolist(), "c": C.tolist()}
    used = {k: v for k, v in values.items() if re.search(rf"\b{k}\b", source)}
    result = backprop(source, used)
    assert result.check is not None and result.check.ok, result.check
    assert_close(result.output.value, fun(A, B, C))
    for name, value in (("a", A), ("b", B), ("c", C)):
        if name not in used:
            continue

        def along(x: np.ndarray, name: str = name) -> float:
            return fun(*(x if n == name else v for n, v in (("a", A), ("b", B), ("c", C))))

        assert_close(_grad(result, name), central_difference(along, value), rtol=1e-5,
                     atol=1e-8)
    forward = backprop(source, used, mode="forward", wrt="a", check=False)
    assert forward.tangent is not None
    assert_close(forward.tangent.derivative, _grad(result, "a").sum(), rtol=1e-8)


def test_k_arrays_are_k_minus_1_joins_in_a_group_named_by_the_function() -> None:
    values = {name: np.ones((2, 2)).tolist() for name in "abcde"}
    joined = backprop("sum(concatenate([a, b, c, d, e], axis=1))", values)
    assert _columns(joined)["op"].count("concatenate") == 4
    assert "concatenate" in _group_names(joined)
    stacked = backprop("sum(stack([a, b, c], axis=2))", values)
    ops = _columns(stacked)["op"]
    assert ops.count("index") == 3 and ops.count("concatenate") == 2
    assert _group_names(stacked) == ["output", "stack"]
    two = backprop("h = concatenate([a, b], axis=1)\nsum(h)", values)
    assert "concatenate([a, b], axis=1)" in two.compact_json().decode()


@pytest.mark.parametrize(("source", "wrong", "message"), [
    ("x = [a, b]\nsum(x)", "a", "array literals hold numbers only"),
    ("sum([a, 1.0])", "a", "array literals hold numbers only"),
    ("sum(concatenate(a, b))", "a", "takes a list of arrays"),
    ("sum(concatenate([a, b], 1, 2))", "2", "takes a list of arrays and its axis"),
    ("sum(concatenate([a, b], foo=1))", "foo=1", "takes no parameter 'foo'"),
    ("sum(hstack([a, b], axis=1))", "axis=1", "takes no parameter 'axis'"),
    ("sum(concatenate([a, b[0]]))", "concatenate([a, b[0]])", "different ranks"),
    ("sum(concatenate([a, b], axis=2))", "concatenate([a, b], axis=2)", "not one axis"),
    ("sum(stack([a, b[0]]))", "stack([a, b[0]])", "stack needs arrays of one shape"),
    ("sum(stack([a, b], axis=None))", "stack([a, b], axis=None)", "stack's axis"),
    ("sum(concatenate([]))", "concatenate([])", "at least one array"),
])
def test_a_join_that_cannot_be_read_is_refused_at_its_span(source: str, wrong: str,
                                                           message: str) -> None:
    with pytest.raises(ChainruleError, match=message) as caught:
        backprop(source, {"a": A.tolist(), "b": B.tolist()})
    span = caught.value.span
    assert span is not None and source[span[0]:span[1]] == wrong


# ---------------------------------------------------------------- trace

W = np.random.default_rng(5).normal(size=(4, 4)) * 0.5


def _joins(x: np.ndarray) -> float:
    both = np.concatenate([x, np.sin(x)], axis=1)
    flat = np.concatenate((x, W), axis=None)
    stacked = np.stack([x, x ** 2, W], axis=-1) @ np.array([1.0, 0.5, -1.0])
    h = np.hstack([x[0], x[1], [1.0, 2.0]])
    v = np.vstack([x, x[2], np.ones(4)])
    c = np.column_stack([x[0], x[3], np.ones((4, 2))])
    return (np.sum(both ** 2) + np.sum(flat * np.arange(32))  # type: ignore[no-any-return]
            + np.sum(stacked ** 3) + np.sum(h ** 2 * np.arange(10)) + np.sum(v ** 3)
            + np.sum(np.tanh(c)))


def _rnn_by_hand(x: np.ndarray) -> float:
    """An RNN over the rows of x (min-char-rnn's step), its hidden states stacked."""
    h = np.zeros(4)
    hs = []
    for t in range(len(x)):
        h = np.tanh(x[t] @ W + h @ W.T)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2 * np.arange(len(x))[:, None])  # type: ignore[no-any-return]


@pytest.mark.parametrize("fun", [_joins, _rnn_by_hand])
def test_trace_reads_numpys_joins(fun: Callable[[np.ndarray], float]) -> None:
    x = np.random.default_rng(6).normal(size=(4, 4))
    result = trace(fun, x=x)
    assert result.check is not None and result.check.ok
    assert_close(result.output.value, fun(x))
    assert_close(_grad(result, "x"), central_difference(fun, x), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(("fun", "message"), [
    (lambda x: np.sum(np.concatenate(x)), "np.concatenate of one traced array"),
    (lambda x: np.sum(np.concatenate([x, x], out=np.zeros((10, 4)))), "with out="),
    (lambda x: np.sum(np.stack([x, x[0]])), "stack needs arrays of one shape"),
    (lambda x: np.sum(np.concatenate([x, x], axis=2)), "not one axis"),
])
def test_trace_refuses_a_join_it_cannot_read(fun: Callable[[np.ndarray], float],
                                             message: str) -> None:
    with pytest.raises(ChainruleError, match=message):
        trace(fun, x=np.ones((5, 4)))


# ---------------------------------------------------------------- from_torch


def _assert_torchs_gradients(result: Answer, loss_fn: Callable[[], torch.Tensor],
                             model: nn.Module, rtol: float = 1e-6) -> None:
    """The loss and every parameter's gradient as torch autograd computes them."""
    model.zero_grad()
    loss = loss_fn()
    loss.backward()
    assert_close(result.output.value, float(loss.detach()), rtol=rtol)
    grads = {name: p.grad.numpy() for name, p in model.named_parameters() if p.grad is not None}
    assert set(result.gradients) == set(grads)
    scale = max(float(np.abs(g).max()) for g in grads.values())
    for name, grad in grads.items():
        assert_close(_grad(result, name), grad, rtol=rtol, atol=rtol * scale + 1e-12)


def _tensors(*shapes: tuple[int, ...]) -> nn.ParameterList:
    torch.manual_seed(len(shapes))
    return nn.ParameterList([nn.Parameter(torch.randn(*s, dtype=torch.float64))
                             for s in shapes])


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_torch_cat_along_each_axis_has_torchs_gradients(dim: int) -> None:
    p = _tensors((2, 3, 4), (2, 3, 4))
    data = torch.randn(2, 3, 4, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        joined = torch.cat([p[0], data, p[1].tanh()], dim=dim)
        weights = torch.arange(joined.numel(), dtype=torch.float64).reshape(joined.shape)
        return ((joined ** 2 * weights).sum() + torch.concat((p[0], p[1]), dim).exp().mean()
                + torch.concatenate([p[1], p[0]], axis=dim).sin().sum())

    _assert_torchs_gradients(from_torch(loss_fn, p), loss_fn, p)


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
def test_torch_stack_along_each_axis_has_torchs_gradients(dim: int) -> None:
    p = _tensors((2, 3), (2, 3), (2, 3))

    def loss_fn() -> torch.Tensor:
        stacked = torch.stack([p[0], p[1] * p[2], torch.ones(2, 3, dtype=torch.float64)], dim)
        return (stacked.sin() * torch.arange(stacked.numel(), dtype=torch.float64).reshape(
            stacked.shape)).sum()

    _assert_torchs_gradients(from_torch(loss_fn, p), loss_fn, p)


def test_torch_hstack_vstack_and_column_stack_have_torchs_gradients() -> None:
    p = _tensors((2, 3), (3,))

    def loss_fn() -> torch.Tensor:
        return ((torch.hstack([p[0], p[0]]) ** 2).sum() + (torch.vstack([p[0], p[1]]) ** 3).sum()
                + torch.row_stack([p[1], p[1]]).exp().sum()
                + torch.column_stack([p[1], p[0].T]).tanh().sum())

    _assert_torchs_gradients(from_torch(loss_fn, p), loss_fn, p)


def test_split_chunk_and_unbind_are_indexing_with_torchs_gradients() -> None:
    p = _tensors((4, 6))

    def loss_fn() -> torch.Tensor:
        a, b, c = p[0].chunk(3, 1)
        first, rest = torch.split(p[0], [1, 3])
        rows = [row.sin().sum() * k for k, row in enumerate(p[0])]  # iterating: unbind(0)
        columns = torch.unbind(p[0], dim=1)
        return ((a * b - c).sum() + (first ** 2).sum() + rest.exp().mean() + sum(rows)
                + columns[4].tanh().sum())

    result = from_torch(loss_fn, p)
    _assert_torchs_gradients(result, loss_fn, p)
    assert "index" in _columns(result)["op"]


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(("layers", "h0"), [(1, False), (1, True), (2, False), (2, True)])
def test_nn_rnn_over_5_steps_has_torchs_gradients(nonlinearity: str, batch_first: bool,
                                                    layers: int, h0: bool) -> None:
    torch.manual_seed(layers + 2 * h0)
    rnn = nn.RNN(3, 4, num_layers=layers, nonlinearity=nonlinearity,
                 batch_first=batch_first).double()
    x = torch.randn(*((2, 5) if batch_first else (5, 2)), 3, dtype=torch.float64)
    hx = torch.randn(layers, 2, 4, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        out, h_n = rnn(x, hx) if h0 else rnn(x)
        time = torch.arange(5.0, dtype=torch.float64).reshape((1, 5, 1) if batch_first
                                                               else (5, 1, 1))
        return (out ** 2 * time).sum() + (h_n * 0.5).sum()

    result = from_torch(loss_fn, rnn)
    _assert_torchs_gradients(result, loss_fn, rnn)
    ops = _columns(result)["op"]
    assert ops.count(nonlinearity) == 5 * layers  # a cell per step and layer
    assert [f"step {t}" for t in range(1, 6)] == [n for n in _group_names(result)
                                                   if n.startswith("step")][:5]


def test_an_unbatched_nn_rnn_in_a_model_has_torchs_gradients() -> None:
    torch.manual_seed(3)
    model = nn.ModuleDict({"rnn": nn.RNN(3, 4), "head": nn.Linear(4, 1)}).double()
    x = torch.randn(5, 3, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        out, _ = model["rnn"](x)
        return model["head"](out).pow(2).mean()

    _assert_torchs_gradients(from_torch(loss_fn, model), loss_fn, model)


def test_an_rnn_written_by_hand_with_torch_stack_has_torchs_gradients() -> None:
    p = _tensors((3, 4), (4, 4), (4,))
    xs = torch.randn(5, 2, 3, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        h = torch.zeros(2, 4, dtype=torch.float64)
        hs = []
        for x in xs:
            h = torch.tanh(x @ p[0] + h @ p[1] + p[2])
            hs.append(h)
        return (torch.stack(hs, dim=1) ** 2).sum()

    _assert_torchs_gradients(from_torch(loss_fn, p), loss_fn, p)


def test_an_lstm_written_with_chunk_has_torchs_gradients() -> None:
    hidden = 3
    p = _tensors((2, 4 * hidden), (hidden, 4 * hidden), (4 * hidden,))
    xs = torch.randn(2, 5, 2, dtype=torch.float64)

    def loss_fn() -> torch.Tensor:
        h = c = torch.zeros(2, hidden, dtype=torch.float64)
        outputs = []
        for t in range(xs.shape[1]):
            gates = xs[:, t] @ p[0] + h @ p[1] + p[2]
            i, f, g, o = gates.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.cat(outputs, dim=1).pow(2).sum()

    _assert_torchs_gradients(from_torch(loss_fn, p), loss_fn, p)


@pytest.mark.parametrize(("module", "message"), [
    (lambda: nn.RNN(3, 4, bidirectional=True), "bidirectional"),
    (lambda: nn.RNN(3, 4, num_layers=2, dropout=0.5), "drops out between layers"),
])
def test_an_nn_rnn_chainrule_does_not_read_is_refused_with_its_name(
        module: Callable[[], nn.Module], message: str) -> None:
    rnn = module().double()
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    with pytest.raises(ChainruleError, match=message) as caught:
        from_torch(lambda: rnn(x)[0].sum(), rnn)
    assert str(caught.value).startswith("torch.rnn_tanh in model (test_join.py:")
