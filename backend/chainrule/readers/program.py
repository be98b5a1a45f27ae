"""A program's graph: its statements, calls and literals, built through the one GraphBuilder.

A name used twice is one node with two outgoing edges (fan-out). Each statement of more than one
node is a `statement` group; each call of a plain function a `function` group; a function with
its own derivative rule is one node of an op made for it (`rules.primitive_op`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping

import numpy as np

from ..core.composites import COMPOSITES, build
from ..core.graph import Graph, GraphBuilder, Literal, Node, format_number, node_key
from ..core.indexing import numpy_key, parse_key
from ..core.joins import JOINS, join
from ..core.ops import OPS
from ..errors import ChainruleError, Deadline, Span, warning
from ..settings import LIMITS, Limits
from . import Read
from .backward import gradient
from .parsing import Expr, Function, Program, Statement, literal_value, parse, postorder
from .rules import primitive_op


class ProgramBuilder(GraphBuilder):
    """The GraphBuilder of a program of the language: names bound to nodes (`env`), the calls
    of its functions counted, and its literals as inputs a value may override (`overrides`)."""

    def __init__(self, source: str, values: Mapping[str, object], limits: Limits = LIMITS,
                 deadline: Deadline | None = None,
                 overrides: Collection[str] | None = None) -> None:
        super().__init__(source, values, limits, deadline)
        self.overrides = overrides
        self.env: dict[str, int] = {}
        self.calls: Counter[str] = Counter()  # calls of each of a program's functions so far
        self.data: dict[str, np.ndarray] = {}  # values read as indices, not yet a node
        self.indices: set[str] = set()  # the names the program indexes with (`X` in C[X])

    def define(self, function: Function) -> None:
        """Make a primitive of the program (a function with its own derivative rule) an op of
        this graph's table."""
        self.ops = {**self.ops, function.name: primitive_op(function, self.ops)}

    def expression(self, root: Expr, name: str | None = None,
                   scope: Mapping[str, Node] | None = None) -> Node:
        """Add the nodes of one expression, children first, without recursion but into the
        calls of the program's functions; an operation at its root is given `name` (the line's
        target) as it is made. In a function's body, `scope` binds its parameters."""
        if root.kind == "op" and not any(a.kind == "op" or a.kind == "call" for a in root.args):
            # One operation on names and numbers (`a2 = sin(a1)`, `x * 0.9`): a deep
            # program's usual line, built in the same order without the walk.
            return self._operation(root, [self._leaf(a, scope) for a in root.args], name, scope)
        built: dict[int, Node] = {}
        for expr in postorder(root):
            if expr.kind == "op":
                args = [built.pop(id(a)) for a in expr.args]
                node = self._operation(expr, args, name if expr is root else None, scope)
            elif expr.kind == "call":
                node = self.call(expr, [built.pop(id(a)) for a in expr.args])
            else:
                node = self._leaf(expr, scope)
            built[id(expr)] = node
        return built[id(root)]

    def _operation(self, expr: Expr, args: list[Node], name: str | None,
                   scope: Mapping[str, Node] | None) -> Node:
        """The node of one op of the table on built operands; a gather's index arrays read
        (data, not nodes of the walk); a join's list, its operands (core/joins.py)."""
        if expr.op in JOINS:
            axis = dict(expr.params).get("axis", 0)
            return join(self, expr.op, args, axis, expr.span, name)  # type: ignore[arg-type]
        if expr.op != "gather":
            return self.apply(expr.op, args, expr.span, name, dict(expr.params))
        key = parse_key(str(dict(expr.params)["key"]))
        data: list[Expr] = expr.value  # type: ignore[assignment]
        arrays = [self._index_array(e, scope) for e in data]
        texts = [self.source[e.span[0]:e.span[1]] for e in data]
        named = data[0].kind == "name" and len(data) == 1
        index = self._data_node(data[0], scope) if named else None
        if index is not None and index.op != "const":  # an input's value, used as data here
            index = None
        return self.subscript(args[0], key, arrays, texts, expr.span, name, index)

    def _data_node(self, expr: Expr, scope: Mapping[str, Node] | None) -> Node:
        """The node of a name that indexes: a constant, named, made on its first use."""
        if scope is not None and expr.name in scope:
            return scope[expr.name]
        if expr.name not in self.env:
            with self.inside(None):  # data is shared by every statement: in none of them
                node = self.leaf("const", self.data.pop(expr.name), expr.span, expr.name)
            self.env[expr.name] = node.id
        return self.nodes[self.env[expr.name]]

    def _index_array(self, expr: Expr, scope: Mapping[str, Node] | None) -> np.ndarray:
        """An index array's value: data known before the graph runs. A name given in the
        values is data (a constant named by it, never an input); an input or a constant
        already made gives its value; a computed value is refused."""
        if expr.kind == "op":  # `-i`, `Y[:2]`: the parser lets only these through
            value = self._index_array(expr.args[0], scope)
            if expr.op == "neg":
                return -value
            return value[numpy_key(str(dict(expr.params)["key"]))]
        if expr.kind in ("array", "arange"):
            return self.to_array(expr.value, expr.span, None)
        if scope is not None and expr.name in scope or expr.name in self.env:
            node = scope[expr.name] if scope is not None and expr.name in scope else \
                self.nodes[self.env[expr.name]]
            if node.const is None:
                raise ChainruleError(f"{expr.name} is computed by the program, so it cannot "
                                     "index: an index is data, given in the values or written "
                                     "as a list or arange(n)", expr.span, "value")
            return node.const
        if expr.name in self.values:
            self.data[expr.name] = self.to_array(self.values.pop(expr.name), expr.span,
                                                 expr.name)
        if expr.name in self.data:
            return self.data[expr.name]
        return self.lookup(expr).const  # type: ignore[return-value]  # raises its error


    def apply(self, op_name: str, args: list[Node], span: Span, name: str | None = None,
              params: Mapping[str, object] | None = None) -> Node:
        """A node of the op table's entry `op_name`, or a composite's parts (`gelu(x)`), in a
        `function` group named by it (core/composites.py)."""
        if op_name in COMPOSITES and op_name not in self.ops:
            node = build(self, op_name, args, span)
            if name is not None:
                self.name_node(node, name)
            return node
        return super().apply(op_name, args, span, name, params)

    def _leaf(self, expr: Expr, scope: Mapping[str, Node] | None) -> Node:
        """The node of a name (a parameter in `scope`, or the program's), or of a number or an
        array literal."""
        if expr.kind == "name":
            return scope[expr.name] if scope is not None else self.lookup(expr)
        if expr.kind == "grad":
            return self.grad(expr, scope)
        return self.leaf("const", expr.value, expr.span)

    def grad(self, expr: Expr, scope: Mapping[str, Node] | None) -> Node:
        """`grad(L, x)`, `grad(L, [x, y])`, `grad(L, x, seed)`: L's backward pass built as
        nodes of this graph (readers/backward.py); `hvp(L, x, v)`: grad(grad(L, x), x, v)."""
        count: int = expr.value  # type: ignore[assignment]
        out = self.expression(expr.args[0], scope=scope)
        wrt = [self._leaf(e, scope) for e in expr.args[1:1 + count]]
        seed = [self.expression(e, scope=scope) for e in expr.args[1 + count:]]
        text = self.source[expr.span[0]:expr.span[1]]
        if expr.name == "hvp":
            inner = gradient(self, out, wrt, None, expr.span, f"grad of {text}")
            return gradient(self, inner, wrt, seed[0], expr.span, text)
        return gradient(self, out, wrt, seed[0] if seed else None, expr.span, text)

    def call(self, expr: Expr, args: list[Node]) -> Node:
        """A call of one of the program's functions: a primitive's one node, or the body of a
        plain function inlined, its arguments bound, in a `function` group named `name#k` for
        its k-th call (calls inside it nest; they are at most Function.depth deep)."""
        function: Function = expr.value  # type: ignore[assignment]
        if function.primitive:
            return self.apply(function.name, args, expr.span)
        self.calls[function.name] += 1
        with self.group("function", f"{function.name}#{self.calls[function.name]}", expr.span):
            return self.expression(function.body, scope=dict(zip(function.params, args)))

    def lookup(self, expr: Expr) -> Node:
        if expr.name in self.env:
            return self.nodes[self.env[expr.name]]
        if expr.name in self.values:
            with self.inside(None):  # an input is shared by every statement: in none of them
                node = self.input(expr.name, self.values.pop(expr.name), expr.span)
            self.env[expr.name] = node.id
            return node
        hint = f" (a function: call it, as in {expr.name}(x))" if expr.name in OPS else (
            f": give it a value, with a line `{expr.name} = 1.5` or in `values`")
        raise ChainruleError(f"unknown name '{expr.name}'{hint}", expr.span, "unknown_name")

    def literal_input(self, target: str, span: Span, literal: object) -> None:
        """An input the source assigns a literal to. A value given for it in `values` is in
        force only where `overrides` allows it (None: every value may override); either way
        the answer says which, so that values and literals never disagree silently."""
        given = self.to_array(self.values.pop(target), span, target) \
            if target in self.values else None
        agrees = given is not None and np.array_equal(given, np.asarray(literal, np.float64))
        overridden = given is not None and not agrees and (
            self.overrides is None or target in self.overrides)
        node = self.input(target, given if overridden else literal, span)
        source = self.source
        node.literal = Literal(source[span[0]:span[1]], source.count("\n", 0, span[0]) + 1,
                               span, given, overridden)
        self.env[target] = node.id
        if given is None or agrees:
            return
        where = f"the literal {node.literal.text} of line {node.literal.line}"
        if overridden:
            self.warnings.append(warning(
                "override", f"{target} = {_short(given)} from the values overrides {where}",
                node_key(node.id), span))
        else:
            self.warnings.append(warning(
                "set_aside", f"the value {_short(given)} given for {target} was set aside: "
                f"{where} stands (`overrides` does not name {target})", node_key(node.id), span))

    def statement_target(self, target: str, span: Span, expr: Expr) -> None:
        if target in self.inputs:
            raise ChainruleError(f"{target} is an input already; pick another name", span,
                                 "duplicate")
        literal = literal_value(expr)
        if literal is not None and target in self.indices:  # data, as a value given for it is
            node = self.leaf("const", self.values.pop(target, literal), expr.span, target)
            self.env[target] = node.id
            return
        if literal is not None:
            self.literal_input(target, expr.span, literal)
            return
        if target in self.values:
            self.values.pop(target)
            self.warnings.append(warning("ignored_value", f"{target} is computed by the "
                                         "program, so the value given for it was ignored",
                                         span=span))
        node = self.expression(expr, name=target)
        self.name_node(node, target)  # a line that only renames a node (`b = a`) names it too
        self.env[target] = node.id


