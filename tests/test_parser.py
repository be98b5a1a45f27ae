"""The parser: what it accepts, and the span of everything it refuses."""

from __future__ import annotations

import pytest
from chainrule.errors import ChainruleError
from chainrule.parsing import parse


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
        ("x[0]", "x[0]", "forbidden"),
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
