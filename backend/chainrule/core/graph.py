"""From the syntax tree to the computation graph: one node per input, constant and operation.

A name used twice is one node with two outgoing edges (fan-out). Shapes are inferred here, from
the op table's shape rules, so that a shape mismatch or an oversized array is refused with its
span before any numbers are computed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import networkx as nx  # type: ignore[import-untyped]
import numpy as np

from ..errors import ChainruleError, Deadline, Span, warning
from ..settings import LIMITS, Limits
from .indexing import ARRAY, Component, check_arrays, key_text
from .numbers import all_finite
from .ops import ATOM, OPS, Formula, Op, Params, check_params
from .templates import Operand, fill, params_operand, ref

if TYPE_CHECKING:
    from .plan import Plan

Shape = tuple[int, ...]
NO_FORMULA = Formula("", "")  # a node's until it is given one (a tuple, so shared)
MAX_REF_CHARS = 40  # longer sub-expressions are referred to by node id in formulas

# What a group of nodes is: a line of a program, a call of a user's function, a network's
# layer or neuron, one sample's forward pass, the data loss, the regularization, the data.
GROUP_KINDS = ("statement", "function", "layer", "neuron", "sample", "loss", "regularization",
               "data", "backward")


@dataclass(frozen=True)
class Group:
    """One group of the graph's tree of groups: a named part of the computation.

    `parent` is the index of the group it sits in (None at the top), always smaller than its
    own: a group is made before any group inside it. `span` is the source it stands for, if any.
    """

    index: int
    kind: str  # one of GROUP_KINDS
    name: str
    parent: int | None
    span: Span | None = None


@dataclass(frozen=True)
class Literal:
    """A value the source assigns to an input (`y = -2.0`), and whether `values` overrode it."""

    text: str  # as typed in the source
    line: int  # 1-based
    span: Span
    given: np.ndarray | None  # the value given for the same name in `values`, if any
    overridden: bool  # the given value is in force (else the literal is)


@dataclass(slots=True)  # a graph holds up to 250,000: made and read faster with slots
class Node:
    """One node of the computation graph."""

    id: int  # its place in Graph.nodes (`n<id>` on the wire: node_key)
    op: str  # "input", "const" or a key of OPS
    inputs: list[int]  # the ids of its operands, in order
    span: Span
    shape: Shape
    name: str | None = None
    const: np.ndarray | None = None  # the value of an input or a constant
    requires_grad: bool = False  # depends on some input
    bare: Formula = NO_FORMULA  # how formulas refer to it
    precedence: int = ATOM  # how tightly its formula binds (its op entry's precedence)
    literal: Literal | None = None  # for an input assigned a literal in the source
    group: int | None = None  # the innermost group it belongs to (an index of Graph.groups)
    params: Params = ()  # its op's static params that differ from the defaults (ops.py)
    # A node of a backward graph built by `grad(L, x)` (readers/backward.py): what it stands
    # for, (role, forward node id): "seed" (dL/dL), "local" (a local derivative d y/d u, of the
    # forward node y), "product" (upstream x local along an edge into the forward node u),
    # "sum" (a fan-out's contributions added: dL/du), "gradient" (grad's value, dL/dx).
    stands_for: tuple[str, int] | None = None

    @property
    def size(self) -> int:
        """Number of elements of the node's value."""
        return math.prod(self.shape)

    def ref(self, wrapped: bool) -> tuple[str, str]:
        """(plain, latex) text standing for this node inside a larger formula."""
        return ref(self.bare.plain, self.bare.latex, self.precedence, wrapped)

    @property
    def operand(self) -> Operand:
        """The node as a template's operand: its formula and how tightly it binds."""
        return Operand(self.bare.plain, self.bare.latex, self.precedence)


