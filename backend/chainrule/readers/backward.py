"""The backward pass as a graph of its own: `g = grad(L, x)` built as nodes of the same graph.

For each node on a path from x to L, last to first: its gradient dL/dy (the seed for L; the
sum of its contributions where it fans out), then for each operand u the contribution
dL/dy × dy/du. An elementwise op's local derivative dy/du is its entry's `derivs` template
(the formula the page shows), parsed as an expression of the language and built as nodes that
consume the forward values (`$u`, `$v`, `$w` the operands, `$y` the node); a few ops whose
template is words are written here with table ops (`LOCALS`: relu's [u > 0] is
(sign(u) + sign(u)²)/2), and the ops that are not elementwise by their VJP's shape (`VJPS`:
matmul's g @ vᵀ). What cannot be written with table ops (a gather's scatter-add, ...) is
refused, naming the op and the line.

Every node built sits in a `backward` group named by the call (`grad(L, x)`) and says what
it stands for (`Node.stands_for`). As its nodes are ordinary nodes, a grad line is
differentiated like any other: `h = grad(g, x)` is d²L/dx², and the program's backward sweep
through a grad line gives third derivatives.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Mapping
from typing import Protocol, cast

import numpy as np

from ..core.graph import GraphBuilder, Node
from ..core.joins import join
from ..core.ops import ATOM, Op
from ..errors import ChainruleError, Span
from .parsing import Expr, parse, postorder


class _Expressions(Protocol):
    """A builder of the language's expressions (program.ProgramBuilder)."""

    def expression(self, root: Expr, name: str | None = None,
                   scope: Mapping[str, Node] | None = None) -> Node: ...

# Local derivatives the table writes in words, as expressions of the language (same slots).
LOCALS: dict[str, tuple[str, ...]] = {
    "relu": ("(sign($u) + sign($u)**2) / 2",),  # 1 above 0, 0 at and below (relu's kink rule)
    "max": ("(1 + sign($u - $v)) / 2", "(1 - sign($u - $v)) / 2"),  # a tie: half each
    "min": ("(1 - sign($u - $v)) / 2", "(1 + sign($u - $v)) / 2"),
    "erf": ("2/sqrt(3.141592653589793) * exp(-$u**2)",),
    # with the node's params in braces: 1 above 0, the slope (alpha e^u) at and below
    "leaky_relu": ("(sign($u) + sign($u)**2) / 2 * (1 - {negative_slope}) + {negative_slope}",),
    "elu": ("(sign($u) + sign($u)**2) / 2 * (1 - {alpha} * exp($u)) + {alpha} * exp($u)",),
}
_SLOTS = {"$u": "slot_u", "$v": "slot_v", "$w": "slot_w", "$y": "slot_y"}


def gradient(builder: GraphBuilder, out: Node, wrt: list[Node], seed: Node | None,
             span: Span, label: str) -> Node:
    """The nodes of dL/dx for each x in `wrt` (stacked when several), L being `out`, seeded
    with `seed` (None: 1, for a scalar L), in a `backward` group named `label`."""
    if seed is None and out.shape:
        raise ChainruleError(f"{label}: {_text(out)} has shape {list(out.shape)}, and grad "
                             "differentiates a scalar: reduce it (sum(...)) or give the "
                             "upstream seed, grad(L, x, seed)", span, "shape")
    if seed is not None and seed.shape != out.shape:
        raise ChainruleError(f"{label}: the seed has shape {list(seed.shape)} but "
                             f"{_text(out)} has shape {list(out.shape)}", span, "shape")
    for x in wrt:
        if x.op == "const":
            raise ChainruleError(f"{label}: {_text(x)} is a constant, not an input or a "
                                 "computed value", span, "grad")
    if len(wrt) > 1 and len({x.shape for x in wrt}) > 1:
        raise ChainruleError(f"{label} stacks the gradients, so the names need one shape; "
                             f"they have {', '.join(str(list(x.shape)) for x in wrt)}",
                             span, "shape")
    with builder.group("backward", label, span):
        grads = gradients(builder, out, wrt, seed, span, label)
        result = grads[0] if len(grads) == 1 else join(builder, "stack", grads, 0, span)
        if result.op not in ("input", "const"):
            result.stands_for = ("gradient", wrt[0].id)
        return result


