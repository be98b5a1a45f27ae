"""The one fill of formula templates (core/templates.py) that every formula is written with."""

from __future__ import annotations

from chainrule.core.ops import OPS, Formula
from chainrule.core.templates import Operand, fill, pieces

SUM = Operand("a + b", "a + b", 1)
DIFFERENCE = Operand("c - d", "c - d", 1)
POWER = Operand("x ** 2", "x^{2}", 4)
NAME = Operand("x", "x")


def test_an_op_brackets_only_what_binds_less_tightly_or_sits_in_its_tight_slot() -> None:
    assert fill(OPS["sub"].expr, {"u": SUM, "v": DIFFERENCE}, OPS["sub"]) == Formula(
        "a + b - (c - d)", r"a + b - \left(c - d\right)")
    assert fill(OPS["mul"].expr, {"u": SUM, "v": POWER}, OPS["mul"]) == Formula(
        "(a + b) * x ** 2", r"\left(a + b\right) \cdot x^{2}")
    assert fill(OPS["pow"].expr, {"u": POWER, "v": NAME}, OPS["pow"]).plain == "(x ** 2) ** x"


def test_without_an_op_every_compound_operand_is_bracketed_unless_enclosed() -> None:
    assert fill(OPS["pow"].derivs[0], {"u": POWER, "v": NAME}).plain == "x * (x ** 2) ** (x - 1)"
    assert fill(OPS["max"].expr, {"u": SUM, "v": NAME}) == Formula(
        "max(a + b, x)", r"\max(a + b, x)")


def test_pieces_name_the_slot_each_operand_fills() -> None:
    assert list(pieces("$u + $v", {"u": NAME, "v": SUM})) == [
        ("", ""), ("x", "u"), (" + ", ""), ("(a + b)", "v"), ("", "")]


def test_a_joins_list_and_an_index_enclose_their_operands() -> None:
    join = OPS["concatenate"]
    assert fill(join.expr, {"u": SUM, "v": POWER}, join).plain.startswith(
        "concatenate([a + b, x ** 2]")
    assert fill(OPS["index"].expr, {"u": SUM}, OPS["index"]).plain.startswith("(a + b)[")