@dataclass
class Graph:
    """The computation graph: nodes in topological (creation) order.

    A node is created after every node it reads (`GraphBuilder` builds each expression children
    first, and a name refers to a node already built), so its id `n<k>` is its place in a
    topological order, and the edges and layers follow from one pass over the nodes. That is
    the order networkx's `lexicographical_topological_sort` gives, keyed by id; the tests check
    it against networkx on `to_networkx()`, the graph for anyone who wants its algorithms.

    `groups` is a tree of named parts (statements, function calls, layers, neurons, samples,
    ...) over the nodes: each node names its innermost group, each group its parent, parents
    before children. A node in no group sits at the top.
    """

    source: str
    nodes: list[Node]
    output: int  # the id of the node differentiated
    inputs: dict[str, int]  # input name -> node id
    warnings: list[dict[str, object]]
    deadline: Deadline  # checked between nodes by every sweep over the graph
    groups: list[Group] = field(default_factory=list)
    # The op table its nodes' `op` names: the table itself, and a program's own primitives.
    ops: Mapping[str, Op] = field(default_factory=lambda: OPS)

    @cached_property
    def plan(self) -> Plan:
        """How the sweeps compute this graph, stack by stack (plan.py): made on first use, as
        a graph is not changed once built."""
        from .plan import make_plan  # plan.py reads graphs

        return make_plan(self)

    def node(self, node_id: int) -> Node:
        """The node with this id."""
        return self.nodes[node_id]

    def label(self, node: Node) -> str:
        """What a node's card shows: its name, or its shortest mark (the op's symbol: `+`,
        `max`, `σ`; an input's name; a constant's number)."""
        if node.name:
            return node.name
        if node.op in ("input", "const"):
            return node.bare.plain
        return self.ops[node.op].symbol

    def op_work(self, node: Node) -> int:
        """The operations a sweep applies at each element of `node`: 1, but a program's
        primitive runs its body and rule."""
        op = self.ops.get(node.op)
        return op.work if op is not None else 1

    def work(self, node: Node) -> int:
        """The operations a sweep applies at `node`: its elements times its op's work."""
        op = self.ops.get(node.op)  # op_work, inlined: the check weighs every node
        return math.prod(node.shape) * (1 if op is None else op.work)

    def order(self) -> list[Node]:
        """Nodes in topological order (inputs first, output last): the creation order."""
        return list(self.nodes)

    def to_networkx(self) -> nx.MultiDiGraph:
        """The graph for networkx: a node per id, an edge per input keyed by its position."""
        g = nx.MultiDiGraph()
        g.add_nodes_from(n.id for n in self.nodes)
        g.add_edges_from((src, n.id, pos) for n in self.nodes for pos, src in enumerate(n.inputs))
        return g

    def require_scalar_output(self, what: str) -> None:
        """Refuse an array output where `what` (a sentence's subject) needs a single number."""
        out = self.node(self.output)
        if out.shape:
            raise ChainruleError(
                f"{what} needs the output to be a scalar (a single number), but it has shape "
                f"{list(out.shape)}: reduce it with sum(...) or mean(...)", out.span, "shape")

    def edges(self) -> list[tuple[str, int, int, int]]:
        """Every edge as (id, source, target, position), grouped by source node in order, then
        by target and position (networkx's order of `edges(keys=True)`): the ids the answers
        share."""
        outgoing: list[list[tuple[int, int]]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for pos, input_id in enumerate(node.inputs):
                outgoing[input_id].append((node.id, pos))
        edges: list[tuple[str, int, int, int]] = []
        for source, out in zip(self.nodes, outgoing):
            for dst, pos in out:
                edges.append((f"e{len(edges)}", source.id, dst, pos))
        return edges

    def generations(self) -> dict[int, int]:
        """Each node's layer: 0 for nodes without inputs, then 1 + the deepest input's layer."""
        return {node.id: layer for node, layer in zip(self.nodes, self.layers())}

    def layers(self) -> list[int]:
        """`generations()` by node index (the creation order)."""
        layer: list[int] = []
        for node in self.nodes:
            layer.append(1 + max([layer[i] for i in node.inputs], default=-1))
        return layer


def node_key(node_id: int) -> str:
    """A node's id as the answers write it: `n<id>` (inside, ids are integers)."""
    return f"n{node_id}"


_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "theta", "lambda_", "mu", "sigma", "tau",
          "phi", "omega", "eta", "rho", "xi", "pi", "psi", "chi", "kappa", "nu", "zeta"}


_TRAILING_DIGITS = re.compile(r"(.*?[^\d])(\d+)")


def latex_name(name: str) -> str:
    """A name as LaTeX: `W1` -> `W_{1}`, `x_in` -> `x_{in}`, `theta` -> `\\theta`."""
    base, sub = name, ""
    if "_" in name.strip("_"):
        base, sub = name.split("_", 1)
    else:
        match = _TRAILING_DIGITS.fullmatch(name)
        if match:
            base, sub = match.groups()
    base = "\\" + base if base in _GREEK else base.replace("_", r"\_")
    if len(base) > 1 and not base.startswith("\\"):
        base = rf"\mathrm{{{base}}}"
    sub = sub.replace("_", r"\_")
    return f"{base}_{{{sub}}}" if sub else base