def gradients(builder: GraphBuilder, out: Node, wrt: list[Node], seed: Node | None,
              span: Span, label: str) -> list[Node]:
    """The node of dL/dx for each x in `wrt` (one backward pass), built in the current group."""
    return _Sweep(builder, out, wrt, span, label).run(seed)


class _Sweep:
    """One backward pass built as nodes: gradients by forward node, contributions pending."""

    def __init__(self, builder: GraphBuilder, out: Node, wrt: list[Node], span: Span,
                 label: str) -> None:
        self.builder, self.out, self.wrt, self.span, self.label = builder, out, wrt, span, label
        nodes = builder.nodes[:out.id + 1]
        targets = {x.id for x in wrt}
        self.depends = [False] * len(nodes)
        for node in nodes:
            self.depends[node.id] = node.id in targets or any(
                self.depends[i] for i in node.inputs)
        self.terms: dict[int, list[Node]] = {}
        self.grads: dict[int, Node] = {}

    def run(self, seed: Node | None) -> list[Node]:
        b = self.builder
        if seed is None:
            seed = b.leaf("const", 1.0, self.span)
            seed.stands_for = ("seed", self.out.id)
        if self.depends[self.out.id]:
            self.terms[self.out.id] = [seed]
        for node in reversed(b.nodes[:self.out.id + 1]):
            terms = self.terms.pop(node.id, None)
            if terms is None:
                continue
            g = self.total(node, terms)
            self.grads[node.id] = g
            if node.op in ("input", "const"):
                continue
            op = b.ops[node.op]
            for pos, src in enumerate(node.inputs):
                if self.depends[src] and pos not in op.data:
                    term = self.vjp(op, node, pos, g)
                    if term is not None:
                        self.terms.setdefault(src, []).append(term)
        return [self.grads.get(x.id) or self.zeros(x) for x in self.wrt]

    def zeros(self, x: Node) -> Node:
        node = self.builder.apply("zeros_like", [x], self.span)
        node.stands_for = ("gradient", x.id)
        return node

    def total(self, node: Node, terms: list[Node]) -> Node:
        """dL/d node: its one contribution, or its contributions added (a fan-out)."""
        total = terms[0]
        for term in terms[1:]:
            total = self.builder.apply("add", [total, term], self.span)
            total.stands_for = ("sum", node.id)
        if len(terms) > 1 and node.id not in {x.id for x in self.wrt}:
            self.builder.name_node(total, f"d{_text(self.out)}/d{_text(node, True)}")
        return total

    def vjp(self, op: Op, node: Node, pos: int, g: Node) -> Node | None:
        """The contribution of `node` to its operand `pos`: upstream × local, summed back
        over the axes broadcasting added; None where it is 0."""
        start = len(self.builder.nodes)
        src = self.builder.nodes[node.inputs[pos]]
        if op.elementwise:
            term = self.elementwise(op, node, pos, g)
            if term is not None:
                term = self.unbroadcast(term, src.shape)
        elif _zero(op.derivs[pos].plain):  # argmax, onehot: piecewise constant
            term = None
        else:
            write = VJPS.get(op.name)
            if write is None:
                raise self.refused(op, node)
            term = write(self, node, pos, g)
            if term is None:
                raise self.refused(op, node)
        for made in self.builder.nodes[start:]:
            if made.stands_for is None:
                made.stands_for = ("local", node.id)
        if term is not None and term.id >= start:
            term.stands_for = ("product", src.id)
        return term

    def refused(self, op: Op, node: Node) -> ChainruleError:
        return ChainruleError(
            f"{self.label}: the backward pass of {op.name} ({_text(node)}) cannot be written "
            "with the table's ops yet, so it cannot be built as a graph", self.span, "grad")

    def elementwise(self, op: Op, node: Node, pos: int, g: Node) -> Node | None:
        text = LOCALS[op.name][pos].format(**{**dict(op.params), **dict(node.params)}) \
            if op.name in LOCALS else op.derivs[pos].plain
        if _zero(text):
            return None
        if text in ("1", "-1"):
            return g if text == "1" else self.apply("neg", [g])
        expr = _template(text)
        if expr is None:
            raise self.refused(op, node)
        nodes = self.builder.nodes
        scope = {name: nodes[i] for name, i in zip(("slot_u", "slot_v", "slot_w"), node.inputs)}
        scope["slot_y"] = node
        placed = _placed(expr, self.span)
        local = cast("_Expressions", self.builder).expression(placed, scope=scope) \
            if hasattr(self.builder, "expression") else _built(self.builder, placed, scope)
        return self.apply("mul", [g, local])

    def apply(self, op: str, args: list[Node], **params: object) -> Node:
        return self.builder.apply(op, args, self.span, None, params or None)

    def unbroadcast(self, term: Node, shape: tuple[int, ...]) -> Node:
        """`term` summed back to `shape` over the axes broadcasting added or stretched."""
        while len(term.shape) > len(shape):
            term = self.apply("sum", [term], axis=0)
        for axis, size in enumerate(shape):
            if size == 1 and term.shape[axis] != 1:
                term = self.apply("sum", [term], axis=axis, keepdims=True)
        return term


