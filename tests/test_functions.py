"""Programs with functions (`def` with one `return` line) and primitives with the learner's
own derivative rule (`@derivative(lambda x: ...)`), through `backprop()` and the HTTP API:
gradients against sympy's, the check's verdict on each rule, and `output` naming a line."""

from __future__ import annotations

import numpy as np
import pytest
from chainrule import backprop
from chainrule.errors import ChainruleError
from fastapi.testclient import TestClient

from .oracles import assert_close, sympy_gradients

SOFTPLUS = """@derivative(lambda x: sigmoid(x))
def softplus(x):
    return log(1 + exp(x))
"""
WRONG_SIGMOID = """@derivative(lambda x: sigmoid(x))
def sigmoid(x):
    return 1 / (1 + exp(-x))

y = sigmoid(w * x + b)"""
POINT = {"w": 0.8, "x": 1.5, "b": -0.9}

# (program with functions, the same written out for sympy, values)
AGAINST_SYMPY = [
    ("def neuron(w, x, b):\n    return tanh(w * x + b)\n\ny = neuron(a, x, b) * neuron(b, x, a)",
     "y = tanh(a*x + b) * tanh(b*x + a)", {"a": 0.7, "x": -1.3, "b": 0.4}),
    (("def sq(u): return u * u\ndef norm(u, v):\n    return sqrt(sq(u) + sq(v))\n"
     "r = norm(x, y) + sq(norm(y, 2 * x))"),
     "r = sqrt(x**2 + y**2) + (y**2 + 4*x**2)", {"x": 1.2, "y": -0.5}),
    (SOFTPLUS + "\ny = softplus(w * x + b) * softplus(x)",
     "y = log(1 + exp(w*x + b)) * log(1 + exp(x))", POINT),
    (("@derivative(lambda x: cos(x))\ndef mysin(x):\n    return sin(x)\n"
     "def wave(t):\n    return mysin(t) * mysin(2 * t)\n\nz = wave(x) + mysin(w)"),
     "z = sin(x) * sin(2*x) + sin(w)", {"x": 0.9, "w": -0.3}),
    (("@derivative(lambda a, b: (b * a ** (b - 1), a ** b * log(a)))\ndef power(a, b):\n"
     "    return a ** b\n\nq = power(x + 1, y) / y"),
     "q = (x + 1)**y / y", {"x": 1.5, "y": 0.7}),
    (("@derivative(lambda x: sigmoid(x) * (1 - sigmoid(x)))\ndef sigmoid(x):\n"
     "    return 1 / (1 + exp(-x))\n\ny = sigmoid(w * x + b)"),
     "y = 1 / (1 + exp(-(w*x + b)))", POINT),
]


@pytest.mark.parametrize(("source", "written_out", "values"), AGAINST_SYMPY)
def test_gradients_through_functions_and_right_rules_are_sympys(
        source: str, written_out: str, values: dict[str, float]) -> None:
    result = backprop(source, values)
    want = sympy_gradients(written_out, values)
    assert set(result.gradients) == set(values)  # functions are never inputs
    for name, grad in want.items():
        assert_close(result.gradients[name], grad)
    assert result.check is not None and result.check.ok
    assert all(rule.ok for rule in result.check.rules)


def test_a_primitive_is_one_node_whose_steps_show_the_learners_rule() -> None:
    result = backprop(SOFTPLUS + "\ny = softplus(w * x + b)", POINT)
    nodes = [n for n in result.nodes if n.op == "softplus"]
    assert len(nodes) == 1 and nodes[0].symbol == "softplus"
    assert result.ops["softplus"].derivs[0].plain == "sigmoid($u)"
    assert result.ops["softplus"].derivs[0].latex == r"\sigma\left($u\right)"
    step = next(s for s in result.backward if s.node == nodes[0].id)
    assert step.terms[0].rule.plain == "sigmoid(w * x + b)"


