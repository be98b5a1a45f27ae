"""chainrule.from_micrograd: micrograd's own Value graphs, checked against micrograd's backward()."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
from chainrule import ChainruleError, backprop, from_micrograd
from micrograd.engine import Value
from micrograd.nn import MLP

from .oracles import assert_close


def _lecture_op(value: Value, op: str, data: float, local: float) -> Value:
    """tanh and exp as micrograd's lecture Value defines them (micrograd 0.1.0 has neither)."""
    out = Value(data, (value,), op)

    def _backward() -> None:
        value.grad += local * out.grad

    out._backward = _backward
    return out


def tanh(value: Value) -> Value:
    t = math.tanh(value.data)
    return _lecture_op(value, "tanh", t, 1 - t * t)


def exp(value: Value) -> Value:
    e = math.exp(value.data)
    return _lecture_op(value, "exp", e, e)


def test_an_mlps_gradients_are_micrograds_own() -> None:
    random.seed(1)
    model = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    loss: Any = sum((model(x) - y) ** 2 for x, y in zip(xs, ys, strict=True))
    result = from_micrograd(loss, model.parameters())
    loss.backward()
    assert_close(result.output.value, loss.data)
    parameters = model.parameters()
    assert len(result.gradients) == len(parameters) == 41
    for k, parameter in enumerate(parameters):
        assert_close(result.gradients[f"p{k}"], parameter.grad)
    assert result.check is not None and len(result.check.entries) == 41


def test_negation_subtraction_division_powers_and_a_value_used_twice() -> None:
    a, b = Value(-1.5), Value(2.5)
    c = a * a + a  # `a * a`: micrograd's _prev holds a once
    d = (c - b) / (b**3) + (-a).relu() + 2 - 1 / b
    loss = d * d + b**0.5
    result = from_micrograd(loss, {"a": a, "b": b})
    loss.backward()
    assert_close(result.gradients["a"], a.grad)
    assert_close(result.gradients["b"], b.grad)


def test_the_lectures_tanh_and_exp_and_every_leaf_an_input_named_by_its_label() -> None:
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.88137358)
    for value, label in [(x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b")]:
        value.label = label  # type: ignore[attr-defined]
    n = x1 * w1 + x2 * w2 + b
    o = tanh(n) + exp(n * 0.1)
    result = from_micrograd(o)
    o.backward()
    for value, label in [(x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b")]:
        assert_close(result.gradients[label], value.grad)
    assert {"tanh", "exp"} <= {node.op for node in result.nodes}
    assert len(result.gradients) == 6  # the five labelled leaves and the constant 0.1


def test_a_chain_5000_deep_is_read_where_micrograds_recursion_fails() -> None:
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    with pytest.raises(RecursionError):
        y.backward()
    result = from_micrograd(y, {"x": x})
    assert_close(result.gradients["x"], 1.0001**5000)
    assert_close(result.output.value, 0.5 * 1.0001**5000)


def test_the_listing_is_the_source_every_span_points_into_and_it_parses_back() -> None:
    a, b = Value(3.0), Value(-2.0)
    loss = (a * b + a**2).relu() - b / a
    result = from_micrograd(loss, {"a": a, "b": b})
    for node in result.nodes:
        start, end = node.span
        text = result.source[start:end]
        if node.op == "input":
            assert text == {"a": "3", "b": "-2"}[node.name or ""]
        elif node.op == "const":
            assert float(text.strip("()")) == node.value
        else:
            assert text.count("=") == 0 and text  # the right side of the node's line
    again = backprop(result.source)
    loss.backward()
    assert_close(again.gradients["a"], a.grad)
    assert_close(again.gradients["b"], b.grad)


def test_an_op_outside_the_table_is_named() -> None:
    a = Value(1.0)
    odd = Value(math.sin(1.0), (a,), "sin!")
    with pytest.raises(ChainruleError, match="sin!"):
        from_micrograd(odd * 2)


def test_an_input_that_is_not_a_leaf_is_refused() -> None:
    a = Value(1.0)
    hidden = a * 3
    with pytest.raises(ChainruleError, match="not a leaf"):
        from_micrograd(hidden + 1, {"hidden": hidden})


def test_a_value_class_that_computes_an_op_differently_is_warned_about() -> None:
    a = Value(2.0)
    odd = Value(5.0, (a, a), "+")  # says a + a, holds 5
    result = from_micrograd(odd * 1.0)
    assert_close(result.output.value, 4.0)
    assert any("micrograd's data is 5" in warning.message for warning in result.warnings)


def test_something_else_than_a_value_is_refused() -> None:
    with pytest.raises(ChainruleError, match="micrograd Values"):
        from_micrograd(1.5)


def test_a_value_micrograd_computed_differently_is_warned_in_every_form() -> None:
    """A Value whose data is not what its op computes (here a tanh made with exp's number):
    the warning is in the result, in its v1 records and in the compact answer it sends."""
    x = Value(0.5)
    wrong = _lecture_op(x, "tanh", math.exp(0.5), 1.0)
    result = from_micrograd(wrong * 2, {"x": x}, check=False)
    assert [w.kind for w in result.warnings] == ["micrograd_mismatch"]
    assert [w["kind"] for w in result.spelled_out()["warnings"]] == ["micrograd_mismatch"]
    assert result.model_dump(mode="json")["warnings"][0]["kind"] == "micrograd_mismatch"
