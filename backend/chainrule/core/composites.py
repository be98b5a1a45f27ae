"""Composites: functions read as a group of the op table's primitives, not as one of them.

GELU is x * 0.5 * (1 + erf(x / sqrt(2))), SiLU x * sigmoid(x): a learner sees each as a box
named by the function that opens to its parts, and each part's local derivative is the table's
(STYLE.md, round 4: composites stay visible). The language calls them by name (`gelu(x)`:
program.py builds them through `build`), and the torch reader reads `F.gelu`, `F.silu` and
`F.mish` (and their modules) with the same builders; a composite is never an op-table entry,
so adding one is a function here and a line in COMPOSITES.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import Span
from .graph import GraphBuilder, Node


@dataclass(frozen=True)
class Composite:
    """A function of `arity` arrays that a reader builds as its parts."""

    name: str
    arity: int
    formula: str  # what it computes, in the language, of x
    parts: Callable[[GraphBuilder, list[Node], Span], Node]


def build(builder: GraphBuilder, name: str, args: list[Node], span: Span,
          group: str | None = None) -> Node:
    """The nodes of the composite `name` applied to `args`, in a `function` group named
    `group` (default: the composite's name) spanning `span`."""
    with builder.group("function", group or name, span):
        return COMPOSITES[name].parts(builder, args, span)


def gelu(builder: GraphBuilder, x: Node, span: Span) -> Node:
    """Exact GELU: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    def op(name: str, *args: Node | float) -> Node:
        return _op(builder, span, name, *args)
    return op("mul", op("mul", x, 0.5), op("add", 1.0, op("erf", op("div", x, math.sqrt(2)))))


def gelu_tanh(builder: GraphBuilder, x: Node, span: Span) -> Node:
    """GELU's tanh approximation (torch's approximate='tanh'):
    x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))."""
    def op(name: str, *args: Node | float) -> Node:
        return _op(builder, span, name, *args)
    inner = op("add", x, op("mul", 0.044715, op("pow", x, 3.0)))
    return op("mul", op("mul", x, 0.5),
              op("add", 1.0, op("tanh", op("mul", math.sqrt(2 / math.pi), inner))))


def silu(builder: GraphBuilder, x: Node, span: Span) -> Node:
    """SiLU (swish): x * sigmoid(x)."""
    return _op(builder, span, "mul", x, _op(builder, span, "sigmoid", x))


def mish(builder: GraphBuilder, x: Node, span: Span) -> Node:
    """Mish: x * tanh(softplus(x))."""
    return _op(builder, span, "mul", x,
               _op(builder, span, "tanh", _op(builder, span, "softplus", x)))


def _op(builder: GraphBuilder, span: Span, name: str, *args: Node | float) -> Node:
    """A node of the op `name`; a number among `args` is a constant."""
    return builder.apply(name, [a if isinstance(a, Node) else builder.leaf("const", a, span)
                                for a in args], span)


COMPOSITES: dict[str, Composite] = {c.name: c for c in [
    Composite("gelu", 1, "x * 0.5 * (1 + erf(x / sqrt(2)))", lambda b, a, s: gelu(b, a[0], s)),
    Composite("gelu_tanh", 1, "x * 0.5 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))",
              lambda b, a, s: gelu_tanh(b, a[0], s)),
    Composite("silu", 1, "x * sigmoid(x)", lambda b, a, s: silu(b, a[0], s)),
    Composite("mish", 1, "x * tanh(softplus(x))", lambda b, a, s: mish(b, a[0], s)),
]}