def test_a_primitive_applies_elementwise_and_broadcasts_like_the_table_op() -> None:
    values = {"w": [[0.5, -1.0, 2.0], [0.1, 0.2, -0.3]], "b": [0.3, -0.2, 0.0]}
    mine = backprop(SOFTPLUS + "\nloss = sum(softplus(w * b + b) * w)", values)
    table = backprop("loss = sum(softplus(w * b + b) * w)", values)
    assert_close(mine.output.value, table.output.value)
    for name in values:
        assert_close(mine.gradients[name], table.gradients[name])
    assert mine.check is not None and mine.check.ok
    assert mine.check.rules[0].elements == 6


def test_forward_mode_through_a_primitive_uses_the_rule_too() -> None:
    source = SOFTPLUS + "\ny = softplus(w * x + b) * x"
    forward = backprop(source, POINT, mode="forward", wrt="x")
    assert forward.tangent is not None
    assert_close(forward.tangent.derivative, backprop(source, POINT).gradients["x"])


def test_the_wrong_sigmoid_fails_the_check_on_exactly_its_rule_with_both_numbers() -> None:
    result = backprop(WRONG_SIGMOID, POINT)
    assert result.check is not None and not result.check.ok
    (rule,) = result.check.rules
    z = 0.8 * 1.5 - 0.9
    s = 1 / (1 + np.exp(-z))
    assert (rule.primitive, rule.argument, rule.ok, rule.wrong) == ("sigmoid", "x", False, 1)
    assert_close(rule.at["x"], z)
    assert_close(rule.rule, s)
    assert_close(rule.numeric, s * (1 - s), rtol=1e-7)
    assert rule.message == (f"your d sigmoid/dx at x = {z:.4g} gives {s:.4g}, finite "
                            f"differences give {s * (1 - s):.4g}")
    node = next(n for n in result.nodes if n.id == rule.node)
    assert node.op == "sigmoid"
    assert WRONG_SIGMOID[slice(*rule.span)] == "sigmoid(w * x + b)"
    assert WRONG_SIGMOID[slice(*rule.decorator_span)] == "@derivative(lambda x: sigmoid(x))"
    assert WRONG_SIGMOID[slice(*rule.def_span)].startswith("def sigmoid(x):")


def test_a_wrong_rule_on_an_array_names_the_element_that_disagrees() -> None:
    source = ("@derivative(lambda x: 2 * x)\ndef cube(x):\n    return x ** 3\n\n"
              "y = sum(cube(v))")
    result = backprop(source, {"v": [0.0, 1.0, 0.5]})
    assert result.check is not None
    (rule,) = result.check.rules
    assert not rule.ok and rule.wrong == 2 and rule.elements == 3  # 3x² = 2x at 0 only
    assert rule.index == [1] and rule.at == {"x": 1.0}
    assert_close(rule.rule, 2.0)
    assert_close(rule.numeric, 3.0)
    assert rule.message.endswith("(2 of 3 elements disagree)")


def test_a_rule_of_two_arguments_is_judged_per_argument() -> None:
    source = ("@derivative(lambda x, y: (y, y))\ndef times(x, y):\n    return x * y\n\n"
              "z = times(a, b)")
    result = backprop(source, {"a": 2.0, "b": 3.0})
    assert result.check is not None
    verdicts = {r.argument: (r.ok, r.rule, r.numeric) for r in result.check.rules}
    assert verdicts["x"][0] and not verdicts["y"][0]
    assert_close(verdicts["y"][1], 3.0)
    assert_close(verdicts["y"][2], 2.0)
    assert result.gradients == {"a": 3.0, "b": 3.0}  # backprop used the rule as written


