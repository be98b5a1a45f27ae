"""The parser: what it accepts, and the span of everything it refuses."""

from __future__ import annotations

import pytest
from chainrule.errors import ChainruleError
from chainrule.readers.parsing import parse


def test_caret_is_power_with_power_precedence() -> None:
    program = parse("x + y^2")
    expr = program.statements[0].expr
    assert expr.op == "add"
    assert expr.args[1].op == "pow"


def test_unary_minus_binds_looser_than_power() -> None:
    expr = parse("-x**2").statements[0].expr
    assert expr.op == "neg" and expr.args[0].op == "pow"


def test_program_lines_and_semicolons_and_comments() -> None:
    program = parse("a = 1  # input\nb = a * 2; b + 1\n")
    assert [s.target for s in program.statements] == ["a", "b", None]


def test_newlines_inside_brackets_join_lines() -> None:
    program = parse("W = [[1, 2],\n     [3, 4]]\nsum(W)")
    assert program.statements[0].expr.value == [[1.0, 2.0], [3.0, 4.0]]


def test_spans_are_character_offsets_even_after_non_ascii() -> None:
    source = "θ = 1\nsin(θ * x)"
    call = parse(source).statements[1].expr
    assert source[call.span[0]:call.span[1]] == "sin(θ * x)"


def test_twenty_thousand_term_line_parses_without_recursion() -> None:
    program = parse("+".join(["x"] * 20_000))
    assert program.statements[0].expr.op == "add"


def _text(source: str, span: tuple[int, int]) -> str:
    return source[span[0]:span[1]]


@pytest.mark.parametrize(("operator", "op"), [("+=", "add"), ("-=", "sub"), ("*=", "mul"),
                                              ("/=", "div"), ("**=", "pow"), ("@=", "matmul")])
def test_augmented_assignment_applies_its_operator_to_the_name_and_the_whole_right_side(
        operator: str, op: str) -> None:
    source = f"c = 2\nc {operator} c + 1"
    stmt = parse(source).statements[1]
    assert stmt.target == "c" and _text(source, stmt.target_span or (0, 0)) == "c"
    assert stmt.expr.op == op and _text(source, stmt.expr.span) == f"c {operator} c + 1"
    read, rhs = stmt.expr.args
    assert read.kind == "name" and read.name == "c" and read.span == (6, 7)
    assert rhs.op == "add" and _text(source, rhs.span) == "c + 1"


def test_method_call_applies_the_function_to_the_value_before_the_dot() -> None:
    source = "y = (b + a).relu() * n.tanh()"
    mul = parse(source).statements[0].expr
    relu, tanh = mul.args
    assert (relu.op, _text(source, relu.span)) == ("relu", "(b + a).relu()")
    assert relu.args[0].op == "add" and _text(source, relu.args[0].span) == "b + a"
    assert (tanh.op, _text(source, tanh.span)) == ("tanh", "n.tanh()")
    assert tanh.args[0].name == "n" and _text(source, tanh.args[0].span) == "n"


def test_method_calls_chain_and_mix_with_transpose() -> None:
    source = "x.exp().log().T.sum()"
    total = parse(source).statements[0].expr
    assert [total.op, total.args[0].op, total.args[0].args[0].op] == ["sum", "transpose", "log"]
    assert _text(source, total.args[0].args[0].span) == "x.exp().log()"


