"""The learner's own primitives: an op-table entry made from a `def` and its `@derivative` rule.

    @derivative(lambda x: 1 / (1 + exp(-x)))
    def softplus(x):
        return log(1 + exp(x))

makes `softplus` one node of the graph, its forward the body and its local derivative by each
parameter the rule's expression in that position. Body and rule are expressions of the
parameters, compiled here into steps (`Code`), each applying an entry of the op table to
earlier steps' results, and run by the op table's own forward functions: nothing is ever
eval'd. A primitive works on numbers and applies elementwise to arrays (its arguments
broadcast together), so its Jacobian is diagonal: its VJP is the upstream gradient times the
rule, and forward mode's JVP follows from it as for any elementwise op. Its formula templates
are the learner's texts, so each backward step shows the rule that was used; `Op.defined` says
where it was written, for the check (check.py) to point at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.ops import (
    ATOM,
    Array,
    Defined,
    Formula,
    Op,
    align_batch,
)
from ..core.templates import Operand, fill
from ..errors import ChainruleError
from .parsing import Expr, Function, postorder

SLOTS = "uv"  # the templates' placeholders for a primitive's operands ($u, $v)


@dataclass(frozen=True)
class Step:
    """One step of a compiled expression: a parameter, a number, or an op on earlier steps."""

    op: Op | None
    param: int = -1  # for a parameter: its position
    value: float = 0.0  # for a number
    operands: tuple[int, ...] = ()  # for an op: the steps it applies to


@dataclass(frozen=True)
class Code:
    """An expression of a function's parameters, as steps in evaluation order (the last is its
    value)."""

    steps: tuple[Step, ...]

    def run(self, args: Sequence[Array]) -> Array:
        """Its value at n points: `args` holds each parameter's n numbers (a flat array)."""
        out: list[Array] = []
        for step in self.steps:
            if step.op is not None:
                out.append(step.op.forward(*(out[i] for i in step.operands)))
            elif step.param >= 0:
                out.append(args[step.param])
            else:
                out.append(np.full(1, step.value))
        return np.broadcast_to(out[-1], args[0].shape)

    def symbolic(self, sp: Any, args: Sequence[object]) -> object:
        """The same expression in sympy, of the symbols `args`."""
        out: list[object] = []
        for step in self.steps:
            if step.op is not None:
                assert step.op.sympy is not None
                out.append(step.op.sympy(sp, *(out[i] for i in step.operands)))
            elif step.param >= 0:
                out.append(args[step.param])
            else:
                out.append(sp.nsimplify(step.value, rational=False))
        return out[-1]

    @property
    def symbolic_ok(self) -> bool:
        """Whether every op it applies has a symbolic counterpart."""
        return all(s.op is None or s.op.sympy is not None for s in self.steps)


def compile_expr(root: Expr, function: Function, ops: Mapping[str, Op]) -> Code:
    """The steps of `root`, an expression of `function`'s parameters. A call of a primitive
    defined above is a step of its op (in `ops`); a call of a plain function, or of `function`
    itself (in its rule), is its body, inlined."""
    steps: list[Step] = []
    _inline(root, list(range(len(function.params))), function, ops, steps, params=True)
    return Code(tuple(steps))


def _inline(root: Expr, bound: list[int], function: Function, ops: Mapping[str, Op],
            steps: list[Step], params: bool = False) -> int:
    """Add the steps of `root` whose parameters are the steps `bound` (or, at the top, the
    parameters themselves); the step of its value. Calls nest at most Function.depth deep."""
    done: dict[int, int] = {}
    for expr in postorder(root):
        operands = tuple(done.pop(id(a)) for a in expr.args)
        if expr.kind == "name":
            k = function_params(expr, function)
            if params:
                steps.append(Step(None, param=k))
            else:
                done[id(expr)] = bound[k]
                continue
        elif expr.kind == "number":
            steps.append(Step(None, value=float(expr.value)))  # type: ignore[arg-type]
        elif expr.kind == "array":
            raise ChainruleError(f"{function.name} has a derivative rule, so it works on "
                                 "numbers (elementwise on arrays): no array literals in its "
                                 "body or rule", expr.span, "shape")
        elif expr.kind == "call" and not _is_op(expr.value, function):
            callee = _callee(expr)
            done[id(expr)] = _inline(callee.body, list(operands), callee, ops, steps)
            continue
        else:
            name = _callee(expr).name if expr.kind == "call" else expr.op
            if name not in ops or expr.params:
                what = "its parameters" if name in ops else f"{name}, read as its parts,"
                raise ChainruleError(f"{function.name} has a derivative rule, so its body and "
                                     f"rule use the op table's primitives alone: {what} cannot "
                                     "be used there", expr.span, "forbidden")
            steps.append(Step(_scalar_op(ops[name], expr), operands=operands))
        done[id(expr)] = len(steps) - 1
    return done[id(root)]


