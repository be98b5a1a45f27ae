"""chainrule.trace: a user's own numpy function, traced into the graph backprop explains."""

from __future__ import annotations

import inspect
import math
import re
from typing import Any

import numpy as np
import pytest
from chainrule import ChainruleError, backprop, trace
from chainrule.answer.models import Answer
from hypothesis import assume, given

from .oracles import assert_close, central_difference
from .test_properties import (
    VARS,
    Skip,
    _leaves,
    _scalar_trees,
    deterministic,
    evaluate,
    points,
    render,
)

W = np.array([[0.2, -0.4, 0.1], [0.7, 0.3, -0.5]])
X = np.array([0.5, -1.2, 0.3])
B = np.array([0.1, -0.2])


def sin_and_square(x, y):
    h = np.sin(x * y) + x**2
    return h


def layer_loss(x, W, b):
    h = np.tanh(W @ x + b)  # (2, 3) @ (3,) + (2,)
    z = np.maximum(h, 0.1) ** 2
    z += np.exp(-h) / 3
    scale = np.sqrt(np.dot(x, x)) * np.ones((2, 1))  # broadcasts to (2, 2)
    return np.sum(z) + np.mean(W.T @ h) + abs(b).sum() + np.mean(scale * h) + h.dot(b)


def _text(result: Answer, span: Any) -> str:
    return result.source[span[0]:span[1]]


def test_a_traced_function_gives_backprops_result_for_the_same_expression() -> None:
    traced = trace(sin_and_square, x=1.5, y=2.0)
    parsed = backprop("sin(x*y) + x**2", x=1.5, y=2.0)
    assert isinstance(traced, Answer)
    assert [n.op for n in traced.nodes] == [n.op for n in parsed.nodes]
    assert [e.source for e in traced.edges] == [e.source for e in parsed.edges]
    assert len(traced.backward) == len(parsed.backward)
    x, y = 1.5, 2.0
    assert_close(traced.gradients["x"], y * math.cos(x * y) + 2 * x)
    assert_close(traced.gradients["y"], x * math.cos(x * y))
    assert traced.check is not None and all(entry.ok for entry in traced.check.entries)


def test_numpy_ufuncs_functions_matmul_and_broadcasting_match_finite_differences() -> None:
    result = trace(layer_loss, x=X, W=W, b=B)
    assert_close(result.output.value, layer_loss(X, W, B))
    for name, value in {"x": X, "W": W, "b": B}.items():
        def along(v: np.ndarray, name: str = name) -> float:
            return float(layer_loss(**{"x": X, "W": W, "b": B, name: v}))
        assert_close(result.gradients[name], central_difference(along, value), rtol=1e-6,
                     atol=1e-8)
    ops = {node.op for node in result.nodes}
    assert {"matmul", "tanh", "max", "pow", "exp", "sum", "mean", "transpose", "abs",
            "sqrt"} <= ops


def test_the_source_is_the_functions_own_lines_and_each_span_its_expression() -> None:
    result = trace(layer_loss, x=X, W=W, b=B)
    assert result.source == inspect.getsource(layer_loss)
    by_text = {_text(result, node.span): node for node in result.nodes}
    assert by_text["W @ x"].op == "matmul"
    assert by_text["np.tanh(W @ x + b)"].name == "h"  # named by its assignment
    assert by_text["z += np.exp(-h) / 3"].op == "add" and by_text[
        "z += np.exp(-h) / 3"].name == "z"
    assert by_text["np.dot(x, x)"].op == "matmul"
    assert by_text["W.T"].op == "transpose"
    assert by_text["abs(b).sum()"].op == "sum"
    inputs = {node.name: _text(result, node.span) for node in result.nodes if node.op == "input"}
    assert inputs == {"x": "x", "W": "W", "b": "b"}  # the parameters of the def line
    first_line = result.source.splitlines()[0]
    assert _text(result, result.nodes[0].span) == "x" and first_line.startswith("def layer_loss")


class Model:
    """A method, indented in its class, traced as a bound method."""

    def loss(self, w, x):
        """A neuron's squared error."""
        y = 1 / (1 + np.exp(-(w * x)))
        return (y - 0.5) ** 2


def test_a_method_traces_with_its_indented_lines() -> None:
    result = trace(Model().loss, w=0.8, x=-1.5)
    y = 1 / (1 + math.exp(0.8 * 1.5))
    assert_close(result.gradients["w"], 2 * (y - 0.5) * y * (1 - y) * -1.5)
    node = next(n for n in result.nodes if n.name == "y")
    assert _text(result, node.span) == "1 / (1 + np.exp(-(w * x)))"