@pytest.mark.parametrize(
    ("source", "bad", "kind"),
    [
        ("lambda x: x", "lambda", "forbidden"),
        ("[x for x in y]", "for", "forbidden"),
        ("x.__class__", ".__class__", "forbidden"),
        ("x.shape", ".shape", "forbidden"),
        ("'abc' * x", "'", "forbidden"),
        ("__import__(x)", "__import__", "unknown_function"),
        ("eval(x)", "eval", "unknown_function"),
        ("(x)(y)", "(x)", "forbidden"),
        ("x[sin(x)]", "sin(x)", "forbidden"),
        ("x < y", "<", "forbidden"),
        ("sin(x, y)", "sin(x, y)", "arity"),
        ("sinn(x)", "sinn", "unknown_function"),
        ("x + $", "$", "forbidden"),
        ("x y", "y", "syntax"),
        ("x = 2\nx + ", "+", "syntax"),
        ("1e999 * x", "1e999", "limit"),
        ("[1, [2]]", "[1, [2]]", "shape"),
        ("x\ny", "x", "syntax"),
        ("x.foo()", ".foo", "unknown_function"),
        ("x.__class__()", ".__class__", "unknown_function"),
        ("x.max(y)", ".max", "unknown_function"),
        ("x.relu(y, z)", "y, z", "arity"),
        ("x.relu", ".relu", "forbidden"),
        ("x.__class__.relu()", ".__class__", "forbidden"),
        ("x.eval().relu()", ".eval", "unknown_function"),
        ("c = 1\nc %= 2", "%=", "forbidden"),
        ("c = 1\nc += ", "=", "syntax"),
        ("c += += 1", "+=", "syntax"),
        ("(c) += 1", "+=", "syntax"),
        ("c = 1\nc += c.__class__", ".__class__", "forbidden"),
    ],
)
def test_refusals_name_the_problem_and_point_at_it(source: str, bad: str, kind: str) -> None:
    with pytest.raises(ChainruleError) as info:
        parse(source)
    err = info.value
    assert err.kind == kind
    assert err.span is not None
    assert source[err.span[0]:err.span[1]] == bad
    assert err.message


def test_deep_nesting_is_refused_at_the_first_bracket_past_the_limit() -> None:
    source = "(" * 400 + "x" + ")" * 400
    with pytest.raises(ChainruleError) as info:
        parse(source)
    assert info.value.kind == "limit"
    assert info.value.span is not None and source[info.value.span[0]] == "("


def test_too_long_source_is_refused() -> None:
    with pytest.raises(ChainruleError) as info:
        parse("x+" * 400_000 + "x")
    assert info.value.kind == "limit"


# ------------------------------------------------------------------- functions

SOFTPLUS = "@derivative(lambda x: sigmoid(x))\ndef softplus(x):\n    return log(1 + exp(x))\n"


def test_a_def_with_its_return_line_is_a_function_and_calls_resolve_to_it() -> None:
    program = parse("def neuron(w, x, b):\n    return relu(w @ x + b)\n\ny = neuron(W, v, c)")
    neuron = program.functions["neuron"]
    assert neuron.params == ["w", "x", "b"] and not neuron.primitive
    assert neuron.body.op == "relu"
    call = program.statements[0].expr
    assert call.kind == "call" and call.value is neuron
    assert [s.target for s in program.statements] == ["y"]


def test_a_def_may_hold_its_return_on_its_own_line() -> None:
    program = parse("def double(x): return 2 * x\ndouble(y)")
    assert program.functions["double"].body.op == "mul"


def test_derivative_makes_a_primitive_with_one_rule_per_parameter() -> None:
    program = parse(SOFTPLUS + "\n@derivative(lambda x, y: (y, x))\ndef times(x, y):\n"
                    "    return x * y\nz = times(softplus(a), b)")
    softplus, times = program.functions["softplus"], program.functions["times"]
    assert softplus.primitive and [r.op for r in softplus.rule or []] == ["sigmoid"]
    assert [r.name for r in times.rule or []] == ["y", "x"]
    assert program.source[slice(*softplus.decorator_span or (0, 0))] == (
        "@derivative(lambda x: sigmoid(x))")


def test_a_rule_may_call_its_own_function() -> None:
    source = ("@derivative(lambda x: sigmoid(x) * (1 - sigmoid(x)))\ndef sigmoid(x):\n"
              "    return 1 / (1 + exp(-x))\nsigmoid(a)")
    sigmoid = parse(source).functions["sigmoid"]
    assert sigmoid.rule is not None and sigmoid.rule[0].args[0].value is sigmoid