def _short(value: np.ndarray) -> str:
    if value.size == 1:
        return format_number(float(value.reshape(())))
    return "an array of shape " + "×".join(map(str, value.shape))


def build_graph(program: Program, values: Mapping[str, object] | None = None,
                limits: Limits = LIMITS, deadline: Deadline | None = None,
                overrides: Collection[str] | None = None, output: str | None = None) -> Graph:
    """Build the computation graph of a parsed program, with `values` giving the inputs.

    The output is the last line's value, or the value a line of the program assigns to the name
    `output` (its last assignment; a scalar): the whole program is built either way, and the
    sweeps differentiate that node.

    A value for an input the source assigns a literal to overrides that literal when
    `overrides` is None or names it; otherwise it is set aside (and reported). Each statement
    of more than one node (inputs aside) is a `statement` group named by its target (`output`
    for a last line that is an expression alone), spanning the whole line.
    """
    builder, out = built_program(program, values, limits, deadline, overrides, output)
    return builder.finish(out)


def built_program(program: Program, values: Mapping[str, object] | None = None,
                  limits: Limits = LIMITS, deadline: Deadline | None = None,
                  overrides: Collection[str] | None = None, output: str | None = None
                  ) -> tuple[ProgramBuilder, Node]:
    """`build_graph`'s builder before it finishes, and the output's node: a caller may add
    nodes (second_order.py adds the backward graph of the output)."""
    builder = ProgramBuilder(program.source, values or {}, limits, deadline, overrides)
    builder.indices = _index_names(program)
    for function in program.functions.values():
        if function.primitive:
            builder.define(function)
    out: Node | None = None
    for stmt in program.statements:
        if _one_operation(stmt.expr):  # one node, so its group would go again: none opened
            out = _statement(builder, stmt)
            continue
        with builder.group("statement", stmt.target or "output", stmt.span, at_least=2):
            out = _statement(builder, stmt)
    assert out is not None
    if output is not None:
        out = _chosen_output(builder, program, output)
    return builder, out


