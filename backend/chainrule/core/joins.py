"""Joining arrays: numpy's concatenate, stack, hstack, vstack and column_stack (and torch's
cat, stack, hstack and vstack) built of the op table's binary `concatenate` and its `index`.

The op table's entries have a fixed arity (one VJP per input, `$u`, `$v` in the templates, a
plan that stacks nodes by their operands' shapes), so k arrays joined are k - 1 binary joins.
They are paired level by level, a balanced tree (((a, b), (c, d)), e), not a chain: a chain's
partial joins grow by one piece at a time, so the values of k pieces of n numbers hold about
k²n/2 numbers, where the tree's hold about kn·log2(k) (an RNN's 50 steps stacked: 25 times
fewer). `stack` gives each array a new axis first (`x[None]`, `x[:, None]`: the `index` op),
then joins them along it; hstack, vstack and column_stack give 0-d and 1-d arrays their
axes as numpy's atleast_1d/atleast_2d do. A join of more than two arrays is a `function`
group named by the function, which opens to its parts. Every reader (the language, `trace`,
`from_torch`) builds its joins here.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ChainruleError, Span
from .graph import GraphBuilder, Node
from .indexing import Component, key_text

# The functions of a list of arrays, by numpy's names (the language's, trace's and torch's).
JOINS = ("concatenate", "stack", "hstack", "vstack", "column_stack")


def join(builder: GraphBuilder, how: str, xs: list[Node], axis: int | None, span: Span,
         name: str | None = None) -> Node:
    """`how` (one of JOINS) of the arrays `xs` along `axis` (hstack, vstack and column_stack
    choose their own), the result named `name` if given."""
    if not xs:
        raise ChainruleError(f"{how} needs at least one array to join", span, "arity")
    if how == "stack":
        return stack(builder, xs, axis, span, name)
    if how == "concatenate":
        with builder.group("function", how, span, at_least=2):
            node = _joined(builder, xs, axis, span)
    else:
        with builder.group("function", how, span, at_least=2):
            grown = [grow(builder, x, _AXES_ADDED[how](len(x.shape)), span) for x in xs]
            along = 0 if how == "vstack" or how == "hstack" and len(grown[0].shape) == 1 else 1
            node = _joined(builder, grown, along, span)
    if name is not None:
        builder.name_node(node, name)
    return node


def stack(builder: GraphBuilder, xs: list[Node], axis: int | None, span: Span,
          name: str | None = None) -> Node:
    """The arrays `xs`, all of one shape, along a new axis `axis` (counting the result's
    axes): each given the new axis (an `index` node, `x[:, None]`), then joined along it."""
    shapes = list(dict.fromkeys(x.shape for x in xs))
    if len(shapes) > 1:
        raise ChainruleError(f"stack needs arrays of one shape, got {_listed(shapes)}", span,
                             "shape")
    rank = len(shapes[0])
    if not isinstance(axis, int) or isinstance(axis, bool) or not -rank - 1 <= axis <= rank:
        raise ChainruleError(f"stack's axis must be an integer from {-rank - 1} to {rank} for "
                             f"arrays of shape {list(shapes[0])}, not {axis!r}", span, "value")
    at = axis % (rank + 1)
    with builder.group("function", "stack", span, at_least=2):
        grown = [grow(builder, x, (slice(None),) * at + (None,), span) for x in xs]
        node = _joined(builder, grown, at, span)
    if name is not None:
        builder.name_node(node, name)
    return node


def grow(builder: GraphBuilder, x: Node, key: tuple[Component, ...], span: Span) -> Node:
    """`x[key]` for a key of slices and Nones (new axes): an `index` node (x itself for an
    empty key)."""
    if not key:
        return x
    return builder.apply("index", [x], span, params={"key": key_text(key)})


def _joined(builder: GraphBuilder, xs: list[Node], axis: int | None, span: Span) -> Node:
    """The arrays joined two at a time, level by level; one array is itself (checked as a
    join's operand; flattened for axis None)."""
    if len(xs) == 1:
        return _alone(builder, xs[0], axis, span)
    level = list(xs)
    while len(level) > 1:
        paired = [builder.apply("concatenate", level[k:k + 2], span,
                                params={"axis": axis}) for k in range(0, len(level) - 1, 2)]
        level = paired + level[len(level) - len(level) % 2:]
    return level[0]


def _alone(builder: GraphBuilder, x: Node, axis: int | None, span: Span) -> Node:
    """concatenate([x]): x itself (its axis checked), or x flattened for axis None."""
    try:
        builder.ops["concatenate"].shape(x.shape, x.shape, axis=axis)
    except ValueError as err:
        raise ChainruleError(f"concatenate: {err}", span, "shape") from None
    if axis is not None or len(x.shape) == 1:
        return x
    return builder.apply("reshape", [x, builder.leaf("const", [0.0] * x.size, span)], span)


def _listed(shapes: list[tuple[int, ...]]) -> str:
    return ", ".join(str(list(s)) for s in shapes)


# The axes hstack, vstack and column_stack give an operand of each rank below theirs (numpy's
# atleast_1d, atleast_2d, and column_stack's column for a vector).
_AXES_ADDED: dict[str, Callable[[int], tuple[Component, ...]]] = {
    "hstack": lambda rank: (None,) if rank == 0 else (),
    "vstack": lambda rank: (None,) * (2 - rank) if rank < 2 else (),
    "column_stack": lambda rank: {0: (None, None), 1: (slice(None), None)}.get(rank, ()),
}
