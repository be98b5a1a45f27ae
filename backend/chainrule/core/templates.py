"""Formula templates: the op table's `$u`, `$v`, `$w` (the operands) and `$y` (the node), filled.

One fill for every formula chainrule writes: a node's own formula (graph.py), a local
derivative's rule (sweeps.py, and the Python renderer, answer/records.py), a learner's own rule
written with its parameters (readers/rules.py) and micrograd's listing (readers/micrograd.py).
frontend/src/records.js holds the same fill for the page. An operand is bracketed only where
precedence needs it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from .ops import ATOM, Formula, Op

_PLACEHOLDER = re.compile(r"\$([uvwyp])")


class Operand(NamedTuple):
    """What fills a slot: its formula in both notations and how tightly it binds."""

    plain: str
    latex: str
    precedence: int = ATOM


NO_PARAMS = Operand("", "")  # `$p` of a node whose op takes no params, or has the defaults


def params_operand(params: tuple[tuple[str, object], ...]) -> Operand:
    """What fills `$p`, a node's params (ops.py): `, axis=0, keepdims=True` in plain text (as
    numpy spells a call), a subscript in LaTeX (`\\sum_{\\text{axis }0}`); an index's key as
    it stands between the brackets (`1:3, :`)."""
    if not params:
        return NO_PARAMS
    if params[0][0] == "key":  # an index's key is the text between its brackets: x[1:3, :]
        text = str(params[0][1])
        return Operand(text, text.replace("...", r"\ldots").replace(":", "{:}"))
    shown = [(name, format(value, "g") if isinstance(value, float) else value)
             for name, value in params]  # a real param (clip's bound) as `0`, not `0.0`
    plain = "".join(f", {name}={value}" for name, value in shown)
    latex = r",\ ".join(rf"\text{{{name} }}{value}" for name, value in shown)
    return Operand(plain, f"_{{{latex}}}")


def ref(plain: str, latex: str, precedence: int, wrapped: bool) -> tuple[str, str]:
    """A formula (plain, LaTeX) binding `precedence` tightly, as it stands inside a larger one:
    bracketed if `wrapped` and it is compound (a name, a number or a call never is). A function
    of strings, not of an Operand: a v1 answer calls it for tens of thousands of terms."""
    if not wrapped or precedence >= ATOM:
        return plain, latex
    return f"({plain})", rf"\left({latex}\right)"


@functools.lru_cache(maxsize=4096)  # the table's own few dozen, and programs' own rules
def template_parts(text: str) -> list[tuple[str, str, bool]]:
    """A template cut at its placeholders: (text before, slot, already enclosed), once per text.

    A placeholder is enclosed when brackets or a function's argument list already surround it
    (a join's list, `concatenate([$u, $v])`, included).
    """
    parts, start = [], 0
    for m in _PLACEHOLDER.finditer(text):
        before, after = text[: m.start()], text[m.end():]
        enclosed = (before.endswith(("(", "{", ", ", "[")) and after.startswith(
            (")", "}", ",", "$p", "]"))) or (before.endswith(r"\left(") and after.startswith(
                r"\right)"))
        parts.append((text[start:m.start()], m.group(1), enclosed))
        start = m.end()
    parts.append((text[start:], "", False))
    return parts


def needs_brackets(precedence: int, slot: str, op: Op | None) -> bool:
    """Whether an operand binding `precedence` tightly needs brackets in slot `slot` of the
    template of `op` (None: in any formula, where every compound operand gets them)."""
    if op is None:
        return precedence < ATOM
    return precedence < op.precedence or (precedence == op.precedence and op.tight == slot)


def pieces(text: str, operands: Mapping[str, Operand], which: int = 0,
           op: Op | None = None) -> Iterator[tuple[str, str]]:
    """The filled template a piece at a time, in notation `which` (0 plain, 1 LaTeX): the
    template's own text with slot "", then each operand's formula with its slot."""
    for literal, slot, enclosed in template_parts(text):
        yield literal, ""
        if slot:
            yield _placed(operands.get(slot, NO_PARAMS) if slot == "p" else operands[slot],
                          slot, enclosed, which, op), slot


def fill(template: Formula, operands: Mapping[str, Operand], op: Op | None = None) -> Formula:
    """A template's $u, $v (operands) and $y (node) filled, adding parentheses only if needed.

    `op` is the operation the template writes (its node's own formula): operands that bind
    at least as tightly go without parentheses. Without it, every compound operand gets them.
    """
    return Formula(*("".join([literal + _placed(operands.get(slot, NO_PARAMS) if slot == "p"
                                                else operands[slot], slot, enclosed, which, op)
                              if slot else literal
                              for literal, slot, enclosed in template_parts(template[which])])
                     for which in (0, 1)))


def _placed(operand: Operand, slot: str, enclosed: bool, which: int, op: Op | None) -> str:
    """An operand's formula as it stands in slot `slot`: bracketed if precedence needs it."""
    return ref(operand.plain, operand.latex, operand.precedence,
               not enclosed and needs_brackets(operand.precedence, slot, op))[which]
