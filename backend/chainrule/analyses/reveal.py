"""chainrule's own rule for a named tensor's gradient, written as a line of the language
(ninja mode's "reveal"): `dprobs = dlogprobs * 1/probs`.

A tensor's gradient is the sum, over each use of it, of the consumer's VJP applied to the
consumer's gradient: `d<consumer>` where the consumer is a named tensor, else the consumer's
own sum written in brackets (a statement's inner nodes). An elementwise op's VJP is the upstream
times its local derivative, the op table's `derivs` template filled with the operands' names
(or formulas), summed back over the axes broadcasting added; the few other ops the exercise
meets are written here by their VJP's shape (matmul, sum, mean, amax, reshape, transpose,
concatenate). Where a use cannot be written (indexing's scatter-add, an op not known here),
the tensor has no rule: `reveal_rules` leaves it out. Candidates are only text: `ninja`
evaluates each and keeps those that give chainrule's gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..core.graph import Graph, Node
from ..core.ops import ATOM
from ..core.templates import Operand, fill, params_operand

MAX_DEPTH = 8  # unnamed consumers followed, a statement's inner nodes


def reveal_rules(graph: Graph, names: Mapping[str, int]) -> dict[int, str]:
    """Per named node (by id): `d<name> = <expression>`, where every use can be written."""
    named = {i: name for name, i in names.items()}
    consumers: list[list[tuple[int, int]]] = [[] for _ in graph.nodes]
    for node in graph.nodes[:graph.output + 1]:
        for pos, src in enumerate(node.inputs):
            consumers[src].append((node.id, pos))
    writer = _Writer(graph, named, consumers)
    rules = {}
    for i, name in named.items():
        if i == graph.output or not graph.nodes[i].requires_grad or not consumers[i]:
            continue
        text = writer.gradient(i, 0)
        if text is not None:
            rules[i] = f"d{name} = {text[1:-1] if _bracketed(text) else text}"
    return rules


class _Writer:
    """Texts of the language for a graph's nodes and their gradients."""

    def __init__(self, graph: Graph, named: Mapping[int, str],
                 consumers: list[list[tuple[int, int]]]) -> None:
        self.graph = graph
        self.named = named
        self.consumers = consumers

    def operand(self, i: int) -> Operand:
        """A node as it is written: its name, its number, or its formula."""
        node = self.graph.nodes[i]
        if i in self.named:
            return Operand(self.named[i], self.named[i])
        if node.name:
            return Operand(node.name, node.name)
        if node.op in ("input", "const"):
            return Operand(node.bare.plain, node.bare.latex)
        op = self.graph.ops[node.op]
        filled = fill(op.expr, {**self._slots(node), "p": params_operand(node.params)}, op)
        return Operand(filled.plain, filled.latex, op.precedence)

    def _slots(self, node: Node) -> dict[str, Operand]:
        return {slot: self.operand(src) for slot, src in zip("uvw", node.inputs)}

    def gradient(self, i: int, depth: int) -> str | None:
        """dL/d node i as a sum over its uses; None where one cannot be written."""
        terms = []
        for c, pos in self.consumers[i]:
            consumer = self.graph.nodes[c]
            if not consumer.requires_grad:
                continue
            if c in self.named:
                upstream = f"d{self.named[c]}"
            else:
                if depth >= MAX_DEPTH:
                    return None
                inner = self.gradient(c, depth + 1)
                if inner is None:
                    return None
                upstream = inner if " " not in inner or _bracketed(inner) else f"({inner})"
            term = self.vjp(consumer, pos, upstream)
            if term is None:
                return None
            terms.append(term)
        return " + ".join(terms) if terms else None

    def vjp(self, node: Node, pos: int, g: str) -> str | None:
        """The VJP of `node` for its operand `pos`, at the upstream written `g`."""
        op = self.graph.ops[node.op]
        if pos in op.data:
            return None
        slots = self._slots(node)
        slots["y"] = self.operand(node.id)
        operand = self.graph.nodes[node.inputs[pos]]
        if op.elementwise:
            term = _times(g, fill(op.derivs[pos], slots).plain)
            return None if term is None else _unbroadcast(term, tuple(operand.shape),
                                                          tuple(node.shape))
        write = WRITERS.get(op.name)
        shapes = [tuple(self.graph.nodes[k].shape) for k in node.inputs]
        return None if write is None else write(node, pos, g, slots, shapes)


