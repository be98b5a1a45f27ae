"""The parser's replay of lark's LALR actions against lark's own plain parse (the oracles: with
chainrule's lexer, and lark whole with its own lexer): the same statements, spans, values and
refusals, and the same syntax errors, on random programs, random text, the gallery and
micrograd's test."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pytest
from chainrule.errors import ChainruleError
from chainrule.examples import EXAMPLES
from chainrule.readers import parsing
from chainrule.readers.parsing import Program, parse
from chainrule.settings import LIMITS
from hypothesis import given
from hypothesis import strategies as st
from lark import Lark

from .oracles import MORE_OPS_SOURCE
from .test_properties import (
    LITERAL_PROGRAMS,
    TRICKY,
    array_trees,
    deterministic,
    render_array,
    scalar_programs,
    sources,
)

Outcome = list[tuple[object, ...]] | tuple[str, tuple[int, int] | None, str]

# lark whole: its own lexer (not chainrule's one-regex lexer), its parser loop, the same grammar
# and callbacks.
LARK_ALONE = Lark(parsing.GRAMMAR, parser="lalr", lexer="basic", transformer=parsing._ToExpr(),
                  keep_all_tokens=True, maybe_placeholders=False)


def _lark_alone(code: str) -> list[parsing.Statement]:
    return cast("list[parsing.Statement]", LARK_ALONE.parse(code))


def _outcome(source: str, statements_of: Callable[[str], list[parsing.Statement]] | None = None
             ) -> Outcome:
    """The program parse() gives (or, with `statements_of`, parse() reading the statements with
    it), flattened; or the refusal as (message, span, kind)."""
    try:
        if statements_of is None:
            return _flat(parse(source))
        return _flat(parsing._parse(source, LIMITS, statements_of))
    except ChainruleError as err:
        return (err.message, err.span, err.kind)


def _flat(program: Program) -> list[tuple[object, ...]]:
    """Every statement and node in preorder, each with all its fields but its children (so a
    20,000-term line compares without recursion)."""
    rows: list[tuple[object, ...]] = []
    roots = [(stmt.target, stmt.target_span, stmt.span, stmt.expr) for stmt in program.statements]
    for f in program.functions.values():  # a function's body, then its rule's expressions
        roots += [(f.name, f.params, f.span, expr) for expr in [f.body, *(f.rule or [])]]
    for *fields, root in roots:
        rows.append(tuple(fields))
        stack = [root]
        while stack:
            expr = stack.pop()
            rows.append((expr.kind, expr.span, expr.op, expr.value, expr.name, len(expr.args)))
            stack += reversed(expr.args)
    return rows


def assert_same_as_lark(source: str) -> Outcome:
    """parse() gives what lark's plain parse gives (with chainrule's lexer, and lark whole with
    its own): equal Programs, or equal refusals."""
    replayed = _outcome(source)
    assert replayed == _outcome(source, parsing._lark_statements), source
    assert replayed == _outcome(source, _lark_alone), source
    return replayed


def _programs() -> st.SearchStrategy[str]:
    """Valid programs: scalar lines (plain and as micrograd types them), array expressions."""
    return st.one_of(
        scalar_programs().map(lambda program: program[0]),
        scalar_programs(micrograd=True).map(lambda program: program[0]),
        st.sampled_from(((), (2, 3), (3,), (2,))).flatmap(
            lambda shape: array_trees(shape, 3)).map(render_array),
        st.sampled_from([*LITERAL_PROGRAMS, MORE_OPS_SOURCE]),
    )


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """A valid program with one character deleted, doubled or replaced: mostly syntax errors
    and refusals, at every place a line can break."""
    source = draw(_programs())
    at = draw(st.integers(0, len(source) - 1))
    char = draw(st.sampled_from("()[],;=+-*/.\n x1e"))
    edit = draw(st.sampled_from(("delete", "double", "replace", "insert")))
    if edit == "delete":
        return source[:at] + source[at + 1:]
    if edit == "double":
        return source[:at] + source[at] + source[at:]
    if edit == "replace":
        return source[:at] + char + source[at + 1:]
    return source[:at] + char + source[at:]


@deterministic(300)
@given(_programs())
def test_replay_gives_lark_programs_on_random_programs(source: str) -> None:
    assert isinstance(assert_same_as_lark(source), list)


@deterministic(400)
@given(st.one_of(_mutated(), sources(), st.lists(st.sampled_from(TRICKY), min_size=2,
                                                   max_size=4).map("\n".join)))
def test_replay_gives_lark_programs_and_errors_on_broken_programs(source: str) -> None:
    assert_same_as_lark(source)


@pytest.mark.parametrize("source", [str(e["source"]) for e in EXAMPLES] + [MORE_OPS_SOURCE])
def test_replay_gives_lark_programs_on_the_gallery_and_micrograd(source: str) -> None:
    assert isinstance(assert_same_as_lark(source), list)


@pytest.mark.parametrize("source", [
    "+".join(["x"] * 20_000),  # one statement longer than the shapes kept in the cache
    "-" * 5_000 + "x",  # a deep stack of unary minus, reduced at the end
    "v = [" + ", ".join(f"{k / 10}" for k in range(5_000)) + "]\nsum(v)",
    "\n".join(f"a{i} = sin(a{i - 1}) * x" for i in range(1, 2_000)) + "\na1999 + 1",
    "a = 1;;\n; b = a\n\n;b",  # empty statements between separators
    "a = (1,\n 2)",  # a newline inside brackets, then a syntax error
    "f(x; y)",  # a separator inside brackets: the statements around it do not parse alone
    "x = 1\ny = 2 3\nz = sin(x.foo)",  # a syntax error after a line the replay reads well
    "x = sin(x.foo)\ny = 2 3",  # a refusal before a syntax error: the syntax error comes first
    "x = y.relu(1)\ny = sinn(x)\nz = [1, [2]]\nz",  # the first refusal in source order
    "x = 1 \\\n + 2\nx",  # an escaped newline
    "x = 1\r\n\ty = x \f* 2  \r\n\r\n  y  # the end  ",  # blanks of every kind, at the end
    "x = 1 \\\r\n+ 2\r\rx\r",
    "x = 1 # a comment\n\\",
    "",
    "\n;\n",
])
def test_replay_gives_lark_programs_and_errors_on_edge_cases(source: str) -> None:
    assert_same_as_lark(source)


def test_valid_programs_never_need_lark_plain_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """The replay reads valid programs itself (lark's table, its callbacks): the plain parse is
    only a fallback for sources with a syntax error."""
    sources = [str(e["source"]) for e in EXAMPLES] + [MORE_OPS_SOURCE, *LITERAL_PROGRAMS]
    expected = [parsing._parse(s, LIMITS, parsing._lark_statements) for s in sources]

    def refuse(code: str) -> list[parsing.Statement]:
        raise AssertionError(f"fell back to lark's plain parse on {code!r}")

    monkeypatch.setattr(parsing, "_lark_statements", refuse)
    assert [_flat(parse(s)) for s in sources] == [_flat(p) for p in expected]
    with pytest.raises(AssertionError, match="fell back"):
        parse("x = 1 +\nx")