@pytest.mark.parametrize("route", ["/api/v1/backprop", "/api/v2/backprop"])
def test_the_api_answers_the_wrong_rule_in_the_check(client: TestClient, route: str) -> None:
    r = client.post(route, json={"source": WRONG_SIGMOID, "values": POINT})
    assert r.status_code == 200
    check = r.json()["check"]
    assert not check["ok"]
    (rule,) = check["rules"]
    assert rule["primitive"] == "sigmoid" and rule["argument"] == "x"
    assert rule["message"].startswith("your d sigmoid/dx at x = 0.3 gives 0.5744, finite "
                                      "differences give 0.2445")
    if route.startswith("/api/v2"):  # the answer's op table carries the learner's rule
        assert r.json()["ops"]["sigmoid"]["derivs"][0]["plain"] == "sigmoid($u)"


def test_calls_of_functions_are_groups_named_by_the_call() -> None:
    source = ("def inner(x):\n    return sin(x) * x\n"
              "def outer(x):\n    return inner(x) + inner(2 * x)\n"
              "y = outer(a) * outer(a + 1)")
    groups = backprop(source, {"a": 0.4}).groups
    assert groups is not None
    named = dict(zip(groups.name, zip(groups.kind, groups.parent, groups.span)))
    assert [n for n in groups.name if "#" in n] == ["outer#1", "inner#1", "inner#2", "outer#2",
                                                     "inner#3", "inner#4"]
    for name in ("outer#1", "outer#2"):
        kind, parent, _ = named[name]
        assert kind == "function" and groups.name[parent] == "y"
    for name, outer in [("inner#1", "outer#1"), ("inner#2", "outer#1"), ("inner#4", "outer#2")]:
        assert groups.name[named[name][1]] == outer
    texts = [source[slice(*named[n][2])] for n in ("outer#1", "outer#2", "inner#1", "inner#2")]
    assert texts == ["outer(a)", "outer(a + 1)", "inner(x)", "inner(2 * x)"]


def test_output_names_a_line_and_matches_sympys_derivative_of_it() -> None:
    source = "a = x * y\nh = sin(a) + x ** 2\nout = h * exp(y)"
    values = {"x": 0.6, "y": -1.1}
    result = backprop(source, values, output="h")
    want = sympy_gradients("a = x * y\nh = sin(a) + x ** 2", values)
    for name, grad in want.items():
        assert_close(result.gradients[name], grad)
    assert result.output.label == "h"
    assert result.check is not None and result.check.ok
    full = backprop(source, values)
    assert len(result.nodes) == len(full.nodes)  # the whole program is evaluated
    assert len(result.backward) < len(full.backward)  # the sweep starts at h


def test_output_may_name_a_line_that_calls_functions() -> None:
    source = SOFTPLUS + "\nh = softplus(w * x + b)\nloss = h * h"
    result = backprop(source, POINT, output="h")
    want = sympy_gradients("h = log(1 + exp(w*x + b))", POINT)
    for name, grad in want.items():
        assert_close(result.gradients[name], grad)


@pytest.mark.parametrize(("output", "kind", "text"), [
    ("nope", "unknown_name", None),
    ("x", "output", "x = 2.0"),
    ("v", "shape", "v = x * [1, 2]"),
])
def test_output_refusals(client: TestClient, output: str, kind: str, text: str | None) -> None:
    source = "x = 2.0\nv = x * [1, 2]\ns = sum(v)"
    with pytest.raises(ChainruleError) as caught:
        backprop(source, output=output)
    assert caught.value.kind == kind
    assert (source[slice(*caught.value.span)] if caught.value.span else None) == text
    for route in ("/api/v1/backprop", "/api/v2/backprop"):
        r = client.post(route, json={"source": source, "output": output})
        assert r.status_code == 422 and r.json()["error"]["kind"] == kind


def test_output_in_the_api_is_backprops(client: TestClient) -> None:
    body = {"source": "a = x * y\nh = sin(a)\nh * 3", "values": {"x": 0.5, "y": 2.0},
            "output": "a"}
    for route in ("/api/v1/backprop", "/api/v2/backprop"):
        r = client.post(route, json=body)
        assert r.status_code == 200
        assert r.json()["gradients"] == {"x": 2.0, "y": 0.5}
        assert r.json()["cost"]["outputs"] == 1