def format_number(value: float) -> str:
    """A short, exact-enough text for a constant: 2, 0.5, 1e-08."""
    return f"{value:.6g}"


class GraphBuilder:
    """Adds nodes one at a time, each checked against the limits, then `finish()`es the graph.

    The parser path feeds it statements (`build_graph`); micrograd's graphs and traced Python
    functions feed it inputs, constants and ops directly, so every entry point builds the same
    structure, with the same shapes, formulas and limits. A value given for an input the source
    assigns a literal to overrides it where `overrides` is None or names it (`literal_input`).

    Each importer also fills one tree of groups through it: `group(kind, name, span)` opens a
    group inside the current one for the nodes added within it; `add_group` makes one without
    entering it and `inside(index)` adds nodes to a group made before.
    """

    def __init__(self, source: str, values: Mapping[str, object], limits: Limits = LIMITS,
                 deadline: Deadline | None = None) -> None:
        self.source = source
        self.deadline = deadline or Deadline(limits.max_seconds)
        self.values = dict(values)
        self.limits = limits
        self.nodes: list[Node] = []
        self.inputs: dict[str, int] = {}
        self.total_elements = 0
        self.total_work = 0  # elements x their op's work (settings.Limits.max_total_work)
        self.warnings: list[dict[str, object]] = []
        self.groups: list[Group] = []
        self.current_group: int | None = None  # the group new nodes belong to
        self.ops: Mapping[str, Op] = OPS  # with a program's own primitives, once it has any

    def add_group(self, kind: str, name: str, span: Span | None = None,
                  parent: int | None = None) -> int:
        """A new group inside `parent` (None: at the top), not entered; its index."""
        if kind not in GROUP_KINDS:
            raise ValueError(f"unknown group kind {kind!r}; known: {', '.join(GROUP_KINDS)}")
        if parent is not None and not 0 <= parent < len(self.groups):
            raise ValueError(f"no group {parent} to put a group in")
        self.groups.append(Group(len(self.groups), kind, name, parent, span))
        return len(self.groups) - 1

    def inside(self, index: int | None) -> AbstractContextManager[int | None]:
        """Nodes added within belong to the group `index` (None: to no group)."""
        return _Inside(self, index)

    def group(self, kind: str, name: str, span: Span | None = None, *,
              at_least: int = 1) -> AbstractContextManager[int]:
        """A new group inside the current one, holding the nodes added within. If it ends with
        fewer than `at_least` nodes and no group inside it, it is taken away again (its nodes
        go back to the enclosing group)."""
        return _Opened(self, kind, name, span, at_least)

    def add(self, op: str, inputs: list[int], span: Span, shape: Shape, **kw: object) -> Node:
        self.deadline.check()
        limits = self.limits
        if len(self.nodes) >= limits.max_nodes:
            raise ChainruleError(
                f"the graph would have more than {self.limits.max_nodes:,} nodes; split the "
                "program or simplify it", span, "limit")
        size = math.prod(shape)
        if size > limits.max_array_elements:
            raise ChainruleError(
                f"this value would have {size:,} elements (shape {list(shape)}); the limit is "
                f"{self.limits.max_array_elements:,}", span, "limit")
        self.total_elements += size
        if self.total_elements > limits.max_total_elements:
            raise ChainruleError(
                f"the graph's values would hold more than {self.limits.max_total_elements:,} "
                "numbers in all; use smaller arrays", span, "limit")
        entry = self.ops.get(op)
        work = size * (1 if entry is None else entry.work)
        self.total_work += work
        if self.total_work > limits.max_total_work:
            raise ChainruleError(
                f"one forward and one backward sweep would apply more than "
                f"{self.limits.max_total_work:,} operations (this {op} alone {work:,}: a "
                "function with a rule runs its body and rule at every element); use smaller "
                "arrays or fewer calls", span, "limit")
        node = Node(len(self.nodes), op, inputs, span, shape, group=self.current_group,
                    **kw)  # type: ignore[arg-type]
        self.nodes.append(node)
        return node

    def leaf(self, op: str, value: object, span: Span, name: str | None = None) -> Node:
        """An input (`op="input"`, named) or a constant (`op="const"`) holding `value`."""
        array = self.to_array(value, span, name)
        node = self.add(op, [], span, array.shape, name=name, const=array,
                        requires_grad=op == "input")
        if name:
            node.bare = Formula(name, latex_name(name))
        elif array.ndim == 0:
            text = format_number(float(array))
            node.bare = Formula(text, text)
        else:
            node.bare = Formula(f"c{node.id}", rf"c_{{{node.id}}}")
        return node

    def to_array(self, value: object, span: Span, name: str | None) -> np.ndarray:
        what = f"the value of {name}" if name else "this array"
        try:
            array = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            raise ChainruleError(
                f"{what} is not a number or a rectangular array of numbers (rows of different "
                "lengths?)", span, "value") from None
        if array.size > self.limits.max_array_elements:
            raise ChainruleError(
                f"{what} has {array.size:,} elements; the limit is "
                f"{self.limits.max_array_elements:,}", span, "limit")
        if array.size == 0:  # nothing to differentiate, and softmax or max of nothing fails
            raise ChainruleError(f"{what} is empty: give it at least one number", span, "value")
        if not all_finite(array):
            raise ChainruleError(f"{what} contains NaN or Infinity; inputs must be finite",
                                 span, "value")
        return array

    def apply(self, op_name: str, args: list[Node], span: Span, name: str | None = None,
              params: Mapping[str, object] | None = None) -> Node:
        """A node applying the op-table entry `op_name` to `args` with its static `params`
        (axis, keepdims, ...), its params and shape checked first; formulas refer to it by
        `name` if given, else by its own formula (`sin(x)`, `sum(x, axis=0)`)."""
        op = self.ops[op_name]
        try:
            kept = check_params(op, dict(params)) if params else ()
            shape = op.shape(*[a.shape for a in args], **dict(kept))
        except ValueError as err:
            raise ChainruleError(f"{op_name}: {err}", span, "shape") from None
        node = self.add(op_name, [a.id for a in args], span, shape,
                        requires_grad=any(a.requires_grad for a in args), params=kept)
        if name is not None:
            self.name_node(node, name)
            return node
        node.bare = fill(op.expr, {"p": params_operand(kept),
                                   **{slot: a.operand for slot, a in zip("uvw", args)}}, op)
        node.precedence = op.precedence
        if len(node.bare.plain) > MAX_REF_CHARS or len(node.bare.latex) > 2 * MAX_REF_CHARS:
            node.bare = Formula(f"v{node.id}", rf"v_{{{node.id}}}")
            node.precedence = ATOM
        return node

    def subscript(self, x: Node, key: tuple[Component, ...], arrays: list[np.ndarray],
                  texts: list[str], span: Span, name: str | None = None,
                  index: Node | None = None) -> Node:
        """`x[key]`: an `index` node for a basic key; with integer arrays at the key's `@`s
        (data, with the texts that wrote them), a `gather` node reading them: the node `index`
        itself where one array is a constant already in the graph (`C[X]`), else a constant of
        the arrays broadcast and stacked, its formula the key with each array in its place."""
        text = key_text(key)
        if not arrays:
            return self.apply("index", [x], span, name, {"key": text})
        array = self.checked_arrays(x, key, arrays, span)
        if index is None or len(arrays) > 1 or text != ARRAY:
            index = self.index_constant(key, texts, array, span)
        return self.apply("gather", [x, index], span, name, {"key": text})

    def checked_arrays(self, x: Node, key: tuple[Component, ...], arrays: list[np.ndarray],
                       span: Span) -> np.ndarray:
        """A key's index arrays as one array (broadcast and stacked where there are several),
        checked against `x`'s shape: integers in range of the axes they index. Their size is
        counted from the shapes before any is broadcast: a column and a row of indices would
        otherwise make their product before the limit is met."""
        text = key_text(key)
        try:
            size = len(arrays) * math.prod(np.broadcast_shapes(*(a.shape for a in arrays)))
        except ValueError as err:
            raise ChainruleError(f"{x.bare.plain}[{text}]: {err}", span, "value") from None
        if size > self.limits.max_array_elements:
            raise ChainruleError(
                f"{x.bare.plain}[{text}]: its index arrays broadcast to {size:,} numbers; the "
                f"limit is {self.limits.max_array_elements:,}", span, "limit")
        try:
            stacked = arrays[0] if len(arrays) == 1 else np.stack(np.broadcast_arrays(*arrays))
            array = np.asarray(stacked, dtype=np.float64)
            check_arrays(x.shape, text, array)
        except ValueError as err:
            raise ChainruleError(f"{x.bare.plain}[{text}]: {err}", span, "value") from None
        return array

    def index_constant(self, key: tuple[Component, ...], texts: list[str], array: np.ndarray,
                       span: Span) -> Node:
        """The constant of a key's index arrays, its formula the key with each array's text in
        its place (`arange(n), y`)."""
        places = iter(texts)
        written = ", ".join(next(places) if c == ARRAY else key_text((c,)) for c in key)
        index = self.add("const", [], span, array.shape, const=array)  # empty: no place
        index.bare = Formula(written, written.replace(":", "{:}"))
        return index

    def update(self, x: Node, key: tuple[Component, ...], arrays: list[np.ndarray],
               texts: list[str], value: Node, span: Span, name: str | None = None) -> Node:
        """`x[key] = value` read as a new node (JAX's x.at[key].set(value)): an `index_set`
        for a basic key; with integer arrays at the key's `@`s, a `scatter_set` reading them
        as data (a constant, as a gather's)."""
        text = key_text(key)
        if not arrays:
            return self.apply("index_set", [x, value], span, name, {"key": text})
        index = self.index_constant(key, texts, self.checked_arrays(x, key, arrays, span), span)
        return self.apply("scatter_set", [x, index, value], span, name, {"key": text})

    def input(self, name: str, value: object, span: Span) -> Node:
        """An input named `name` holding `value`: a leaf the gradients are answered for."""
        node = self.leaf("input", value, span, name)
        self.inputs[name] = node.id
        return node

    @staticmethod
    def name_node(node: Node, name: str) -> None:
        """Give a computed node a name (its card and formulas then use it), unless it has one."""
        if node.name is None and node.op not in ("input", "const"):
            node.name = name
            node.bare = Formula(name, latex_name(name))
            node.precedence = ATOM

    def finish(self, out: Node) -> Graph:
        """The graph with `out` (a scalar or an array) as its output; warnings added."""
        for name in self.values:
            self.warnings.append(warning("unused_value", f"a value was given for '{name}', "
                                         "which the program does not use"))
        if not out.requires_grad:
            self.warnings.append(warning("constant_output", "the output does not depend on any "
                                         "input, so there is nothing to differentiate", node_key(out.id),
                                         out.span))
        return Graph(self.source, self.nodes, out.id, self.inputs, self.warnings, self.deadline,
                     self.groups, self.ops)


