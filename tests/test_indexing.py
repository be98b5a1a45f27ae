"""Indexing: basic keys (`x[0]`, `x[1:3, :]`, `x[:, None]`, `x[..., 0]`) and integer arrays
(`C[X]`, an embedding; `p[arange(n), y]`, one pick per row), through the language (against
finite differences of the same numpy code), `trace` (against finite differences of the traced
function) and `from_torch` (against torch autograd). The indices are data: never inputs,
never differentiated. The op table's own check of the rules is tests/test_ops.py's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from chainrule import ChainruleError, backprop
from chainrule.answer.models import Answer

from .oracles import assert_close, central_difference


def _grad(result: Answer, name: str) -> np.ndarray:
    value = result.gradients[name]
    return np.asarray(value if not isinstance(value, dict) else value["value"], dtype=float)


def _nodes(result: Answer) -> dict[str, Any]:
    return json.loads(result.compact_json())["columns"]["nodes"]  # type: ignore[no-any-return]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))  # type: ignore[no-any-return]


X = [0, 2, 2, 4, 1, 2]  # row 2 is read three times: its gradient adds up
Y = [1, 0, 2, 2]

# The language, and the same computation in numpy (x is 4×3, C is 5×3).
PROGRAMS: list[tuple[str, Callable[..., float]]] = [
    ("sum(x[0] ** 2)", lambda x, C: np.sum(x[0] ** 2)),
    ("sum(sin(x[1:3, :]))", lambda x, C: np.sum(np.sin(x[1:3, :]))),
    ("sum(x[:, None] * x[None])", lambda x, C: np.sum(x[:, None] * x[None])),
    ("sum(x[..., -1] * x[::2, 0].sum())", lambda x, C: np.sum(x[..., -1] * x[::2, 0].sum())),
    ("x[-1, 1] * x[0, 0] + x[3, 1:][0]", lambda x, C: x[-1, 1] * x[0, 0] + x[3, 1:][0]),
    ("e = C[X]\nsum(tanh(e @ x.T))", lambda x, C: np.sum(np.tanh(C[X] @ x.T))),
    # makemore's long cross entropy: the picked log-probabilities, one per row.
    (("logits = x @ C.T\nm = max(logits, axis=1, keepdims=True)\nz = logits - m\n"
      "logprobs = z - log(sum(exp(z), axis=1, keepdims=True))\n"
      "loss = -mean(logprobs[arange(4), Y])"),
     lambda x, C: -np.mean(_log_softmax(x @ C.T)[np.arange(4), Y])),
    ("sum(x[:, [0, 2, 2]] ** 2)", lambda x, C: np.sum(x[:, [0, 2, 2]] ** 2)),
    ("sum(x[[3, 0], 1:] * C[[4, 4], :2])", lambda x, C: np.sum(x[[3, 0], 1:] * C[[4, 4], :2])),
]


@pytest.mark.parametrize(("source", "fun"), PROGRAMS)
def test_the_language_indexes_as_numpy_does(source: str, fun: Callable[..., float]) -> None:
    x, C = np.random.normal(size=(4, 3)), np.random.normal(size=(5, 3))
    values = {"x": x.tolist(), "C": C.tolist(), "X": X, "Y": Y}
    used = {k: v for k, v in values.items() if k in source.replace("x[", " x[") or k == "x"}
    result = backprop(source, used)
    assert result.check is not None and result.check.ok, result.check
    assert_close(result.output.value, fun(x, C))
    assert_close(_grad(result, "x"), central_difference(lambda a: fun(a, C), x),
                 rtol=1e-5, atol=1e-8)
    if "C" in used:
        assert_close(_grad(result, "C"), central_difference(lambda a: fun(x, a), C),
                     rtol=1e-5, atol=1e-8)
    assert not {"X", "Y"} & set(result.gradients), "indices are data, never differentiated"
    forward = backprop(source, used, mode="forward", wrt="x", check=False)
    assert forward.tangent is not None
    assert_close(forward.tangent.derivative, _grad(result, "x").sum(), rtol=1e-8)


def test_an_embeddings_rows_read_twice_get_both_gradients() -> None:
    C = np.random.normal(size=(5, 3))
    result = backprop("sum(C[X] * W)", {"C": C.tolist(), "X": [[1, 3], [3, 3]],
                                         "W": np.ones((2, 2, 3)).tolist()})
    grad = _grad(result, "C")
    assert_close(grad, np.array([0, 1, 0, 3, 0])[:, None] * np.ones(3))


def test_an_index_is_written_in_the_formula_and_the_key_travels_as_data() -> None:
    result = backprop("sum(x[1:3, None]) + sum(C[X]) + sum(x[:, Y[:2]])",
                      {"x": np.ones((4, 3)).tolist(), "C": np.ones((5, 3)).tolist(),
                       "X": X, "Y": Y}, check=False)
    nodes = _nodes(result)
    assert "x[1:3, None]" in nodes["expr"]
    assert "C[X]" in nodes["expr"] and "x[:, Y[:2]]" in nodes["expr"]
    assert nodes["expr"].count("X") == 1, "C[X] reads the node X: one node, named"
    assert {"key": "1:3, None"} in nodes["params"].values()


@pytest.mark.parametrize(("source", "wrong"), [
    ("sum(x[sin(x)])", "sin(x)"), ("sum(x[1.5])", "1.5"), ("sum(x[0:y])", "y"),
    ("sum(x[7])", "x[7]"), ("sum(x[0, 0, 0])", "x[0, 0, 0]"), ("sum(C[[0, 9]])", "C[[0, 9]]"),
    ("sum(x[[0.5]])", "x[[0.5]]"), ("sum(x[])", "x[]"), ("sum(arange(0))", "arange(0)"),
])
def test_an_index_that_cannot_be_read_is_refused_at_its_span(source: str, wrong: str) -> None:
    with pytest.raises(ChainruleError) as caught:
        backprop(source, x=np.ones((4, 3)).tolist(), C=np.ones((5, 3)).tolist(), y=1.0)
    start, end = caught.value.span  # type: ignore[misc]
    assert source[start:end] == wrong, caught.value


def test_colons_and_none_are_read_only_inside_brackets() -> None:
    for source in ("x: 3", "None + x"):
        with pytest.raises(ChainruleError) as caught:
            backprop(source, x=1.0)
        assert caught.value.kind == "forbidden"


# ---------------------------------------------------------------- trace


def _softmax_loss_vectorized(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """CS231n assignment 1's softmax loss, as learners write it."""
    num_train = X.shape[0]
    scores = X @ W
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(num_train), y]))
    return loss / num_train  # type: ignore[no-any-return]


