"""The benchmark programs, in four shapes (bench/run.py measures them; tests/test_bounds.py
checks that the largest admitted ones still answer)."""

from __future__ import annotations

from collections.abc import Callable


def chain(nodes: int) -> str:
    """`a1 = sin(x)`, `a2 = sin(a1)`, ...: one node a line, depth = size."""
    lines = ["a1 = sin(x)"] + [f"a{i} = sin(a{i - 1})" for i in range(2, nodes)]
    return "\n".join(lines)


def wide_sum(nodes: int) -> str:
    """One line `sin(0.001*x) + sin(0.002*x) + ...`: 4 nodes a term (constant, *, sin, +)."""
    terms = max(1, nodes // 4)
    return " + ".join(f"sin({(k + 1) / terms:.6g}*x)" for k in range(terms))


def fan_out(nodes: int) -> str:
    """`a{i} = sin(a{i-1} * x) + cos(x) * x`: every line uses x three times (5 nodes a line)."""
    lines = ["a0 = x"] + [f"a{i} = sin(a{i - 1} * x) + cos(x) * x"
                          for i in range(1, max(2, nodes // 5))]
    return "\n".join(lines)


def issue_11(nodes: int) -> str:
    """Issue 11's own program, `x{i} = tanh(x{i-1}) * 0.9 + x0 * 0.1` (6 nodes a line: tanh,
    two constants, two products, a sum; the input x0 used once a line): 1,667 lines for 10,000."""
    return "\n".join(f"x{i} = tanh(x{i - 1}) * 0.9 + x0 * 0.1"
                     for i in range(1, max(2, round(nodes / 6)) + 1))


def unary_chain(nodes: int) -> str:
    """`-----...x`: one line of nodes - 1 negations, each its own generation (issue 25)."""
    return "-" * (nodes - 1) + "x"


def one_line_sum(nodes: int) -> str:
    """`x + x + ... + x`: one line of `nodes` terms, a left-deep tree of nodes - 1 additions
    (one generation each) over the one input x."""
    return " + ".join(["x"] * nodes)


def scaled_sum(nodes: int) -> str:
    """`1*x + 2*x + 3*x + ...`: one line of nodes // 3 terms (a constant, a product and an
    addition each): the products one generation, the additions a chain."""
    return " + ".join(f"{k}*x" for k in range(1, max(2, nodes // 3) + 1))


SHAPES: dict[str, Callable[[int], str]] = {"chain": chain, "wide sum": wide_sum,
                                           "fan-out": fan_out, "issue 11": issue_11}
INPUTS: dict[str, str] = {"issue 11": "x0"}  # each shape's one input, where it is not x


def values(shape: str, x: float = 0.3) -> dict[str, float]:
    """The values a shape's program is run with: its one input set to `x`."""
    return {INPUTS.get(shape, "x"): x}


# Issue 25's deep programs, each at the size the issue measured (20 s, 17.5 s and 13.8 s then):
# one generation a node, so as many of the sweeps' groups as nodes. Input x.
DEEP: dict[str, tuple[Callable[[int], str], int]] = {
    "unary chain": (unary_chain, 200_000),
    "one-line sum": (one_line_sum, 100_000),
    "1*x + 2*x + ...": (scaled_sum, 180_000),  # 60,000 terms
}