_OPEN = Group(-1, "statement", "", None)  # the place of a group still open (see _Opened)


class _Inside:
    """`GraphBuilder.inside`: a class, not a generator, as it is entered once a statement."""

    def __init__(self, builder: GraphBuilder, index: int | None) -> None:
        self.builder, self.index, self.outer = builder, index, builder.current_group

    def __enter__(self) -> int | None:
        self.outer, self.builder.current_group = self.builder.current_group, self.index
        return self.index

    def __exit__(self, *exc: object) -> None:
        self.builder.current_group = self.outer


class _Opened:
    """`GraphBuilder.group`: the group is made on entering, and on a normal exit taken away
    again if it holds fewer than `at_least` nodes and no group was made inside it."""

    def __init__(self, builder: GraphBuilder, kind: str, name: str, span: Span | None,
                 at_least: int) -> None:
        self.builder, self.kind, self.name, self.span = builder, kind, name, span
        self.at_least, self.start, self.index, self.outer = at_least, 0, 0, builder.current_group

    def __enter__(self) -> int:
        builder = self.builder
        if self.kind not in GROUP_KINDS:
            raise ValueError(f"unknown group kind {self.kind!r}; known: {', '.join(GROUP_KINDS)}")
        self.start = len(builder.nodes)
        self.outer = builder.current_group
        # Its place is kept; the group itself is made on exit, if it stays (most statements
        # of a deep program are one node, and their group goes again).
        self.index = len(builder.groups)
        builder.groups.append(_OPEN)
        builder.current_group = self.index
        return self.index

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        builder, index = self.builder, self.index
        builder.current_group = self.outer
        if kind is None:
            members = [n for n in builder.nodes[self.start:] if n.group == index]
            if len(members) < self.at_least and index == len(builder.groups) - 1:
                builder.groups.pop()
                for node in members:
                    node.group = self.outer
                return
        builder.groups[index] = Group(index, self.kind, self.name, self.outer, self.span)