def _callee(expr: Expr) -> Function:
    """The function a call (resolved by the parser) calls."""
    assert isinstance(expr.value, Function)
    return expr.value


def function_params(expr: Expr, function: Function) -> int:
    """The position of the parameter a name in `function`'s body or rule refers to."""
    return function.params.index(expr.name)


def _is_op(callee: object, within: Function) -> bool:
    """A call that is one step: of a primitive, but not of the function whose rule it is."""
    return isinstance(callee, Function) and callee.primitive and callee is not within


def _scalar_op(op: Op, expr: Expr) -> Op:
    try:
        op.shape(*[()] * op.arity)
    except ValueError as err:
        raise ChainruleError(f"{op.name}: {err}", expr.span, "shape") from None
    return op


# ------------------------------------------------------------------------- the op entry


def primitive_op(function: Function, ops: Mapping[str, Op]) -> Op:
    """The op-table entry of a primitive: `function`, which has a derivative rule; `ops` are
    the entries its body and rule may use (the table's, and the primitives defined above)."""
    assert function.rule is not None and function.decorator_span is not None
    body = compile_expr(function.body, function, ops)
    rules = [compile_expr(rule, function, ops) for rule in function.rule]
    name, params = function.name, function.params
    slots = SLOTS[:len(params)]
    call = ", ".join(f"${s}" for s in slots)
    latex_name = _operator(name)
    expr = Formula(f"{name}({call})", rf"{latex_name}\left({call}\right)" if len(params) == 1
                   else rf"{latex_name}({call})")
    derivs = tuple(formula(rule, function, ops, [f"${s}" for s in slots])
                   for rule in function.rule)
    shown = [formula(rule, function, ops, params).plain for rule in function.rule]
    description = (f"Your own primitive {name}({', '.join(params)}) = "
                   f"{formula(function.body, function, ops, params).plain}, differentiated by "
                   "your rule: " + "; ".join(f"d{name}/d{p} = {rule}"
                                            for p, rule in zip(params, shown)) + ".")
    symbolic = body.symbolic_ok
    return Op(name=name, arity=len(params),
              forward=lambda *args: _elementwise(body, align_batch(*args)),
              vjps=tuple(_vjp(rule) for rule in rules), shape=_broadcast_all,
              work=function.work + function.rule_work,
              expr=expr, derivs=derivs, symbol=name, description=description,
              numpy=(), torch=(), micrograd=(),
              sympy=(lambda sp, *args: body.symbolic(sp, args)) if symbolic else None,
              defined=Defined(tuple(params), function.span, function.decorator_span))


def _elementwise(code: Code, args: Sequence[Array]) -> Array:
    """`code` at every element of its arguments, broadcast together."""
    xs = np.broadcast_arrays(*args)
    shape = xs[0].shape
    return code.run([x.reshape(-1) for x in xs]).reshape(shape)


def _vjp(rule: Code) -> Callable[..., Array]:
    """The VJP of a diagonal Jacobian: the upstream gradient times the rule, elementwise."""
    def vjp(g: Array, ans: Array, *args: Array) -> Array:
        return g * _elementwise(rule, args)
    return vjp


def _broadcast_all(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"shapes {', '.join(str(list(s)) for s in shapes)} do not broadcast "
                         "together: numpy compares trailing dimensions, which must be equal or "
                         "1") from None


# ------------------------------------------------------------------------- its formulas


def formula(root: Expr, function: Function, ops: Mapping[str, Op],
            names: Sequence[str]) -> Formula:
    """An expression of `function`'s parameters written out, as the learner wrote it (calls
    kept as calls), each parameter as `names` says (`$u`, `$v` for a template)."""
    done: dict[int, Operand] = {}
    for expr in postorder(root):
        args = [done.pop(id(a)) for a in expr.args]
        if expr.kind == "name":
            name = names[function_params(expr, function)]
            done[id(expr)] = Operand(name, name, ATOM)
        elif expr.kind == "number":
            text = f"{float(expr.value):.6g}"  # type: ignore[arg-type]
            done[id(expr)] = Operand(text, text, ATOM)
        elif expr.kind == "call":
            callee = _callee(expr).name
            plain = ", ".join(a[0] for a in args)
            latex = ", ".join(a[1] for a in args)
            done[id(expr)] = Operand(f"{callee}({plain})",
                                     rf"{_operator(callee)}\left({latex}\right)", ATOM)
        else:
            op = ops[expr.op]
            done[id(expr)] = Operand(*fill(op.expr, dict(zip(SLOTS, args)), op), op.precedence)
    plain, latex, _ = done[id(root)]
    return Formula(plain, latex)


def _operator(name: str) -> str:
    """A function's name in LaTeX, upright."""
    return r"\operatorname{" + name.replace("_", r"\_") + "}"
