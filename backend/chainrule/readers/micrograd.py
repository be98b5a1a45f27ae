"""micrograd's graphs in chainrule: a `Value` graph read into our graph, then our engine runs it.

micrograd (karpathy/micrograd) records each `Value`'s operands in `_prev` (a set), the op in
`_op` and the number in `data`. The walk below is iterative, so a chain 5,000 deep is read
where micrograd's own recursive `backward()` stops at Python's recursion limit. The graph has
no source text, so a listing is written as it is read, one line a node (`v7 = v3 * v5`): it is
the result's `source`, every node's span points into it, and it parses back as a program
(with inputs named as Python names: a model's places, `layers[0].neurons[1].w[0]`, are not).

Given the model itself (a micrograd `Module`), its parameters are named by their place and the
nodes grouped by layer, neuron, sample, loss and regularization, as `micrograd_groups` infers
them; the nodes are then made group by group (in an order that is still topological), so that
the listing reads the data, then layer after layer, then the loss and the regularization.
"""

from __future__ import annotations

import heapq
import keyword
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from ..core.graph import Graph, GraphBuilder, Node
from ..core.ops import OPS
from ..core.templates import Operand, pieces
from ..errors import ChainruleError, Span, warning
from ..settings import LIMITS, Limits
from . import Read, Reference
from .micrograd_structure import Path, Structure, infer, is_module, is_value

# micrograd's `_op` strings and the op-table entries they are, read from the table's
# `micrograd` field. `**k` (a power by the number k) is read apart, since k sits in the string.
# micrograd 0.1.0 (PyPI) builds +, *, **k and ReLU; the lecture's Value (nn-zero-to-hero) adds
# tanh and exp. Negation (`* -1`), subtraction (`+ (-b)`) and division (`* b**-1`) arrive as
# micrograd builds them, from those.
MICROGRAD_OPS = {mg_name: op.name for op in OPS.values() for mg_name in op.micrograd}
POWER_PREFIX = "**"
_GENERATED_NAME = re.compile(r"v\d+")


def read_micrograd(loss: Any, inputs: Mapping[str, Any] | Iterable[Any] | None = None,
                   limits: Limits = LIMITS) -> Read:
    """Read a micrograd `Value` graph ending in `loss` (`from_micrograd`'s reading: see
    `chainrule.from_micrograd`). Its computed nodes are named as the listing names them,
    `v<k>`, and by their `label` where a Value has one; `output=` may choose them."""
    if is_module(inputs):
        order = _topological(loss, limits)
        structure = infer(inputs, order)
        names = _parameter_names(inputs, structure)
        order = _grouped(order, structure)
    else:
        names = _input_names(inputs)
        order = _topological(loss, limits)
        structure = Structure()
    reader = _Reader(names, inputs is None, limits, structure.paths)
    for value in order:
        reader.read(value)
    missing = [name for key, name in names.items() if key not in reader.nodes]
    graph = reader.finish(loss)
    unused = [warning("unused_value", f"the input {name} is not part of the loss's graph")
              for name in missing]
    return Read(graph, reader.outputs, unused, Reference(
        float(loss.data), "micrograd_mismatch", "chainrule computes the output as {ours:.17g} "
        "but micrograd's data is {theirs:.17g}: does a Value class here compute an op "
        "differently from micrograd?", rel_tol=1e-9, abs_tol=1e-12))


def _input_names(inputs: Mapping[str, Any] | Iterable[Any] | None) -> dict[int, str]:
    """id(Value) -> the name of the input it is."""
    if inputs is None:
        return {}
    pairs = inputs.items() if isinstance(inputs, Mapping) else (
        (f"p{k}", value) for k, value in enumerate(inputs))
    names: dict[int, str] = {}
    for name, value in pairs:
        if not str(name).isidentifier() or _GENERATED_NAME.fullmatch(str(name)):
            raise ChainruleError(f"the input name {name!r} is not a name chainrule can use: "
                                 "letters, digits and _, and not v<number>", None, "request")
        names[id(_checked(value))] = str(name)
    return names