@pytest.mark.parametrize(
    ("source", "bad", "kind"),
    [
        ("def f(x):\n    return f(x)\nf(1)", "f(x)", "recursion"),
        ("y = g(1)\ndef g(x):\n    return x\ny", "g(1)", "recursion"),
        ("def f(x):\n    return h(x)\ndef h(x):\n    return x\nf(1)", "h(x)", "recursion"),
        ("def f(x, y):\n    return x * y\nf(1)", "f(1)", "arity"),
        ("def f(x):\n    return x\nf(1, 2)", "f(1, 2)", "arity"),
        ("def f(x):\n    return x\nf + 1", "f", "unknown_name"),
        ("def f(x):\n    return x\ny = f\ny", "f", "unknown_name"),
        ("def f(x):\n    return x\ndef g(y):\n    return f\ng(1)", "f", "unknown_name"),
        ("def f(x):\n    return x * w\nf(1)", "w", "unknown_name"),
        ("def f(x):\n    return foo(x)\nf(1)", "foo", "unknown_function"),
        ("def f(sin):\n    return sin\nf(1)", "sin", "shadowing"),
        ("def f(f):\n    return f\nf(1)", "f", "shadowing"),
        ("def f(x):\n    return x\ndef g(f):\n    return f\ng(1)", "f", "shadowing"),
        ("def f(x, x):\n    return x\nf(1, 2)", "x", "duplicate"),
        ("def f(x):\n    return x\ndef f(y):\n    return y\nf(1)", "f", "duplicate"),
        ("f = 2\ndef f(x):\n    return x\nf(1)", "f", "duplicate"),
        ("def f(x):\n    return x\nf = 2\nf", "f", "duplicate"),
        ("def f(x):\nf(1)", "def f(x):", "syntax"),
        ("def f(x):\n    y = x\n    return y\nf(1)", "y = x", "syntax"),
        ("def f(x):\n    return x\n    y = 2\nf(1)", "y = 2", "syntax"),
        ("  def f(x):\n    return x\nf(1)", "def f(x):", "syntax"),
        ("return x", "return", "forbidden"),
        ("y = 1\n    return y", "return", "forbidden"),
        ("def f(x):\n    return x\n    return x\nf(1)", "return x", "syntax"),
        ("def f(x):\n    return x\nreturn x", "return x", "syntax"),
        ("def f(x): return\nf(1)", "n", "syntax"),
        ("@derivative(lambda x: x)\ny = 2", "@derivative(lambda x: x)", "syntax"),
        ("@derivative(lambda y: y)\ndef f(x):\n    return x\nf(1)", "lambda y:", "arity"),
        ("@derivative(lambda x, y: x)\ndef f(x, y):\n    return x\nf(1, 2)", "x", "arity"),
        ("@derivative(lambda x: (1, 2))\ndef f(x):\n    return x\nf(1)", "(1, 2)", "arity"),
        ("@derivative(lambda x, y, z: (1, 1, 1))\ndef f(x, y, z):\n    return x\nf(1, 2, 3)",
         "f", "arity"),
        ("@cache(lambda x: x)\ndef f(x):\n    return x\nf(1)", "cache", "unknown_function"),
        ("@derivative(lambda x: w)\ndef f(x):\n    return x\nf(1)", "w", "unknown_name"),
        (("@derivative(lambda x: g(x))\ndef f(x):\n    return x\ndef g(x):\n    return x\n"
         "f(1)"), "g(x)", "recursion"),
        ("y = lambda x: x", "lambda", "forbidden"),
        ("def f(x):\n    return x\ny = x : 2", ":", "forbidden"),
        ("def f(x):\n    return 1e999 * x\nf(1)", "1e999", "limit"),
    ],
)
def test_function_refusals_name_the_problem_and_point_at_it(source: str, bad: str,
                                                            kind: str) -> None:
    with pytest.raises(ChainruleError) as info:
        parse(source)
    err = info.value
    assert (err.kind, source[slice(*err.span or (0, 0))]) == (kind, bad), err.message
    assert err.message


def test_calls_nested_deeper_than_the_limit_are_refused_at_the_def() -> None:
    lines = ["def f0(x):\n    return x + 1"]
    lines += [f"def f{k}(x):\n    return f{k - 1}(x)" for k in range(1, 160)]
    source = "\n".join(lines) + "\nf159(y)"
    with pytest.raises(ChainruleError) as info:
        parse(source)
    assert info.value.kind == "limit"
    assert source[slice(*info.value.span or (0, 0))] == "f150"  # 151 deep, the limit 150