def read_program(source: str, values: Mapping[str, object] | None = None,
                 limits: Limits = LIMITS, deadline: Deadline | None = None,
                 overrides: Collection[str] | None = None, output: str | None = None) -> Read:
    """The language's reader: a program's text parsed and built (see `build_graph`, which
    chooses the line `output` names as the output) into what every reader returns."""
    return Read(build_graph(parse(source, limits), values, limits, deadline, overrides, output))


def _statement(builder: ProgramBuilder, stmt: Statement) -> Node:
    """The nodes of one line; its value's node."""
    if stmt.target is not None and stmt.target_span is not None:
        builder.statement_target(stmt.target, stmt.target_span, stmt.expr)
        return builder.nodes[builder.env[stmt.target]]
    return builder.expression(stmt.expr)


def _index_names(program: Program) -> set[str]:
    """The names a program indexes with (`X` in `C[X]`, `y` in `p[arange(n), y]`): a line
    assigning one a literal makes data, as a value given for it does, not an input."""
    names: set[str] = set()
    roots = [s.expr for s in program.statements] + [f.body for f in program.functions.values()]
    for root in roots:
        for expr in postorder(root):
            if expr.kind == "op" and expr.op == "gather":
                for data in expr.value:  # type: ignore[attr-defined]
                    names.update(e.name for e in postorder(data) if e.kind == "name")
    return names


def _one_operation(expr: Expr) -> bool:
    """Whether a line's expression makes one node in its group: one operation on names alone
    (`a2 = sin(a1)`; a name's first use makes an input, which is in no group)."""
    return expr.kind == "op" and all(a.kind == "name" for a in expr.args)


def _chosen_output(builder: ProgramBuilder, program: Program, name: str) -> Node:
    """The node a line assigns to `name`, as the output: it must be computed, and a scalar."""
    lines = [s for s in program.statements if s.target == name]
    if not lines:
        named = [s.target for s in program.statements if s.target and s.target not in
                 builder.inputs]
        known = f"; the lines computed are: {', '.join(dict.fromkeys(named))}" if named else ""
        raise ChainruleError(f"the output {name!r} is not a name the program assigns{known}",
                             None, "unknown_name")
    node = builder.nodes[builder.env[name]]
    if name in builder.inputs:
        raise ChainruleError(f"{name} is an input: the output must be a value the program "
                             "computes", lines[-1].span, "output")
    if node.shape:
        raise ChainruleError(f"the output {name} has shape {list(node.shape)}: a chosen output "
                             "must be a scalar (a single number); reduce it with sum(...) or "
                             "mean(...) on a line of its own", lines[-1].span, "shape")
    return node