def _zero(text: str) -> bool:
    """Whether a local derivative's template says 0 (`0`, `0 (indices are ...)`)."""
    return text == "0" or text.startswith("0 (")


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> Expr | None:
    """A template as an expression of the language, its slots as names; None if it is words."""
    code = text.replace("^", "**")
    for slot, name in _SLOTS.items():
        code = code.replace(slot, name)
    try:
        program = parse(code)
    except ChainruleError:
        return None
    if len(program.statements) != 1 or program.statements[0].target is not None:
        return None
    expr = program.statements[0].expr
    names = {e.name for e in postorder(expr) if e.kind == "name"}
    if not names <= set(_SLOTS.values()) or any(e.kind == "call" for e in postorder(expr)):
        return None
    return expr


def _template(text: str) -> Expr | None:
    expr = _parsed(text)
    return None if expr is None else copy.deepcopy(expr)


def _placed(expr: Expr, span: Span) -> Expr:
    """The template's expression with every span at the grad call's (its nodes' source)."""
    stack = [expr]
    while stack:
        e = stack.pop()
        e.span = span
        stack.extend(e.args)
    return expr


def _built(builder: GraphBuilder, root: Expr, scope: Mapping[str, Node]) -> Node:
    """A template's nodes on a builder that is not a program's (the torch reader's): its ops,
    numbers as constants, its slots from `scope`."""
    built: dict[int, Node] = {}
    for expr in postorder(root):
        if expr.kind == "op":
            args = [built.pop(id(a)) for a in expr.args]
            node = builder.apply(expr.op, args, expr.span, None, dict(expr.params) or None)
        elif expr.kind == "name":
            node = scope[expr.name]
        else:
            node = builder.leaf("const", expr.value, expr.span)
        built[id(expr)] = node
    return built[id(root)]


def _text(node: Node, wrapped: bool = False) -> str:
    """How a name of a backward node refers to a forward node: `L`, `(x * y)`."""
    text = node.name or node.bare.plain
    return f"({text})" if wrapped and node.name is None and node.precedence < ATOM else text


# ---------------------------------------------------------------- VJPs not elementwise
# (the sweep, the node, the operand's position, the upstream) -> the contribution, or None
# where it cannot be written (the op is then refused).
Write = Callable[[_Sweep, Node, int, Node], "Node | None"]


def _matmul(s: _Sweep, node: Node, pos: int, g: Node) -> Node | None:
    a, b = (s.builder.nodes[i] for i in node.inputs)
    ranks = (len(a.shape), len(b.shape))
    if ranks == (2, 2):
        return s.apply("matmul", [g, s.apply("transpose", [b])]) if pos == 0 else \
            s.apply("matmul", [s.apply("transpose", [a]), g])
    if ranks == (1, 1):
        return s.apply("mul", [g, b if pos == 0 else a])
    if ranks == (1, 2):  # y = a @ B: da = B @ g, dB = a[:, None] * g
        return s.apply("matmul", [b, g]) if pos == 0 else \
            s.apply("mul", [s.apply("index", [a], key=":, None"), g])
    if ranks == (2, 1):  # y = A @ b: dA = g[:, None] * b, db = A.T @ g
        return s.apply("mul", [s.apply("index", [g], key=":, None"), b]) if pos == 0 else \
            s.apply("matmul", [s.apply("transpose", [a]), g])
    return None


def _spread(mean: bool) -> Write:
    """sum's and mean's VJP: the upstream copied back along the reduced axes (÷ count)."""
    def write(s: _Sweep, node: Node, pos: int, g: Node) -> Node | None:
        u = s.builder.nodes[node.inputs[0]]
        params = dict(node.params)
        axis, keep = params.get("axis"), params.get("keepdims", False)
        axes = _axes(axis, len(u.shape))
        if axes and not keep and len(axes) < len(u.shape):
            key = ", ".join("None" if k in axes else ":" for k in range(len(u.shape)))
            g = s.apply("index", [g], key=key)
        spread = s.apply("mul", [g, s.apply("ones_like", [u])])
        if not mean:
            return spread
        count = math.prod(u.shape[k] for k in axes)
        return s.apply("div", [spread, s.builder.leaf("const", float(count), s.span)])
    return write


