"""Tracing: a user's own Python function, written with numpy, run on tracer values.

`trace(f, x=1.5, y=2.0)` calls `f(x=<tracer>, y=<tracer>)`. Each tracer stands for one node of
the graph; numpy hands every ufunc (`np.sin`, `np.maximum`, `@`, ...) and every function
(`np.sum`, `np.dot`, ...) called on it to the tracer (numpy's `__array_ufunc__` and
`__array_function__` protocols), and Python's operators call its methods, so each call adds one
node through the op table's `numpy` field. Nothing is computed while tracing, only shapes: the
engine then runs the graph as it runs a parsed program. Each node's span points into the
function's own source (`inspect.getsource`), at the expression the call frame was executing.

Each call of a Python function inside `f` (a helper `layer(x, W)`, wherever it is defined) is a
`function` group named `layer#k` for its k-th call, holding the nodes made while it ran; calls
inside calls nest. Python's own call stack says which calls are running when a node is made;
generator expressions, comprehensions and lambdas (`<genexpr>`, ...) are no groups, nor are
numpy's and chainrule's own functions.

This is the Python API only: it runs the caller's own function, never text from the network.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections import Counter
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

import numpy as np

from ..core.graph import GraphBuilder, Node
from ..core.ops import OPS
from ..errors import ChainruleError, Span
from ..settings import LIMITS, Limits
from . import Read, named_nodes
from .user_source import Source, frame_position

# numpy's function name -> the op-table entry that computes it, read from the table.
NUMPY_OPS = {numpy_name: op.name for op in OPS.values() for numpy_name in op.numpy}
KNOWN = ", ".join(f"np.{name}" for name in NUMPY_OPS)
# numpy's functions that make data of an array's shape, and numpy's names of op params.
DATA_LIKE = frozenset({"zeros_like", "ones_like", "full_like", "empty_like"})
NUMPY_PARAM_NAMES = {"a_min": "min", "a_max": "max"}


def read_numpy(f: Callable[..., Any], inputs: Mapping[str, object],
               limits: Limits = LIMITS) -> Read:
    """Call `f` with a tracer for each named value, and read what it computed (`trace`'s
    reading: see `chainrule.trace`). Its nodes are named by the local variables they are
    assigned to, which `output=` may choose."""
    try:
        inspect.signature(f).bind(**inputs)
    except TypeError as err:
        given = ", ".join(inputs) or "no values"
        raise ChainruleError(f"{_name(f)} cannot be called with {given}: {err}", None,
                             "request") from None
    except ValueError:  # no signature to check (a builtin?): the call itself will tell
        pass
    source = Source.of(f)
    tracer = _Tracing(GraphBuilder(source.text, {}, limits), source, sys._getframe())
    arguments = {name: tracer.input(name, value) for name, value in inputs.items()}
    try:
        out = f(**arguments)
    finally:
        tracer.calls.clear()  # the frames of finished calls, kept only to tell calls apart
    if not isinstance(out, Tracer):
        raise ChainruleError(
            f"{_name(f)} returned {type(out).__name__}, not a value computed from its inputs: "
            "return one number computed from them (reduce arrays with np.sum or np.mean)",
            None, "request")
    graph = tracer.builder.finish(out.node)
    return Read(graph, named_nodes(graph), source.warnings, scalar_for=f"tracing {_name(f)}")


def _name(f: Callable[..., Any]) -> str:
    return getattr(f, "__qualname__", None) or type(f).__name__


def _caller_position(source: Source) -> tuple[int, int, int, int] | None:
    """The position of the expression the traced function is executing now."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and not source.contains(frame.f_code):
        frame = frame.f_back
    if frame is None:
        return None
    return frame_position(frame)


# ------------------------------------------------------------------------- the tracer


# Frames of these directories are no calls of the user's: numpy's functions, chainrule's own.
_LIBRARIES = (os.path.dirname(np.__file__) + os.sep, os.path.dirname(__file__) + os.sep)