def _parameter_names(model: Any, structure: Structure) -> dict[int, str]:
    """id(parameter) -> its place in the model (`p<k>` for one the model's attributes hide)."""
    return {id(_checked(p)): structure.names.get(id(p), f"p{k}")
            for k, p in enumerate(model.parameters())}


def _grouped(order: list[Any], structure: Structure) -> list[Any]:
    """The Values in a topological order that takes groups one after the other where it can:
    of the Values whose operands are made, the one first in the tree (then in `order`)."""
    position = {id(value): k for k, value in enumerate(order)}
    waiting = {id(value): len(value._prev) for value in order}
    consumers: dict[int, list[Any]] = {}
    for value in order:
        for operand in value._prev:
            consumers.setdefault(id(operand), []).append(value)
    ready = [(structure.sort_key(v, position[id(v)]), v) for v in order if not v._prev]
    heapq.heapify(ready)
    result: list[Any] = []
    while ready:
        _, value = heapq.heappop(ready)
        result.append(value)
        for consumer in consumers.get(id(value), ()):
            waiting[id(consumer)] -= 1
            if not waiting[id(consumer)]:
                heapq.heappush(ready, (structure.sort_key(consumer, position[id(consumer)]),
                                       consumer))
    return result


def _checked(value: Any) -> Any:
    if not is_value(value):
        raise ChainruleError(f"from_micrograd reads micrograd Values (with data, _prev and _op), "
                             f"not {type(value).__name__}", None, "request")
    return value


def _topological(root: Any, limits: Limits) -> list[Any]:
    """The Values of root's graph, operands before their results, by an iterative DFS."""
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(_checked(root), False)]
    while stack:
        value, done = stack.pop()
        if done:
            order.append(value)
            continue
        if id(value) in seen:
            continue
        seen.add(id(value))
        if len(seen) > limits.max_nodes:
            raise ChainruleError(f"the micrograd graph has more than {limits.max_nodes:,} "
                                 "Values; the limit is the node limit", None, "limit")
        stack.append((value, True))
        stack.extend((_checked(child), False) for child in value._prev)
    return order