def _var(s: _Sweep, node: Node, pos: int, g: Node) -> Node | None:
    """var's VJP: the upstream copied back, times 2 (u - mean(u)) / (n - ddof)."""
    u = s.builder.nodes[node.inputs[0]]
    params = dict(node.params)
    axis, ddof = params.get("axis"), params.get("ddof", 0)
    spread = _spread(mean=False)(s, node, pos, g)
    assert spread is not None
    centered = s.apply("sub", [u, s.apply("mean", [u], axis=axis, keepdims=True)])
    count = math.prod(u.shape[k] for k in _axes(axis, len(u.shape))) - float(ddof)  # type: ignore[arg-type]
    scale = s.builder.leaf("const", 2.0 / count, s.span)
    return s.apply("mul", [spread, s.apply("mul", [scale, centered])])


def _axes(axis: object, rank: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(rank))
    given = (axis,) if isinstance(axis, int) else tuple(axis)  # type: ignore[arg-type]
    return tuple(sorted(k % rank for k in given))


def _softmax(s: _Sweep, node: Node, pos: int, g: Node) -> Node:
    """y * (g - sum(g * y)), softmax being over the whole array."""
    return s.apply("mul", [node, s.apply("sub", [g, s.apply("sum", [s.apply("mul", [g, node])])])])


def _logsumexp(s: _Sweep, node: Node, pos: int, g: Node) -> Node | None:
    """The upstream copied back along the reduced axes, times exp(u - y): the softmax along
    them (a cross entropy's rows), y given back its reduced axes where keepdims dropped them."""
    u = s.builder.nodes[node.inputs[0]]
    if not node.params:
        return s.apply("mul", [g, s.apply("softmax", [u])])
    params = dict(node.params)
    axes = _axes(params.get("axis"), len(u.shape))
    spread = _spread(mean=False)(s, node, pos, g)
    assert spread is not None
    y: Node = node
    if axes and not params.get("keepdims", False) and len(axes) < len(u.shape):
        y = s.apply("index", [node], key=", ".join("None" if k in axes else ":" for k in range(len(u.shape))))
    return s.apply("mul", [spread, s.apply("exp", [s.apply("sub", [u, y])])])


def _index(s: _Sweep, node: Node, pos: int, g: Node) -> Node:
    """A basic index's VJP: the upstream written into zeros at the places read."""
    u = s.builder.nodes[node.inputs[0]]
    return s.apply("index_set", [s.apply("zeros_like", [u]), g], key=dict(node.params)["key"])


def _concatenate(s: _Sweep, node: Node, pos: int, g: Node) -> Node | None:
    axis = dict(node.params).get("axis", 0)
    if not isinstance(axis, int):
        return None
    axis %= len(node.shape)
    first = s.builder.nodes[node.inputs[0]].shape[axis]
    cut = f"0:{first}" if pos == 0 else f"{first}:{node.shape[axis]}"
    return s.apply("index", [g], key=", ".join([":"] * axis + [cut]))


VJPS: dict[str, Write] = {
    "matmul": _matmul,
    "sum": _spread(mean=False),
    "mean": _spread(mean=True),
    "transpose": lambda s, node, pos, g: s.apply("transpose", [g]),
    "permute": lambda s, node, pos, g: s.apply(
        "permute", [g], axes=tuple(int(k) for k in np.argsort(
            np.asarray(dict(node.params)["axes"])))),
    "reshape": lambda s, node, pos, g: s.apply(
        "reshape", [g, s.builder.nodes[node.inputs[0]]]) if pos == 0 else None,
    "var": _var,
    "softmax": _softmax,
    "logsumexp": _logsumexp,
    # along the last axis, kept (torch's cross_entropy and log_softmax): g * exp(u - y)
    "logsumexp_rows": lambda s, node, pos, g: s.apply(
        "mul", [g, s.apply("exp", [s.apply("sub", [s.builder.nodes[node.inputs[0]], node])])]),
    "index": _index,
    "concatenate": _concatenate,
}