class _Tracing:
    """One tracing run: the builder its tracers add nodes to, the source they point into, and
    the calls of Python functions running inside the traced one (`root` is the frame that
    called it), each with its group."""

    def __init__(self, builder: GraphBuilder, source: Source, root: FrameType) -> None:
        self.builder = builder
        self.source = source
        self.root = root
        self.calls: list[tuple[FrameType, int]] = []  # the running calls, outermost first
        self.counts: Counter[str] = Counter()

    def current_group(self) -> int | None:
        """The group of the innermost running call, opening groups for calls begun since."""
        frames = self.user_frames()
        kept = 0
        while kept < min(len(frames), len(self.calls)) and self.calls[kept][0] is frames[kept]:
            kept += 1
        del self.calls[kept:]
        for frame in frames[kept:]:
            self.calls.append((frame, self.open_call(frame)))
        return self.calls[-1][1] if self.calls else None

    def user_frames(self) -> list[FrameType]:
        """The frames of the calls running inside the traced function, outermost first."""
        frames: list[FrameType] = []
        frame = sys._getframe()
        # The traced function's own frame (called by the root) is the whole trace, no call.
        while frame.f_back is not None and frame.f_back is not self.root:
            code = frame.f_code
            if not code.co_filename.startswith(_LIBRARIES) and not code.co_name.startswith("<"):
                frames.append(frame)
            frame = frame.f_back
        return frames[::-1]

    def open_call(self, frame: FrameType) -> int:
        """A `function` group for a call, named `name#k`, spanning its call in the source."""
        name = frame.f_code.co_qualname
        self.counts[name] += 1
        caller = frame.f_back
        position = frame_position(caller) if caller is not None and self.source.contains(
            caller.f_code) else None
        span = self.source.span(*position) if position else None
        parent = self.calls[-1][1] if self.calls else None
        return self.builder.add_group("function", f"{name}#{self.counts[name]}", span, parent)

    def input(self, name: str, value: object) -> Tracer:
        span = self.source.parameters.get(name, (0, 0))
        return Tracer(self, self.builder.input(name, value, span))

    def apply(self, op_name: str, operands: tuple[object, ...],
              params: Mapping[str, object] | None = None) -> Tracer:
        position = _caller_position(self.source)
        span = self.source.span(*position) if position else (0, 0)
        with self.builder.inside(self.current_group()):
            args = [self.node(operand, span) for operand in operands]
            node = self.builder.apply(op_name, args, span, params=params)
        name = self.source.names.get(position) if position else None
        if name:
            self.builder.name_node(node, name)
        return Tracer(self, node)

    def node(self, operand: object, span: Span) -> Node:
        if isinstance(operand, Tracer):
            if operand.tracing is not self:
                raise ChainruleError("a traced value from another trace() call was used here",
                                     span, "request")
            return operand.node
        if isinstance(operand, (bool, np.bool_)) or not isinstance(
                operand, (int, float, np.number, np.ndarray, list, tuple)):
            raise ChainruleError(f"a {type(operand).__name__} cannot be part of the traced "
                                 "computation: use numbers and numpy arrays", span, "value")
        return self.builder.leaf("const", operand, span)


def _python_params(params: Mapping[str, object]) -> dict[str, object]:
    """numpy's integers and booleans as Python's (`axis=np.int64(0)`), for the op table."""
    def plain(value: object) -> object:
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, np.integer):
            return int(value)
        if isinstance(value, np.floating):  # clip's bound, an activation's slope
            return float(value)
        if isinstance(value, (tuple, list)):
            return tuple(plain(v) for v in value)
        return value
    return {name: plain(value) for name, value in params.items()}