def uses_cumsum(x):
    total = np.cumsum(x)
    return np.sum(total)


def uses_math(x):
    return math.exp(x)


def branches(x):
    if x > 0:
        return x
    return -x


def sums_with_a_dtype(x):
    return np.sum(x, dtype=float)


def indexes_with_itself(x):
    return x[x] * 2


@pytest.mark.parametrize(("f", "named", "kind", "at"), [
    (uses_cumsum, "np.cumsum", "unknown_function", "np.cumsum(x)"),
    (branches, "comparing", "forbidden", "x > 0"),
    (uses_math, "np.exp", "forbidden", "math.exp(x)"),
    (sums_with_a_dtype, "dtype", "unknown_function", "np.sum(x, dtype=float)"),
    (indexes_with_itself, "indexing with a traced value", "forbidden", "x[x]"),
])
def test_what_the_op_table_lacks_is_refused_by_name_at_its_expression(
        f: Any, named: str, kind: str, at: str) -> None:
    with pytest.raises(ChainruleError) as info:
        trace(f, x=np.array([1.0, 2.0]))
    err = info.value
    assert named in err.message and err.kind == kind
    assert err.span is not None
    assert inspect.getsource(f)[err.span[0]:err.span[1]] == at


def test_a_function_that_does_not_return_a_scalar_is_refused() -> None:
    with pytest.raises(ChainruleError) as info:
        trace(lambda x: x * 2, x=[1.0, 2.0])
    assert info.value.kind == "shape"


def test_missing_values_are_named() -> None:
    with pytest.raises(ChainruleError, match="y"):
        trace(sin_and_square, x=1.0)


def test_a_loop_of_1500_steps_traces_past_pythons_recursion_limit() -> None:
    def chain(x):
        for _ in range(1500):
            x = np.tanh(x) * 1.001
        return x

    result = trace(chain, x=0.3, check=False)
    value, slope = 0.3, 1.0
    for _ in range(1500):
        t = math.tanh(value)
        slope *= (1 - t * t) * 1.001
        value = t * 1.001
    assert_close(result.gradients["x"], slope)


# ------------------------------------------------- random numpy functions, against finite differences

NUMPY_NAMES = {"sin": "np.sin", "cos": "np.cos", "tanh": "np.tanh", "exp": "np.exp",
               "atan": "np.arctan", "sqrt": "np.sqrt", "log": "np.log", "max": "np.maximum",
               "min": "np.minimum", "sigmoid": "sigmoid", "softplus": "softplus"}
HELPERS = {"np": np, "sigmoid": lambda u: 1 / (1 + np.exp(-u)),
           "softplus": lambda u: np.log(1 + np.exp(u))}


def _floats(tree: tuple[Any, ...]) -> tuple[Any, ...]:
    """Constants as floats, so that numpy never meets an integer to a negative power."""
    if tree[0] == "num":
        return ("num", float(tree[1]))
    return tuple(_floats(t) if isinstance(t, tuple) else t for t in tree)


def _numpy_function(tree: tuple[Any, ...]) -> Any:
    """The tree as a Python function of x, y, z written with numpy (our own test text)."""
    body = re.sub(r"\b(\w+)\(", lambda m: NUMPY_NAMES.get(m.group(1), m.group(1)) + "(",
                  render(_floats(tree)))
    namespace: dict[str, Any] = dict(HELPERS)
    exec(f"def f(x, y, z):\n    return {body}\n", namespace)  # noqa: S102 (generated in the test)
    return namespace["f"], body


@deterministic(120)
@given(_scalar_trees(_leaves(VARS)).filter(lambda t: "var" in repr(t)), points)
def test_traced_numpy_functions_match_finite_differences(tree: tuple[Any, ...],
                                                         point: dict[str, float]) -> None:
    seen: list[float] = []
    try:
        evaluate(tree, point, seen)
        fd = central_difference(lambda p: evaluate(tree, dict(zip(VARS, p))),
                                np.array([point[v] for v in VARS]))
    except Skip:
        assume(False)
    f, body = _numpy_function(tree)
    result = trace(f, point, check=False)
    for k, name in enumerate(VARS):
        ours = float(result.gradients[name])  # type: ignore[arg-type]
        assert abs(ours - fd[k]) <= 1e-5 * abs(fd[k]) + 1e-7 * (1 + max(seen)), (body, name)