def _times(g: str, local: str) -> str | None:
    """The upstream times a local derivative, simplified for 1 and -1."""
    if local == "1":
        return g
    if local == "-1":
        return f"-{g}" if " " not in g else f"-({g})"
    if " if " in local or " where " in local or "(" in local and local.startswith("0 "):
        return None  # a kink's words, not an expression
    g_text = g if " " not in g or _bracketed(g) else f"({g})"
    return f"{g_text} * ({local})" if " " in local and not _bracketed(local) else \
        f"{g_text} * {local}"


def _bracketed(text: str) -> bool:
    """Whether one pair of brackets encloses the whole text: `(a + b)`, not `(a) + (b)`."""
    if not (text.startswith("(") and text.endswith(")")):
        return False
    depth = 0
    for k, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if depth == 0 and k < len(text) - 1:
            return False
    return True


def _unbroadcast(term: str, shape: tuple[int, ...], out: tuple[int, ...]) -> str:
    """A gradient of the output's shape summed back to an operand's `shape`."""
    if shape == out:
        return term
    for _ in range(len(out) - len(shape)):
        term = f"sum({term}, axis=0)"
    for axis, size in enumerate(shape):
        if size == 1 and out[len(out) - len(shape) + axis] != 1:
            term = f"sum({term}, axis={axis}, keepdims=True)"
    return term


# A VJP written: (the node, the operand's position, the upstream's text, the operands' texts
# by slot, the operands' shapes) -> the text, or None.
Writer = Callable[[Node, int, str, Mapping[str, Operand], list[tuple[int, ...]]], "str | None"]


def _matmul(node: Node, pos: int, g: str, s: Mapping[str, Operand],
            shapes: list[tuple[int, ...]]) -> str | None:
    a, b = s["u"], s["v"]
    if len(shapes[0]) != 2 or len(shapes[1]) != 2:
        return None
    return f"{_wrap(g)} @ {_wrap(b.plain, b)}.T" if pos == 0 else \
        f"{_wrap(a.plain, a)}.T @ {_wrap(g)}"


def _spread(per: str) -> Writer:
    """sum's and mean's VJP: the upstream copied back along the reduced axes (`/ count` for
    mean); without keepdims, reshaped to the kept shape first."""
    def write(node: Node, pos: int, g: str, s: Mapping[str, Operand],
              shapes: list[tuple[int, ...]]) -> str | None:
        params = dict(node.params)
        axis, keep = params.get("axis"), params.get("keepdims", False)
        upstream = _wrap(g)
        if axis is not None and not keep:
            upstream = f"reshape({g}, sum({s['u'].plain}, axis={axis}, keepdims=True))"
        ones = f"ones_like({s['u'].plain})"
        text = f"{upstream} * {ones}"
        if per == "mean":
            count = _count(shapes[0], axis)
            text = f"{text} / {count}"
        return text
    return write


def _amax(node: Node, pos: int, g: str, s: Mapping[str, Operand],
          shapes: list[tuple[int, ...]]) -> str | None:
    params = dict(node.params)
    shape = shapes[0]
    if len(shape) != 2 or params.get("axis") not in (1, -1) or not params.get("keepdims"):
        return None
    return f"onehot(argmax({s['u'].plain}, 1), {shape[1]}) * {_wrap(g)}"


def _concatenate(node: Node, pos: int, g: str, s: Mapping[str, Operand],
                 shapes: list[tuple[int, ...]]) -> str | None:
    axis = dict(node.params).get("axis", 0)
    if not isinstance(axis, int):
        return None
    axis %= len(node.shape)
    first = shapes[0][axis]
    cut = f"0:{first}" if pos == 0 else f"{first}:{node.shape[axis]}"
    return f"{_wrap(g)}[{':, ' * axis}{cut}]"


WRITERS: dict[str, Writer] = {
    "matmul": _matmul,
    "sum": _spread("sum"),
    "mean": _spread("mean"),
    "amax": _amax,
    "concatenate": _concatenate,
    "reshape": lambda node, pos, g, s, shapes: (
        f"reshape({g}, {s['u'].plain})" if pos == 0 else None),
    "transpose": lambda node, pos, g, s, shapes: f"{_wrap(g)}.T",
}


def _wrap(text: str, operand: Operand | None = None) -> str:
    """A text as an operand of an operator: bracketed unless it is an atom."""
    if operand is not None:
        return text if operand.precedence >= ATOM else f"({text})"
    return text if text.replace("_", "").isalnum() or _bracketed(text) else f"({text})"


def _count(shape: tuple[int, ...], axis: object) -> int:
    if axis is None:
        axes: tuple[int, ...] = tuple(range(len(shape)))
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)  # type: ignore[arg-type]
    count = 1
    for a in axes:
        count *= shape[a]
    return count