def _rows_and_columns(x: np.ndarray) -> float:
    h = x.shape[1] // 2
    first, rest = x[:, :h], x[:, h:]
    masked = x[np.array([True, False, True])]
    total = np.sum(first * rest) + np.sum(masked[:, np.newaxis] ** 2) + x[-1, ...].sum()
    return total + sum(row[0] for row in x)  # type: ignore[no-any-return]


@pytest.mark.parametrize("fun", [
    lambda W: _softmax_loss_vectorized(W, XS, YS), _rows_and_columns])
def test_trace_reads_indexing_as_numpy_code_writes_it(fun: Callable[[np.ndarray], float]
                                                      ) -> None:
    from chainrule import trace
    x = np.random.normal(size=(3, 4))
    result = trace(fun, **{fun.__code__.co_varnames[0]: x})
    assert result.check is not None and result.check.ok
    assert_close(result.output.value, fun(x))
    assert_close(_grad(result, fun.__code__.co_varnames[0]), central_difference(fun, x),
                 rtol=1e-5, atol=1e-8)


XS = np.random.default_rng(1).normal(size=(5, 3))
YS = np.array([0, 3, 1, 3, 2])


def test_trace_refuses_a_traced_index_naming_it() -> None:
    from chainrule import trace
    with pytest.raises(ChainruleError, match="indexing with a traced value"):
        trace(lambda x: np.sum(x[x]), x=np.ones(3))


# ---------------------------------------------------------------- from_torch


def test_from_torch_reads_makemores_embedding_and_picked_log_probabilities() -> None:
    """makemore part 4's `C[Xb]` and `logprobs[range(n), Yb]`, and nn.Embedding, against
    torch autograd."""
    import torch
    from chainrule import from_torch
    torch.manual_seed(0)
    emb = torch.nn.Embedding(27, 4).double()
    W = torch.randn(12, 27, dtype=torch.float64, requires_grad=True)
    C = torch.randn(27, 4, dtype=torch.float64, requires_grad=True)
    Xb, Yb = torch.randint(0, 27, (6, 3)), torch.randint(0, 27, (6,))

    def loss_fn() -> torch.Tensor:
        e = C[Xb] + emb(Xb)
        logits = e.view(e.shape[0], -1) @ W
        norm_logits = logits - logits.max(1, keepdim=True).values
        counts = norm_logits.exp()
        probs = counts * counts.sum(1, keepdims=True) ** -1
        return -probs.log()[range(6), Yb].mean() + (C[0] * C[1:3, :].sum(0)).sum()

    result = from_torch(loss_fn)
    torch_loss = loss_fn()
    torch_loss.backward()
    assert_close(result.output.value, float(torch_loss.detach()))
    grads = {name: np.asarray(g, dtype=float) for name, g in result.gradients.items()}
    expected = [C.grad.numpy(), W.grad.numpy(), emb.weight.grad.numpy()]
    for want in expected:
        assert any(g.shape == want.shape and np.allclose(g, want, rtol=1e-6, atol=1e-12)
                   for g in grads.values()), "a gradient differs from torch autograd's"


