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