class _Reader:
    """Adds one node per Value to a GraphBuilder, writing the listing as it goes."""

    def __init__(self, names: dict[int, str], every_leaf: bool, limits: Limits,
                 paths: Mapping[int, Path]) -> None:
        self.builder = GraphBuilder("", {}, limits)
        self.names = names
        self.paths = paths
        self.groups: dict[Path, int] = {}
        self.every_leaf = every_leaf
        self.nodes: dict[int, Node] = {}
        self.unplaced: set[int] = set()  # constants whose span waits for their first use
        self.lines: list[str] = []
        self.length = 0
        self.used = set(names.values())
        self.outputs: dict[str, int] = {}  # a computed node's names (v<k>, its label): its id

    def read(self, value: Any) -> None:
        """The node of one Value, whose operands have their nodes already, in its group."""
        with self.builder.inside(self.group(self.paths.get(id(value), ()))):
            self.read_value(value)

    def group(self, path: Path) -> int | None:
        """The group at the end of a path of steps, made (parents first) when first met."""
        if not path:
            return None
        if path not in self.groups:
            _, kind, name = path[-1]
            self.groups[path] = self.builder.add_group(kind, name, None, self.group(path[:-1]))
        return self.groups[path]

    def read_value(self, value: Any) -> None:
        op = str(value._op)
        if not op:
            self.nodes[id(value)] = self.leaf(value)
            return
        if id(value) in self.names:
            raise ChainruleError(f"the input {self.names[id(value)]} is computed by micrograd "
                                 f"(op {op!r}), not a leaf: inputs are leaf Values",
                                 None, "request")
        operands = [self.nodes[id(child)] for child in value._prev]
        if op.startswith(POWER_PREFIX):
            exponent = self.constant(_number(op[len(POWER_PREFIX):], op))
            self.nodes[id(value)] = self.operation("pow", [*operands, exponent])
        elif op in MICROGRAD_OPS:
            name = MICROGRAD_OPS[op]
            if OPS[name].arity == 2 and len(operands) == 1:  # `a + a`: one Value in the set
                operands *= 2
            self.nodes[id(value)] = self.operation(name, operands)
        else:
            known = ", ".join([*MICROGRAD_OPS, POWER_PREFIX + "k"])
            raise ChainruleError(f"micrograd's op {op!r} is not in chainrule's op table "
                                 f"(known: {known})", None, "unknown_function")
        node = self.nodes[id(value)]
        self.outputs[f"v{node.id}"] = node.id
        label = str(getattr(value, "label", "") or "")
        if label.isidentifier():
            self.outputs[label] = node.id

    def leaf(self, value: Any) -> Node:
        name = self.names.get(id(value))
        if name is None and not self.every_leaf:
            return self.constant(value.data)
        name = name or self.leaf_name(value)
        self.write(f"{name} = ")
        span = self.write(_text(value.data))
        self.write("\n")
        return self.builder.input(name, float(value.data), span)

    def leaf_name(self, value: Any) -> str:
        label = str(getattr(value, "label", "") or "")
        if label.isidentifier() and not keyword.iskeyword(label) and label not in self.used \
                and not _GENERATED_NAME.fullmatch(label):
            self.used.add(label)
            return label
        return f"v{len(self.builder.nodes)}"

    def constant(self, number: object) -> Node:
        node = self.builder.leaf("const", number, (0, 0))
        self.unplaced.add(node.id)
        return node

    def operation(self, op_name: str, operands: list[Node]) -> Node:
        """Write `v<k> = <operands in the op's notation>`, then add the node over that text."""
        self.write(f"v{len(self.builder.nodes)} = ")
        start = self.length
        refs = dict(zip("uv", operands))
        # The listing is plain text, its operands names or numbers (atoms: never bracketed).
        names = {slot: Operand(self.ref(node), "") for slot, node in refs.items()}
        for piece, slot in pieces(OPS[op_name].expr.plain, names):
            span = self.write(piece)
            if slot and refs[slot].id in self.unplaced:
                refs[slot].span = span
                self.unplaced.discard(refs[slot].id)
        span = (start, self.length)
        self.write("\n")
        return self.builder.apply(op_name, operands, span)

    def ref(self, node: Node) -> str:
        if node.op == "const":
            text = _text(float(node.const)) if node.const is not None else ""
            return f"({text})" if text.startswith("-") else text
        return node.name or f"v{node.id}"

    def write(self, text: str) -> Span:
        """Append text to the listing; the span it takes there."""
        start = self.length
        self.lines.append(text)
        self.length += len(text)
        return (start, self.length)

    def finish(self, loss: Any) -> Graph:
        out = self.nodes[id(loss)]
        self.builder.source = "".join(self.lines)
        self.span_groups()
        return self.builder.finish(out)

    def span_groups(self) -> None:
        """Each group spans the listing from its first node's line to its last's (constants,
        written inside their consumers' lines, have none: a group of them alone, such as the
        data, spans nothing)."""
        groups = self.builder.groups
        starts, ends = [len(self.builder.source)] * len(groups), [0] * len(groups)
        for node in self.builder.nodes:
            index = node.group
            while index is not None and node.op != "const":
                starts[index] = min(starts[index], node.span[0])
                ends[index] = max(ends[index], node.span[1])
                index = groups[index].parent
        source = self.builder.source
        for k, group in enumerate(groups):
            if starts[k] < ends[k]:
                end = source.find("\n", ends[k])
                groups[k] = replace(group, span=(source.rfind("\n", 0, starts[k]) + 1,
                                                 len(source) if end < 0 else end))


def _number(text: str, op: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ChainruleError(f"micrograd's op {op!r} raises to {text!r}, which is not a number",
                             None, "unknown_function") from None


def _text(number: object) -> str:
    """A number as the listing writes it: exact (repr), without a trailing .0."""
    text = repr(float(number))  # type: ignore[arg-type]
    return text.removesuffix(".0")
