"""The readers: the language, and the numpy, micrograd and PyTorch importers.

Every reader returns the same thing, a `Read`: the finished graph (with its tree of groups),
the names it gave nodes (which `output=` may choose), its own warnings, and the value its
source library computed for the output, to compare. `differentiate.differentiate` takes a
`Read` and every option (mode, seed, Jacobian, output, check); no reader builds an answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..core.graph import Graph


@dataclass(frozen=True)
class Reference:
    """The output's value as the source library computed it, and how far ours may be from it
    before a warning of `kind` says so (`message` has `{ours}` and `{theirs}` to fill)."""

    value: float
    kind: str
    message: str
    rel_tol: float
    abs_tol: float


@dataclass(frozen=True)
class Read:
    """What a reader made of its source.

    `graph`: finished, its output the reader's (the loss, the last line). `outputs`: node ids
    by the names the reader gave them (a local variable, a Value's label, a module's path), the
    last node of a name winning, as the last assignment of a line does. `warnings`: the
    reader's own, after the graph's. `reference`: the source library's output, to compare.
    `scalar_for`: who needs a scalar output (`from_torch`), unless a seed or the Jacobian is
    asked for; None where an array output is answered as it is (programs).
    """

    graph: Graph
    outputs: Mapping[str, int] = field(default_factory=dict)
    warnings: list[dict[str, object]] = field(default_factory=list)
    reference: Reference | None = None
    scalar_for: str | None = None


def named_nodes(graph: Graph) -> dict[str, int]:
    """The computed nodes that have a name, by name (the last of a name winning)."""
    return {node.name: node.id for node in graph.nodes
            if node.name and node.op not in ("input", "const")}