def test_a_name_assigned_a_literal_and_used_as_an_index_is_data_not_an_input() -> None:
    result = backprop("X = [1, 1, 0]\nC = [[1.0, 2.0], [3.0, 4.0]]\nsum(C[X] ** 2)")
    assert set(result.gradients) == {"C"}
    assert_close(_grad(result, "C"), [[2.0, 4.0], [12.0, 16.0]])


def test_the_backward_steps_say_a_scatter_add_and_a_broadcast_along_the_axis() -> None:
    result = backprop("e = C[X]\nsum(sum(e, axis=0) ** 2)",
                      {"C": np.ones((5, 3)).tolist(), "X": X})
    texts = " ".join(t.text for s in result.backward for t in s.terms)
    assert "dL/dC += a scatter-add: each upstream element added back at the place it was read" \
        in texts
    assert "dL/de += the upstream copied back along axis 0" in texts
    assert "row 2 (3 reads) of C were read more than once: their gradients add up" in texts


# ---------------------------------------------------------------- the axes in a new order


def test_permute_reads_in_the_language_trace_and_from_torch() -> None:
    """`permute(x, axes=[2, 0, 1])`, numpy's `x.transpose(0, 2, 1)` / `np.swapaxes` (views,
    a write through one reaching its base) and torch's `permute` / `transpose(1, 2)` (a
    sequence's (N, L, C) to Conv1d's (N, C, L)), against central differences and torch."""
    import torch
    from chainrule import from_torch, trace

    x = np.random.normal(size=(2, 3, 4))
    result = backprop("sum(permute(x, axes=[2, 0, 1])[0] ** 2) + sum(sum(x, axis=[0, 2]))",
                      x=x.tolist())

    def same(a: np.ndarray) -> float:
        return float(np.sum(a.transpose(2, 0, 1)[0] ** 2) + a.sum())

    assert_close(_grad(result, "x"), central_difference(same, x), rtol=1e-6)

    def viewed(a: np.ndarray) -> float:
        v = a.copy()
        t = v.transpose(1, 0, 2)
        t[0] = 0.0  # through the view, into v
        return np.sum(a.transpose(0, 2, 1) ** 2 * 3) + np.sum(np.swapaxes(  # type: ignore
            a, 0, 1)[:, 0] ** 3) + np.sum(v ** 2) + np.sum(np.transpose(a, (2, 0, 1))[1])

    traced = trace(viewed, a=x)
    assert_close(_grad(traced, "a"), central_difference(viewed, x), rtol=1e-6)

    torch.manual_seed(0)
    conv = torch.nn.Conv1d(4, 3, 2).double()
    seq = torch.tensor(x, requires_grad=True)

    def loss_fn() -> torch.Tensor:
        h = conv(seq.transpose(1, 2))
        return (h.permute(2, 0, 1) ** 2).sum() + seq.swapaxes(0, 2).sum(0).pow(2).sum()

    read = from_torch(loss_fn)
    loss_fn().backward()
    assert_close(np.asarray(read.gradients["t0"]), seq.grad.numpy(), rtol=1e-9)


def test_index_arrays_that_broadcast_past_the_limit_are_refused_before_they_are_made() -> None:
    """A column and a row of indices broadcast to their product: 40,000 × 40,000 places (25 GB
    as one array) is refused from the shapes, at the index's span."""
    source = "sum(x[i, j])"
    with pytest.raises(ChainruleError) as caught:
        backprop(source, x=[[1.0, 2.0], [3.0, 4.0]], i=[[0]] * 40_000, j=[[0] * 40_000])
    assert caught.value.kind == "limit" and "broadcast to" in caught.value.message
    start, end = caught.value.span  # type: ignore[misc]
    assert source[start:end] == "x[i, j]"
