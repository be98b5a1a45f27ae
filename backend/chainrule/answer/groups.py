"""The graph's tree of groups as the answer carries it: columns, one list per field.

A group is a named part of the computation (a statement, a call of a user's function, a
layer, a neuron, a sample, the loss, the regularization, the data); `graph.Group` holds one,
and each importer fills the tree through `GraphBuilder`. The answer keeps one list per field
(group i is `kind[i]`, `name[i]`, `parent[i]`, `span[i]`) and, per node, the index of its
innermost group: -1 stands for "none" (a top-level group, a node in no group).
"""

from __future__ import annotations

from ..core.graph import Graph


def groups_data(graph: Graph) -> dict[str, list[object]]:
    """The tree as JSON-ready columns: kind, name, parent, span per group; node_group per node."""
    return {
        "kind": [g.kind for g in graph.groups],
        "name": [g.name for g in graph.groups],
        "parent": [-1 if g.parent is None else g.parent for g in graph.groups],
        "span": [None if g.span is None else tuple(g.span) for g in graph.groups],
        "node_group": [-1 if n.group is None else n.group for n in graph.nodes],
    }