class Tracer:
    """A value of the traced function: a graph node, with numpy's and Python's arithmetic."""

    __array_priority__ = 1000

    def __init__(self, tracing: _Tracing, node: Node) -> None:
        self.tracing = tracing
        self.node = node

    def __repr__(self) -> str:
        return f"Tracer({self.node.bare.plain}, shape={self.shape})"

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the value (known while tracing; the numbers are not)."""
        return self.node.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self.node.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.node.size

    def __len__(self) -> int:
        if not self.shape:
            raise self._refuse("len()", "a scalar has no length")
        return self.shape[0]

    def _op(self, op_name: str, *operands: object, **params: object) -> Tracer:
        return self.tracing.apply(op_name, operands, _python_params(params))

    def _error(self, message: str, kind: str) -> ChainruleError:
        """A refusal pointing at the expression of the traced function that asked for it."""
        position = _caller_position(self.tracing.source)
        span = self.tracing.source.span(*position) if position else None
        return ChainruleError(message, span, kind)

    def _refuse(self, what: str, hint: str) -> ChainruleError:
        return self._error(f"{what} is not possible on a traced value: {hint}", "forbidden")

    def _unknown(self, what: str, why: str) -> ChainruleError:
        reason = f" ({why})" if why else ""
        return self._error(
            f"{what} is not in chainrule's op table{reason}; a traced function may use "
            f"+ - * / ** @, .T, .dot(), .sum(), .mean(), .var(), .max(), .min(), abs() and "
            f"{KNOWN}", "unknown_function")

    # numpy's protocols
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object,
                        **kwargs: object) -> Tracer:
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        if method != "__call__" or kwargs:
            extra = f" with {', '.join(kwargs)}=" if kwargs else ""
            raise self._unknown(f"{name}{extra}", "only plain calls of the op table's functions")
        return self._numpy(ufunc.__name__, inputs)

    def __array_function__(self, func: Callable[..., Any], types: object,
                           args: tuple[object, ...], kwargs: dict[str, object]) -> Tracer:
        name = getattr(func, "__name__", str(func))
        if name in DATA_LIKE:
            return self._data_like(func, args, kwargs)
        return self._numpy(name, args, kwargs)

    # ---- data of a traced array's shape, and params by position (issue 27)
    def _data_like(self, func: Callable[..., Any], args: tuple[object, ...],
                   kwargs: dict[str, object]) -> Any:
        """`np.zeros_like(x)`, `np.ones_like(x)`, `np.full_like(x, v)` of a traced x: data of
        its shape (a constant wherever it is used), never a node."""
        if args[0] is not self or any(isinstance(a, Tracer) for a in (*args[1:],
                                                                       *kwargs.values())):
            raise self._unknown(f"np.{func.__name__} of a traced fill value", "")
        return func(np.zeros(self.shape), *args[1:], **kwargs)

    @staticmethod
    def _by_position(op_name: str, operands: tuple[object, ...], params: dict[str, object]
                     ) -> tuple[object, ...]:
        """An elementwise op's params given after its operands, in order (`np.clip(x, 0,
        6)`), and numpy's names for them (`a_min`), as the op table names them."""
        op = OPS[op_name]
        for alias, name in NUMPY_PARAM_NAMES.items():
            if alias in params:
                params[name] = params.pop(alias)
        extra = operands[op.arity:]
        names = [name for name, _ in op.params if name not in params]
        if not op.params or not op.elementwise or not extra or len(extra) > len(names):
            return operands  # none, or too many: the arity check says so
        params.update(zip(names, extra))
        return operands[:op.arity]

    def _numpy(self, name: str, operands: tuple[object, ...],
               kwargs: Mapping[str, object] | None = None) -> Tracer:
        op_name = NUMPY_OPS.get(name)
        if op_name is None:
            raise self._unknown(f"np.{name}", "")
        op = OPS[op_name]
        params = dict(kwargs or {})
        operands = self._by_position(op_name, operands, params)
        if op.params and len(operands) == op.arity + 1 and "axis" not in params:
            *operands_, params["axis"] = operands  # np.sum(x, 0): numpy's axis, by position
            operands = tuple(operands_)
        unknown = [k for k in params if k not in dict(op.params)]
        if unknown:
            takes = (f"chainrule's {name} takes {', '.join(dict(op.params))}" if op.params
                     else f"chainrule's {name} takes no options")
            raise self._unknown(f"np.{name} with {', '.join(unknown)}=", takes)
        if len(operands) != OPS[op_name].arity:
            raise self._error(f"np.{name} takes {OPS[op_name].arity} argument(s) here, got "
                              f"{len(operands)}", "arity")
        return self._op(op_name, *operands, **params)

    def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
        raise self._refuse("np.asarray / np.array", "the numbers are computed after tracing; keep "
                      "using the value in numpy operations")

    # Python's operators
    def __add__(self, other: object) -> Tracer:
        return self._op("add", self, other)

    def __radd__(self, other: object) -> Tracer:
        return self._op("add", other, self)

    def __sub__(self, other: object) -> Tracer:
        return self._op("sub", self, other)

    def __rsub__(self, other: object) -> Tracer:
        return self._op("sub", other, self)

    def __mul__(self, other: object) -> Tracer:
        return self._op("mul", self, other)

    def __rmul__(self, other: object) -> Tracer:
        return self._op("mul", other, self)

    def __truediv__(self, other: object) -> Tracer:
        return self._op("div", self, other)

    def __rtruediv__(self, other: object) -> Tracer:
        return self._op("div", other, self)

    def __pow__(self, other: object) -> Tracer:
        return self._op("pow", self, other)

    def __rpow__(self, other: object) -> Tracer:
        return self._op("pow", other, self)

    def __matmul__(self, other: object) -> Tracer:
        return self._op("matmul", self, other)

    def __rmatmul__(self, other: object) -> Tracer:
        return self._op("matmul", other, self)

    def __neg__(self) -> Tracer:
        return self._op("neg", self)

    def __pos__(self) -> Tracer:
        return self

    def __abs__(self) -> Tracer:
        return self._op("abs", self)

    # ndarray's methods that are ops
    @property
    def T(self) -> Tracer:
        """The transpose."""
        return self._op("transpose", self)

    def transpose(self) -> Tracer:
        """The transpose (all axes reversed)."""
        return self._op("transpose", self)

    def dot(self, other: object) -> Tracer:
        """The matrix product, as `x.dot(y)` writes it."""
        return self._op("matmul", self, other)

    def sum(self, axis: object = None, *, keepdims: bool = False) -> Tracer:
        """The sum of all elements, or along `axis`."""
        return self._op("sum", self, axis=axis, keepdims=keepdims)

    def mean(self, axis: object = None, *, keepdims: bool = False) -> Tracer:
        """The mean of all elements, or along `axis`."""
        return self._op("mean", self, axis=axis, keepdims=keepdims)

    def var(self, axis: object = None, *, ddof: int = 0, keepdims: bool = False) -> Tracer:
        """The variance of all elements, or along `axis` (divided by n - ddof)."""
        return self._op("var", self, axis=axis, ddof=ddof, keepdims=keepdims)

    def max(self, axis: object = None, *, keepdims: bool = False) -> Tracer:
        """The largest element, or the largest along `axis` (ties share the gradient)."""
        return self._op("amax", self, axis=axis, keepdims=keepdims)

    def min(self, axis: object = None, *, keepdims: bool = False) -> Tracer:
        """The smallest element, or the smallest along `axis` (ties share the gradient)."""
        return self._op("amin", self, axis=axis, keepdims=keepdims)

    # what needs the numbers, which tracing does not have
    def __bool__(self) -> bool:
        raise self._refuse("if / while / and / or / comparison", "the graph is traced once, for "
                      "all values; use np.maximum, np.minimum or np.abs instead of branching")

    def __float__(self) -> float:
        raise self._refuse("float() (which math.sin, math.exp and the like call)",
                           "the numbers are computed after tracing; use numpy's np.sin, np.exp")

    def __int__(self) -> int:
        raise self._refuse("int()", "the numbers are computed after tracing")

    def __index__(self) -> int:
        raise self._refuse("using it as an index", "the numbers are computed after tracing")

    def __getitem__(self, key: object) -> Tracer:
        raise self._refuse("indexing", "use whole arrays with np.sum, np.mean, @ and elementwise ops")

    def __iter__(self) -> Any:
        raise self._refuse("iterating", "use whole arrays with np.sum, np.mean, @ and elementwise ops")

    def __lt__(self, other: object) -> bool:
        raise self._refuse("comparing (< <= > >=)", "the graph is traced once, for all "
                           "values; use np.maximum, np.minimum or np.abs")

    __le__ = __gt__ = __ge__ = __lt__
