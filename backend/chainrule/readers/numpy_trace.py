"""Tracing: a user's own Python function, written with numpy, run on tracer values.

`trace(f, x=1.5, y=2.0)` calls `f(x=<tracer>, y=<tracer>)`. Each tracer stands for one node of
the graph; numpy hands every ufunc (`np.sin`, `np.maximum`, `@`, ...) and every function
(`np.sum`, `np.dot`, ...) called on it to the tracer (numpy's `__array_ufunc__` and
`__array_function__` protocols), and Python's operators call its methods, so each call adds one
node through the op table's `numpy` field. Tracing makes the graph, with shapes; the engine
then runs it as it runs a parsed program. Each node's span points into the function's own
source (`inspect.getsource`), at the expression the call frame was executing.

What numpy learning code does around the ops reads too: `.shape`, `.ndim`, `.size`, `.dtype`
(float64), `.reshape`/`np.reshape`, `.T`/`.transpose()`, `.copy()`/`np.copy` and
`.astype(float)` (the same value), `np.zeros_like`/`ones_like`/`full_like` (constants of its
shape), `np.nan_to_num` (the value, where finite), `np.linalg.norm` (sqrt(sum(x**2)) in a group),
`np.concatenate`, `np.stack`, `np.hstack`, `np.vstack` and `np.column_stack` of a list holding
traced arrays (core/joins.py).
A comparison (`x > 0`, `scores > margin`) is a mask: data computed from the values at the given
inputs, as a label is, never differentiated; the values of the graph so far are computed for
it on demand (`_Tracing.value`), each node once. Branching on a mask is refused, as the graph
would hold one branch only (a mask of data alone, which no input changes, may be branched on).
Anything else a traced function asks of a traced value is a
ChainruleError naming the numpy call or the Python construct (and, in a helper outside the
traced function's lines, its line), never another exception: numpy's own errors on top of ours
(`a[i] = x` calls `x.__float__`, whose refusal numpy wraps in a ValueError) are unwrapped.

Writes into arrays read as functional index updates (JAX's `x.at[key].set(v)`): `x[key] = v`
makes the tracer stand for a new node (index_set for a basic key, scatter_set for index arrays
and masks, whose places written twice keep numpy's last write), and every Python name for it
sees the write, as numpy's would; `x += v` and `out=` write in place (numpy's scalars, the 0-axis
results, are not changed in place). Basic indexing, `.T` and `.reshape` make views where numpy's
are views (numpy itself decides, on an array of element numbers: `Tracer._layout`): a view
follows its base's writes and writes itself into its base. A numpy array cannot hold a traced
value, so the arrays the user's own code makes with np.zeros, np.ones, np.empty, np.full and
their `_like` are tracers of constants while the trace runs (`_tracking` replaces those numpy
functions for the trace's time; numpy's own code, libraries, compiled code and other threads
get numpy's arrays); such an array gives out its numbers while it holds data only. Writing a
traced value into any other numpy array is refused, naming the line.

Each call of a Python function inside `f` (a helper `layer(x, W)`, wherever it is defined) is a
`function` group named `layer#k` for its k-th call, holding the nodes made while it ran; calls
inside calls nest. Python's own call stack says which calls are running when a node is made;
generator expressions, comprehensions and lambdas (`<genexpr>`, ...) are no groups, nor are
numpy's and chainrule's own functions.

This is the Python API only: it runs the caller's own function, never text from the network.
"""

from __future__ import annotations

import dis
import inspect
import linecache
import math
import operator
import os
import re
import sys
import sysconfig
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import FrameType
from typing import Any, Self

import numpy as np

from ..core.graph import GraphBuilder, Node
from ..core.indexing import array_text, key_text, numpy_key, split_key
from ..core.joins import join
from ..core.ops import OPS
from ..errors import ChainruleError, Span
from ..settings import LIMITS, Limits
from . import Read, named_nodes
from .user_source import Source, frame_position

# numpy's function name -> the op-table entry that computes it, read from the table.
NUMPY_OPS = {numpy_name: op.name for op in OPS.values() for numpy_name in op.numpy}
# What a refusal says is read, in one sentence: the whole list is /api/v1/ops's and the README's.
KNOWN = ("a traced function may use numpy's arithmetic, elementwise functions, reductions and "
         "matmul on its arrays (the full list: /api/v1/ops and the README)")
# numpy's names of op params.
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
        with _tracking(tracer):
            out = f(**arguments)
    except (ValueError, TypeError) as err:
        own = _own_refusal(err)
        if own is None:
            raise
        raise own from None
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
    frame = _caller_frame(source)
    if frame is None:
        return None
    return frame_position(frame)


def _caller_frame(source: Source) -> FrameType | None:
    """The innermost running frame of the traced function's own lines."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and not source.contains(frame.f_code):
        frame = frame.f_back
    return frame


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
        self.values: list[np.ndarray] = []  # the nodes' values, computed on demand (value())
        self.composite: int | None = None  # the group of a numpy function read as its parts

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
        scalar = not isinstance(value, np.ndarray) and np.ndim(value) == 0  # type: ignore[arg-type]
        return Tracer(self, self.builder.input(name, value, span), scalar=scalar)

    def apply(self, op_name: str, operands: tuple[object, ...],
              params: Mapping[str, object] | None = None) -> Tracer:
        position, span = self.here()
        group = self.current_group() if self.composite is None else self.composite
        with self.builder.inside(group):
            args = [self.node(operand, span) for operand in operands]
            node = self.builder.apply(op_name, args, span, params=params)
        if self.composite is None:
            self.name(node, position)
        return Tracer(self, node, scalar=node.shape == ())

    def name(self, node: Node, position: tuple[int, int, int, int] | None) -> None:
        """Name a node by the assignment whose value is the expression at `position`."""
        name = self.source.names.get(position) if position else None
        if name:
            self.builder.name_node(node, name)

    def here(self) -> tuple[tuple[int, int, int, int] | None, Span]:
        """The position of the expression the traced function is executing, and its span."""
        position = _caller_position(self.source)
        return position, self.source.span(*position) if position else (0, 0)

    def key(self, key: object, what: str, span: Span) -> tuple[tuple[Any, ...], list[np.ndarray]]:
        """A key as numpy code writes it, read (indexing.split_key) or refused at `span`."""
        try:
            return split_key(key)
        except ValueError as err:
            raise ChainruleError(f"{what}: {err}", span, "value") from None

    def subscript(self, tracer: Tracer, key: object) -> Tracer:
        """`tracer[key]`: an index node, or a gather reading the key's arrays as data."""
        position, span = self.here()
        components, arrays = self.key(key, f"indexing {tracer.node.bare.plain}", span)
        with self.builder.inside(self.current_group()):
            node = self.builder.subscript(tracer.node, components, arrays,
                                          [array_text(a) for a in arrays], span)
        name = self.source.names.get(position) if position else None
        if name:
            self.builder.name_node(node, name)
        return Tracer(self, node, scalar=node.shape == ())

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

    # ---- values while tracing, and numpy functions read as their parts
    def value(self, node: Node) -> np.ndarray:
        """The value of `node` at the given inputs. Tracing builds the graph without computing
        it; a comparison (a mask) needs the numbers, so they are computed here, on demand:
        every node not computed yet up to `node`, in creation order (a topological order),
        by the op table's forward functions, each node once per trace."""
        nodes, ops = self.builder.nodes, self.builder.ops
        with np.errstate(all="ignore"):
            for n in nodes[len(self.values):node.id + 1]:
                self.builder.deadline.check()
                if n.const is not None:
                    self.values.append(n.const)
                    continue
                args = [self.values[i][None] for i in n.inputs]  # a batch axis of one
                self.values.append(np.asarray(ops[n.op].forward(*args, **dict(n.params))[0]))
        return self.values[node.id]

    def read_as_parts(self, name: str, parts: Callable[[], Tracer]) -> Tracer:
        """A numpy function read as several ops (`np.linalg.norm` as sqrt(sum(x**2))): the
        nodes `parts()` makes go into a `function` group named `name#k`, and the last is named
        by the assignment, as one op's node is."""
        position = _caller_position(self.source)
        span = self.source.span(*position) if position else None
        parent = self.current_group() if self.composite is None else self.composite
        self.counts[name] += 1
        outer = self.composite
        self.composite = self.builder.add_group("function", f"{name}#{self.counts[name]}",
                                                span, parent)
        try:
            out = parts()
        finally:
            self.composite = outer
        if outer is None:
            self.name(out.node, position)
        return out

    # ---- joining arrays (core/joins.py)
    def join(self, how: str, arrays: object, axis: object = 0) -> Tracer:
        """np.concatenate, np.stack, np.hstack, np.vstack or np.column_stack of a list (or
        tuple) holding traced arrays; the numpy arrays and numbers in it are constants."""
        position, span = self.here()
        if isinstance(arrays, Tracer) or not isinstance(arrays, (list, tuple)):
            raise ChainruleError(f"np.{how} of one traced array (its rows) is not read: pass "
                                 f"a list of arrays, np.{how}([a, b])", span, "forbidden")
        if axis is not None and not isinstance(axis, (int, np.integer)):
            raise ChainruleError(f"np.{how}'s axis must be an integer or None, not {axis!r}",
                                 span, "value")
        group = self.current_group() if self.composite is None else self.composite
        with self.builder.inside(group):
            nodes = [self.node(a, span) for a in arrays]
            node = join(self.builder, how, nodes, None if axis is None else int(axis), span)
        if self.composite is None:
            self.name(node, position)
        return Tracer(self, node)

    # ---- writes into arrays (issue 27): x[key] = v as a new node, views, arrays made inside
    def update(self, target: Node, key: object, value: object) -> Node:
        """The node of `target` after `target[key] = value`: an index_set or scatter_set node
        (a functional update, JAX's x.at[key].set(v)); where both are constants, the numbers
        numpy writes, as a constant (filling an array with data makes no nodes)."""
        _position, span = self.here()
        components, arrays = self.key(key, f"writing into {target.bare.plain}", span)
        with self.builder.inside(self.current_group()):
            given = value.node if isinstance(value, Tracer) else None
            if target.op == "const" and (given is None or given.op == "const"):
                return self._written_constant(target, key, value if given is None else
                                              given.const, span)
            node = self.builder.update(target, components, arrays,
                                       [array_text(a) for a in arrays],
                                       self.node(value, span), span)
        name = _target_name(self.source)
        if name:
            self.builder.name_node(node, name)
        return node

    def _written_constant(self, target: Node, key: Any, value: object,
                          span: Span) -> Node:
        """A constant written into a constant: numpy's own assignment, on the numbers."""
        numbers = np.array(target.const)
        try:
            numbers[key] = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError, IndexError) as err:
            raise ChainruleError(f"writing into an array of shape {list(numbers.shape)}: {err}",
                                 span, "value") from None
        return self.builder.leaf("const", numbers, span)

    def derived(self, op_name: str, args: list[Node], params: Mapping[str, object]) -> Node:
        """A node a view makes to follow its base (or to write itself back into it): in the
        current call's group, pointing at the expression running, named by no assignment."""
        _position, span = self.here()
        with self.builder.inside(self.current_group()):
            return self.builder.apply(op_name, args, span, params=params)

    def created(self, array: np.ndarray) -> Tracer:
        """An array the traced function made with np.zeros, np.ones, np.empty, np.full or
        their _like: a constant of the graph, so that values computed from the inputs can be
        written into it (its numbers are given out while it holds no such value)."""
        _position, span = self.here()
        with self.builder.inside(self.current_group()):
            node = self.builder.leaf("const", array, span)
        return Tracer(self, node)


def _target_name(source: Source) -> str | None:
    """The name written into (`out` in `out[n, f] = ...`), where the write is in the traced
    function's own lines."""
    frame = _user_frame()
    if frame is None or not source.contains(frame.f_code):
        return None
    match = re.match(r"([A-Za-z_]\w*)\s*\[", _expression(frame))
    return match.group(1) if match else None


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


class _View:
    """What makes a tracer a view of another, as numpy's basic indexing, .T and .reshape
    make views that share their base's memory: how its node follows the base's (`derive`),
    how a write into it writes into the base (`write_back`), where its elements lie among the
    base's (`layout`, on an array of element numbers), and the base's node it last followed."""

    def __init__(self, base: Tracer, derive: Callable[[Node], Node],
                 write_back: Callable[[Node, Node], Node],
                 layout: Callable[[np.ndarray], Any], key: str | None = None) -> None:
        self.base = base
        self.derive = derive
        self.write_back = write_back
        self.layout = layout
        self.key = key  # the basic key of an indexing view
        self.seen = base.node


class Tracer:
    """A value of the traced function: a graph node, with numpy's and Python's arithmetic.

    A tracer is mutable as a numpy array is: a write into it (`x[i] = v`, `x += v`) makes it
    stand for a new node, the functional update, and every Python name for it sees that; a
    view (`x[0]`, `x.T`, `x.reshape(...)` where numpy's is a view) follows its base's writes,
    and a write into it is written into the base (`_View`). A number (a 0-axis result,
    numpy's scalar) is not written into in place: `s += 1` makes a new one, as in numpy."""

    __array_priority__ = 1000

    def __init__(self, tracing: _Tracing, node: Node, view: _View | None = None,
                 scalar: bool = False) -> None:
        self.tracing = tracing
        self._node = node
        self._view = view
        self._scalar = scalar
        self._positions: np.ndarray | None = None  # see _layout

    def __repr__(self) -> str:
        return f"Tracer({self.node.bare.plain}, shape={self.shape})"

    @property
    def node(self) -> Node:
        """The node the value is now: a view's follows its base's writes."""
        view = self._view
        if view is not None:
            base = view.base.node
            if base is not view.seen:
                self._node = view.derive(base)
                view.seen = base
        return self._node

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the value (known while tracing; the numbers are not)."""
        return self._node.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return len(self._node.shape)

    @property
    def size(self) -> int:
        """The number of elements."""
        return self._node.size

    def __len__(self) -> int:
        if not self.shape:
            raise self._refuse("len()", "a scalar has no length")
        return self.shape[0]

    def _op(self, op_name: str, *operands: object, **params: object) -> Tracer:
        return self.tracing.apply(op_name, operands, _python_params(params))

    def _error(self, message: str, kind: str) -> ChainruleError:
        """A refusal pointing at the expression of the traced function that asked for it."""
        return _refusal(self.tracing, message, kind)

    def _refuse(self, what: str, hint: str) -> ChainruleError:
        return self._error(f"{what} is not possible on a traced value: {hint}", "forbidden")

    def _unknown(self, what: str, why: str) -> ChainruleError:
        reason = f" ({why})" if why else ""
        return self._error(
            f"{what} is not in chainrule's op table{reason}; {KNOWN}", "unknown_function")

    # numpy's protocols
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: object,
                        **kwargs: object) -> Tracer | Mask:
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        if "out" in kwargs:
            return self._into(name, kwargs, lambda rest: self.__array_ufunc__(
                ufunc, method, *inputs, **rest))
        if ufunc.__name__ in _MASKS and method == "__call__" and not kwargs:
            return self._mask(ufunc, inputs)
        if method != "__call__" or kwargs:
            extra = f" with {', '.join(kwargs)}=" if kwargs else ""
            raise self._unknown(f"{name}{extra}", "only plain calls of the op table's functions")
        return self._numpy(ufunc.__name__, inputs)

    def __array_function__(self, func: Callable[..., Any], types: object,
                           args: tuple[object, ...], kwargs: dict[str, object]) -> object:
        name = getattr(func, "__name__", str(func))
        shown = _numpy_name(func)
        if "out" in kwargs and shown not in _DATA_FUNCTIONS:
            return self._into(shown, kwargs, lambda rest: self.__array_function__(
                func, types, args, rest))
        if shown in _DATA_FUNCTIONS:
            return self._data(func, args, kwargs)
        around = _AROUND.get(shown)
        if around is not None:
            return around(*args, **kwargs)
        if shown != f"np.{name}":  # np.linalg.norm with its arguments, np.fft.fft, ...
            raise self._unknown(shown, "")
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
        numbers = self._data_numbers()
        if numbers is None:
            raise self._as_numbers()
        numbers.flags.writeable = False  # a copy: a write into it would not reach this array
        return numbers

    def _data_numbers(self) -> np.ndarray | None:
        """The numbers of a value that does not depend on the inputs (an array the function
        made and filled with data only): data, as numpy's would be; None for any other."""
        node = self.node
        if node.requires_grad:
            return None
        return np.array(self.tracing.value(node))

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
        return self.copy()

    def __abs__(self) -> Tracer:
        return self._op("abs", self)

    # ndarray's methods that are ops
    @property
    def T(self) -> Tracer:
        """The transpose (a view)."""
        return self._transposed()

    def transpose(self, *axes: object) -> Tracer:
        """The transpose (all axes reversed, numpy's default), or the axes in the order given
        (`x.transpose(0, 2, 1)`: the table's permute), a view either way."""
        order = axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        if not order or order == (None,) or tuple(order) == tuple(range(self.ndim))[::-1]:
            return self._transposed()
        try:
            perm = tuple(operator.index(a) % max(self.ndim, 1) for a in order)  # type: ignore
        except TypeError:
            raise self._unknown(f".transpose{tuple(order)}", "axes are integers") from None
        if perm == tuple(range(self.ndim)):
            return self
        inverse = tuple(int(a) for a in np.argsort(perm))
        node = self._op("permute", self, axes=perm).node
        return self._as_view(node, lambda base: self.tracing.derived("permute", [base],
                                                                     {"axes": perm}),
                             lambda base, view: self.tracing.derived("permute", [view],
                                                                     {"axes": inverse}),
                             lambda positions: positions.transpose(perm))

    def swapaxes(self, axis1: int, axis2: int) -> Tracer:
        """Two axes swapped (a view), as numpy's swapaxes."""
        order = list(range(self.ndim))
        a, b = axis1 % self.ndim, axis2 % self.ndim
        order[a], order[b] = order[b], order[a]
        return self.transpose(*order)

    def _transposed(self) -> Tracer:
        node = self._op("transpose", self).node
        return self._as_view(node, lambda base: self.tracing.derived("transpose", [base], {}),
                             lambda base, view: self.tracing.derived("transpose", [view], {}),
                             lambda positions: positions.T)

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

    # what needs the numbers, which tracing does not have (but for data: see _data_numbers)
    def __bool__(self) -> bool:
        numbers = self._data_numbers()
        if numbers is not None:
            return bool(numbers)
        raise self._refuse("if / while / and / or / comparison", "the graph is traced once, for "
                      "all values; use np.maximum, np.minimum or np.abs instead of branching")

    def __float__(self) -> float:
        numbers = self._data_numbers()
        if numbers is not None:
            return float(numbers)
        if self._writing_into_an_array():
            raise self._as_numbers()
        raise self._refuse("float() (which math.sin, math.exp and the like call)",
                           "the numbers are computed after tracing; use numpy's np.sin, np.exp")

    def __int__(self) -> int:
        numbers = self._data_numbers()
        if numbers is not None:
            return int(numbers)
        raise self._refuse("int()", "the numbers are computed after tracing")

    def __index__(self) -> int:
        raise self._refuse("using it as an index", "the numbers are computed after tracing")

    def __getitem__(self, key: object) -> Tracer:
        """`x[0]`, `x[:, :H]`, `x[:, np.newaxis]`, `x[np.arange(N), y]`, `x[mask]`: the
        index is data (integers, slices, arrays of integers or booleans), never traced."""
        self._check_key(key)
        out = self.tracing.subscript(self, key)
        if out.node.op != "index":  # index arrays: numpy's result is a copy
            return out
        text = str(dict(out.node.params).get("key", "..."))
        return self._as_view(
            out.node, lambda base: self.tracing.derived("index", [base], {"key": text}),
            lambda base, view: self.tracing.derived("index_set", [base, view], {"key": text}),
            lambda positions: positions[numpy_key(text)], key=text)

    def _check_key(self, key: object) -> None:
        parts = key if isinstance(key, tuple) else (key,)
        if any(isinstance(p, Tracer) for p in parts):
            raise self._refuse("indexing with a traced value", "an index is data: integers, "
                               "slices, or integer or boolean arrays known before tracing")

    def __iter__(self) -> Any:
        """Its rows, one after another (views), as numpy iterates an array: `for row in x`."""
        if not self.shape:
            raise self._refuse("iterating over a number", "it has no rows")
        return (self[i] for i in range(self.shape[0]))

    # ---- what numpy learning code does around the ops: shapes, copies, casts, masks
    # Comparisons give masks (data: booleans of the values at the given inputs, never
    # differentiated, as a label is); the shape's numbers, the dtype, reshapes, copies and casts
    # to float64 are read as what they are. Anything else raises a ChainruleError naming it.
    @property
    def dtype(self) -> np.dtype[np.float64]:
        """float64: chainrule computes every value in float64."""
        return np.dtype(np.float64)

    def reshape(self, *shape: object, order: str = "C") -> Tracer:
        """The same elements in another shape (`x.reshape(N, -1)`, `x.reshape((N, -1))`)."""
        if order != "C":
            raise self._unknown(f".reshape with order={order!r}", "it reads C order only")
        dims = shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        new = self._new_shape(dims if isinstance(dims, (tuple, list)) else (dims,))
        old = self.shape
        if new == old:
            node = self.node
        else:
            node = self._op("reshape", self, np.zeros(new)).node  # its second operand: the shape
        return self._as_view(node, lambda base: self._reshaped(base, new),
                             lambda base, view: self._reshaped(view, old),
                             lambda positions: positions.reshape(new))

    def _reshaped(self, node: Node, shape: tuple[int, ...]) -> Node:
        if node.shape == shape:
            return node
        zeros = self.tracing.builder.leaf("const", np.zeros(shape), node.span)
        return self.tracing.derived("reshape", [node, zeros], {})

    def flatten(self, order: str = "C") -> Tracer:
        """The elements as a vector, in C order (a copy)."""
        return self.reshape(-1, order=order).copy()

    def ravel(self, order: str = "C") -> Tracer:
        """The elements as a vector, in C order."""
        return self.reshape(-1, order=order)

    def copy(self, order: str = "K") -> Tracer:
        """The same value, as a new array: a write into either is not seen by the other."""
        return Tracer(self.tracing, self.node, scalar=self._scalar)

    def astype(self, dtype: object, order: str = "K", casting: str = "unsafe",
               subok: bool = True, copy: bool = True) -> Tracer:
        """The same value when cast to float64 (`.astype(float)`, `.astype(x.dtype)`); any
        other type would make it another function, and is refused."""
        try:
            same = np.dtype(dtype) == np.float64  # type: ignore[call-overload]
        except TypeError:
            same = False
        if not same:
            raise self._refuse(f".astype({getattr(dtype, '__name__', dtype)})",
                               "chainrule computes in float64; a copy of another type is no "
                               "differentiable value: make it outside the traced function")
        return Tracer(self.tracing, self.node, scalar=self._scalar) if copy else self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # numpy and Python probe private names: not ours to refuse
            raise AttributeError(name)
        raise self._unknown(f"the array attribute .{name}", "")

    def __setitem__(self, key: object, value: object) -> None:
        """`x[key] = v`: x stands for a new node from now on, x with v written at the key's
        places (index_set, or scatter_set for index arrays and masks)."""
        self._check_key(key)
        if self._scalar:
            raise self._refuse("writing into a number (x[...] = v where x is numpy's scalar)",
                               "numpy's scalars do not support item assignment")
        if isinstance(value, Tracer) and value._written_back(self, key):
            return  # x[k] += v with a basic key: the view x[k] was written into x already
        self._write(self.tracing.update(self.node, key, value))

    # ---- writes (issue 27): in place, through views, into out=
    def __iadd__(self, other: object) -> Self:
        return self._in_place("add", "+=", other)

    def __isub__(self, other: object) -> Self:
        return self._in_place("sub", "-=", other)

    def __imul__(self, other: object) -> Self:
        return self._in_place("mul", "*=", other)

    def __itruediv__(self, other: object) -> Self:
        return self._in_place("div", "/=", other)

    def __ipow__(self, other: object) -> Self:
        return self._in_place("pow", "**=", other)

    def _in_place(self, op_name: str, what: str, other: object) -> Self:
        """`x += v`: x written with x + v (an array's every alias sees it; a number is not
        changed in place: the name is given a new one, as numpy's scalars are)."""
        result = self._op(op_name, self, other)
        if self._scalar:
            return result  # type: ignore[return-value]
        self._assign(result, f"x {what} v")
        return self

    def _assign(self, result: Tracer, what: str) -> None:
        """Write a whole new value into this array, in place (`x += v`, `out=x`)."""
        if result.shape != self.shape:
            raise self._error(f"{what}: a value of shape {list(result.shape)} cannot be written "
                              f"into an array of shape {list(self.shape)} in place", "shape")
        self._write(result.node)

    def _write(self, node: Node) -> None:
        """This array is `node` from now on; a view writes itself into its base."""
        self._node = node
        view = self._view
        if view is not None:
            view.base._write(view.write_back(view.base.node, node))
            view.seen = view.base._node

    def _written_back(self, target: Tracer, key: object) -> bool:
        """Whether this is the view target[key], in step with target: `target[key] = self`
        would write what is there already (after `target[key] += v`, which wrote the view)."""
        view = self._view
        if view is None or view.base is not target or view.seen is not target._node:
            return False
        try:
            components, arrays = split_key(key)
        except ValueError:
            return False
        return not arrays and view.key == key_text(components)

    def _layout(self) -> np.ndarray:
        """Where this array's elements lie in memory, as numbers of its root array's elements:
        numpy's own views of these numbers say whether a reshape is a view or a copy."""
        if self._positions is None:
            view = self._view
            self._positions = (np.arange(self.size).reshape(self.shape) if view is None
                               else np.asarray(view.layout(view.base._layout())))
        return self._positions

    def _as_view(self, node: Node, derive: Callable[[Node], Node],
                 write_back: Callable[[Node, Node], Node],
                 layout: Callable[[np.ndarray], Any], key: str | None = None) -> Tracer:
        """A tracer of `node`, computed from this one: a view where numpy's is one (its
        elements share this array's memory), else a new array."""
        mine = self._layout()
        positions = layout(mine)
        if not isinstance(positions, np.ndarray) or not np.may_share_memory(positions, mine):
            return Tracer(self.tracing, node, scalar=node.shape == ())
        out = Tracer(self.tracing, node, _View(self, derive, write_back, layout, key))
        out._positions = positions
        return out

    def _into(self, name: str, kwargs: Mapping[str, object],
              compute: Callable[[dict[str, object]], object]) -> Tracer:
        """numpy's `out=`: the result written into a traced array in place; a numpy array
        cannot hold a traced value."""
        rest = {k: v for k, v in kwargs.items() if k != "out"}
        out = kwargs["out"]
        target = out[0] if isinstance(out, tuple) and len(out) == 1 else out
        if not isinstance(target, Tracer):
            raise self._error(f"{name} writing a traced value into a numpy array (out=, or "
                              f"a += x): {_NOT_TRACKED}", "forbidden")
        result = compute(rest)
        if not isinstance(result, Tracer):
            raise self._unknown(f"{name} with out=", "its result is data")
        target._assign(result, f"{name}(..., out=...)")
        return target

    def __lt__(self, other: object) -> Mask:
        return self._mask(np.less, (self, other))

    def __le__(self, other: object) -> Mask:
        return self._mask(np.less_equal, (self, other))

    def __gt__(self, other: object) -> Mask:
        return self._mask(np.greater, (self, other))

    def __ge__(self, other: object) -> Mask:
        return self._mask(np.greater_equal, (self, other))

    def __eq__(self, other: object) -> Mask:  # type: ignore[override]
        return self._mask(np.equal, (self, other))

    def __ne__(self, other: object) -> Mask:  # type: ignore[override]
        return self._mask(np.not_equal, (self, other))

    __hash__ = object.__hash__  # by identity, as before comparisons gave masks

    def _values(self, operand: object) -> object:
        """A traced value's numbers at the given inputs; anything else as it is."""
        if isinstance(operand, Tracer):
            return self.tracing.value(operand.node)
        return operand

    def _mask(self, ufunc: Callable[..., Any], operands: tuple[object, ...]) -> Mask:
        """A comparison (or np.isnan, np.isfinite) of the values: a mask, data for the graph."""
        with np.errstate(all="ignore"):
            out = np.asarray(ufunc(*(self._values(v) for v in operands)))
        mask = out.view(Mask)
        data = not any(isinstance(v, Tracer) and v.node.requires_grad for v in operands)
        mask.tracing = None if data else self.tracing  # of data alone: a branch on it is fine
        return mask

    def _data(self, func: Callable[..., Any], args: tuple[object, ...],
              kwargs: Mapping[str, object]) -> object:
        """A numpy function whose result is data, not a differentiable value (np.argmax,
        np.allclose, ...): computed from the values; booleans are a mask."""
        out = func(*(self._values(a) for a in args),
                   **{k: self._values(v) for k, v in kwargs.items()})
        if isinstance(out, (bool, np.bool_)) or getattr(out, "dtype", None) == bool:
            mask = np.asarray(out).view(Mask)
            mask.tracing = self.tracing
            return mask
        return out  # type: ignore[no-any-return]

    def _new_shape(self, dims: tuple[object, ...] | list[object]) -> tuple[int, ...]:
        """A reshape's shape, its one -1 worked out as numpy does."""
        try:
            new = [operator.index(d) for d in dims]  # type: ignore[arg-type]
        except TypeError:
            raise self._error(f"a shape is a tuple of integers, not {dims!r}", "shape") from None
        known = math.prod(d for d in new if d != -1)
        if new.count(-1) == 1 and known and self.size % known == 0:
            new[new.index(-1)] = self.size // known
        if any(d < 0 for d in new) or math.prod(new) != self.size:
            raise self._error(f"cannot reshape an array of shape {list(self.shape)} "
                              f"({self.size} elements) to {list(dims)}", "shape")
        return tuple(new)

    def _writing_into_an_array(self) -> bool:
        """Whether the user's code is storing this value into an array (`a[i] = x`)."""
        frame = _user_frame()
        return frame is not None and dis.opname[
            frame.f_code.co_code[frame.f_lasti]] == "STORE_SUBSCR"

    def _as_numbers(self) -> ChainruleError:
        """The refusal when numpy asks for the numbers of a traced value (its __array__):
        numpy's ndarray.dot does (`W.dot(x)` with W a numpy array: the only call of a
        numpy array's method that takes a traced value and returns an ndarray, which no
        protocol lets chainrule replace by a traced value), and so does writing it into an
        array, np.array([x, y]) and every numpy function without a protocol."""
        if self._writing_into_an_array():
            return self._error(f"writing a traced value into a numpy array (a[...] = x): "
                               f"{_NOT_TRACKED}", "forbidden")
        frame = _user_frame()
        called = _expression(frame) if frame is not None else ""
        if re.search(r"\.dot\(", called):
            return self._error(
                f"{called}: numpy's ndarray.dot of a numpy array asks for the traced value's "
                "numbers, which chainrule cannot follow; write np.dot(a, b) or a @ b, the same "
                "product", "forbidden")
        return self._error("np.array / np.asarray of a traced value (or a numpy function that "
                           "converts its arguments to numbers) is not possible: keep the value "
                           "in numpy operations", "forbidden")


class Mask(np.ndarray):
    """A comparison of traced values (`x > 0`): booleans computed from the values at the given
    inputs. It is data for the graph, as a label is (`x * (x > 0)` multiplies by a constant);
    branching on it is refused, since the graph would hold the branch these values take only."""

    tracing: _Tracing | None = None

    def __array_finalize__(self, obj: object) -> None:
        self.tracing = getattr(obj, "tracing", None)

    def __bool__(self) -> bool:
        if self.tracing is None or _asserting():
            # An assert that holds leaves the graph as it is (one that fails raises the
            # user's own AssertionError): numpy-ml's is_stochastic checks its input this way.
            return bool(np.asarray(self))
        raise _refusal(self.tracing, "if / while / and / or on comparing traced values "
                       "is not possible: the graph would hold one branch only; use the mask as "
                       "data (x * (x > 0)) or np.maximum, np.minimum, np.abs", "forbidden")


def _asserting() -> bool:
    """Whether the user's line running is an assert statement."""
    frame = _user_frame()
    if frame is None:
        return False
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).lstrip()
    return line.startswith(("assert ", "assert("))


def _refusal(tracing: _Tracing, message: str, kind: str) -> ChainruleError:
    """A ChainruleError pointing at the expression the traced function is executing; where
    that runs in a function of the user's outside the traced one's lines, the message says
    which line of which file."""
    position = _caller_position(tracing.source)
    frame = _user_frame()
    if frame is not None and not tracing.source.contains(frame.f_code):
        message += (f" (line {frame.f_lineno} of {frame.f_code.co_qualname}, "
                    f"{os.path.basename(frame.f_code.co_filename)}: {_expression(frame)})")
    return ChainruleError(message, tracing.source.span(*position) if position else None, kind)


def _user_frame() -> FrameType | None:
    """The innermost running frame of the user's code (not numpy's, nor chainrule's)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_LIBRARIES):
        frame = frame.f_back
    return frame


def _expression(frame: FrameType) -> str:
    """The text of the expression a frame is executing (its first line, if it spans more)."""
    position = frame_position(frame)
    if position is None:
        return ""
    line, col, end_line, end_col = position
    text = linecache.getline(frame.f_code.co_filename, line)
    return text[col:end_col if end_line == line else None].strip()


def _own_refusal(err: BaseException) -> ChainruleError | None:
    """Our own refusal, where numpy raised its error on top of it (`a[i] = x` calls
    `x.__float__`, whose ChainruleError numpy replaces by "setting an array element with a
    sequence"): the ChainruleError in the error's chain of causes, if any."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ChainruleError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _numpy_name(func: Callable[..., Any]) -> str:
    """A numpy function's name as its user writes it: `np.linalg.norm`, `np.sum`."""
    module = getattr(func, "__module__", None) or "numpy"
    public = [part for part in module.split(".")[1:] if not part.startswith("_")]
    return ".".join(["np", *public, getattr(func, "__name__", str(func))])


# Why a numpy array cannot take a traced value, and which can.
_NOT_TRACKED = ("it would hold numbers, not the traced value; arrays the traced function makes "
                "itself with np.zeros, np.ones, np.empty, np.full or their _like take one")
# The ufuncs that give masks (data) instead of differentiable values.
_MASKS = frozenset({"greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
                    "isnan", "isfinite", "isinf"})
# numpy functions whose results are data: computed from the values (see Tracer._data).
_DATA_FUNCTIONS = frozenset({"np.argmax", "np.argmin", "np.allclose", "np.isclose",
                             "np.array_equal", "np.count_nonzero"})


def _like(fill: float) -> Callable[..., np.ndarray]:
    """np.zeros_like / np.ones_like of a traced value: a constant of its shape."""
    def like(a: Tracer, dtype: object = None, order: str = "K", subok: bool = True,
             shape: object = None, **kwargs: object) -> np.ndarray:
        return np.full(a.shape if shape is None else shape, fill,  # type: ignore[call-overload]
                       dtype=dtype)
    return like


def _full_like(a: Tracer, fill_value: object, dtype: object = None, order: str = "K",
               subok: bool = True, shape: object = None, **kwargs: object) -> np.ndarray:
    """np.full_like of a traced value: a constant of its shape (the fill itself not traced)."""
    if isinstance(fill_value, Tracer):
        raise a._refuse("np.full_like with a traced fill value",
                        "multiply np.ones_like(x) by the value instead")
    return np.full(a.shape if shape is None else shape, fill_value,  # type: ignore[call-overload]
                   dtype=dtype)


def _nan_to_num(x: Tracer, copy: bool = True, nan: float = 0.0, posinf: object = None,
                neginf: object = None) -> Tracer:
    """np.nan_to_num: the value itself where it is finite at the given inputs (refused where
    not: there the function is a constant, with no gradient to show)."""
    if not np.all(np.isfinite(x.tracing.value(x.node))):
        raise x._refuse("np.nan_to_num of a value that is not finite here",
                        "it holds NaN or infinities at these inputs")
    return Tracer(x.tracing, x.node)


def _norm(x: Tracer, ord: object = None, axis: object = None,
          keepdims: bool = False) -> Tracer:
    """np.linalg.norm: the 2-norm of a vector or the Frobenius norm of a matrix (also along
    `axis`), read as sqrt(sum(x**2)) in a group named np.linalg.norm."""
    vector = isinstance(axis, int) or (axis is None and x.ndim == 1)
    if not (ord is None or ord == "fro" and not vector or ord == 2 and vector):
        raise x._unknown(f"np.linalg.norm with ord={ord!r}", "it reads the 2-norm of vectors "
                         "and the Frobenius norm of matrices")
    return x.tracing.read_as_parts("np.linalg.norm", lambda: x.tracing.apply(
        "sqrt", ((x ** 2).sum(axis=axis, keepdims=keepdims),)))


def _reshape(a: Tracer, shape: object = None, order: str = "C", *, newshape: object = None,
             copy: object = None) -> Tracer:
    """np.reshape(a, shape)."""
    return a.reshape(shape if newshape is None else newshape, order=order)


# numpy functions read around the op table, by name: each called with numpy's arguments.
_AROUND: dict[str, Callable[..., object]] = {
    "np.reshape": _reshape,
    "np.ravel": lambda a, order="C": a.ravel(order),
    "np.copy": lambda a, order="K", subok=False: a.copy(),
    "np.transpose": lambda a, axes=None: a.transpose(*(() if axes is None else (axes,))),
    "np.shape": lambda a: a.shape,
    "np.ndim": lambda a: a.ndim,
    "np.size": lambda a, axis=None: a.size if axis is None else a.shape[axis],
    "np.zeros_like": _like(0.0),
    "np.empty_like": _like(0.0),
    "np.ones_like": _like(1.0),
    "np.full_like": _full_like,
    "np.nan_to_num": _nan_to_num,
    "np.linalg.norm": _norm,
    "np.pad": lambda array, pad_width, mode="constant", **kwargs: _pad(array, pad_width, mode,
                                                                       **kwargs),
}


# ---- joining arrays: numpy's functions of a list of arrays, read by _Tracing.join
def _tracing_of(arrays: object) -> _Tracing:
    """The trace a list of arrays belongs to (numpy called us: one of them is traced)."""
    items = [arrays] if isinstance(arrays, Tracer) else arrays
    return next(a.tracing for a in items if isinstance(a, Tracer))  # type: ignore[attr-defined]


def _join_options(how: str, out: object, dtype: object, tracing: _Tracing) -> None:
    """Refuse np.concatenate's out= and a dtype other than float64."""
    if out is not None:
        raise _refusal(tracing, f"np.{how} with out= writes into an array, which is not read",
                       "forbidden")
    if dtype is not None and np.dtype(dtype) != np.float64:  # type: ignore[call-overload]
        raise _refusal(tracing, f"np.{how} with dtype={dtype} is not read: chainrule computes "
                       "in float64", "forbidden")


def _along(how: str) -> Callable[..., Tracer]:
    """np.concatenate / np.stack: a list of arrays along `axis`."""
    def joined(arrays: object, axis: object = 0, out: object = None, *, dtype: object = None,
               casting: str = "same_kind") -> Tracer:
        tracing = _tracing_of(arrays)
        _join_options(how, out, dtype, tracing)
        return tracing.join(how, arrays, axis)
    return joined


def _sides(how: str) -> Callable[..., Tracer]:
    """np.hstack / np.vstack / np.column_stack: a list of arrays, their axes as numpy's."""
    def joined(tup: object, *, dtype: object = None, casting: str = "same_kind") -> Tracer:
        tracing = _tracing_of(tup)
        _join_options(how, None, dtype, tracing)
        return tracing.join(how, tup)
    return joined


_AROUND.update({"np.transpose": lambda a, axes=None: a.transpose(axes) if axes is not None
                else a.T, "np.swapaxes": lambda a, axis1, axis2: a.swapaxes(axis1, axis2)})
_AROUND.update({"np.concatenate": _along("concatenate"), "np.stack": _along("stack"),
                "np.hstack": _sides("hstack"), "np.vstack": _sides("vstack"),
                "np.column_stack": _sides("column_stack")})


# ------------------------------------------------------------------------- writes (issue 27)


def _pad(array: Tracer, pad_width: object, mode: object = "constant",
         **kwargs: object) -> Tracer:
    """np.pad of a traced array with zeros (numpy's constant mode, its default value): the
    table's pad, its widths one (before, after) pair per axis as numpy reads them."""
    values = kwargs.pop("constant_values", 0)
    if mode != "constant" or kwargs or isinstance(values, Tracer) or np.any(
            np.asarray(values) != 0):
        shown = ", ".join([f"mode={mode!r}", *(f"{k}=" for k in kwargs)])
        raise array._unknown(f"np.pad with {shown}" if mode != "constant" or kwargs else
                             "np.pad with constant_values", "chainrule pads with zeros only")
    try:
        widths = np.broadcast_to(np.asarray(pad_width), (array.ndim, 2))
        pairs = tuple((operator.index(b), operator.index(a)) for b, a in widths.tolist())
    except (ValueError, TypeError):
        raise array._error(f"np.pad's pad_width {pad_width!r} is not (before, after) integers "
                           f"for each of {array.ndim} axes", "value") from None
    if any(n < 0 for pair in pairs for n in pair):
        raise array._error(f"np.pad's pad_width {pad_width!r} is negative", "value")
    if not any(n for pair in pairs for n in pair):
        return array.copy()
    return array._op("pad", array, pad_width=pairs)


# The numpy functions that make an array whose values a traced function may then write into.
_CREATIONS = ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
              "full_like")
# The files that are no user's code: numpy's, chainrule's, Python's own and installed packages'.
_NOT_USERS = tuple({*_LIBRARIES, *(os.path.join(sysconfig.get_paths()[k], "") for k in (
    "stdlib", "platstdlib", "purelib", "platlib"))})
_TRACKING = threading.local()  # the running trace of this thread, if any (`_tracking`)
_PATCH_LOCK = threading.Lock()
_PATCHED: list[int] = [0]  # how many traces are running, in all threads
_ORIGINALS: dict[str, Callable[..., Any]] = {}  # numpy's own, while they are replaced


@contextmanager
def _tracking(tracing: _Tracing) -> Iterator[None]:
    """While `tracing` runs: the arrays the user's own code makes with np.zeros, np.ones,
    np.empty, np.full and their _like (float64, within the limits) are tracers of constants,
    so that a traced value can be written into them (`out[n, f, i, j] = ...`), as it cannot
    into a numpy array. numpy's module functions are replaced for the trace's time (and
    restored after); a call from numpy, a library or another thread gets numpy's own array."""
    outer = getattr(_TRACKING, "tracing", None)
    with _PATCH_LOCK:
        if not _PATCHED[0]:
            for name in _CREATIONS:
                _ORIGINALS[name] = getattr(np, name)
                setattr(np, name, _tracked(name, _ORIGINALS[name]))
        _PATCHED[0] += 1
    _TRACKING.tracing = tracing
    try:
        yield
    finally:
        _TRACKING.tracing = outer
        with _PATCH_LOCK:
            _PATCHED[0] -= 1
            if not _PATCHED[0]:
                for name in _CREATIONS:
                    setattr(np, name, _ORIGINALS.pop(name))


def _called_by_user(frame: FrameType, name: str) -> bool:
    """Whether the user's code called numpy's `name` itself (`np.zeros(...)` is the call its
    frame runs), not numpy, a library, or compiled code running on the user's line (numpy's
    random functions look np.empty up as the user's frame runs: their arrays stay numpy's)."""
    if frame.f_code.co_filename.startswith(_NOT_USERS):
        return False
    called = re.sub(r"\s+", "", _expression(frame))
    return re.match(rf"([A-Za-z_][\w.]*\.)?{name}\(", called) is not None


def _tracked(name: str, create: Callable[..., Any]) -> Callable[..., Any]:
    """numpy's `create`, whose array is a tracer of a constant when the running trace's
    user code made it (see `_tracking`)."""
    def tracked(*args: object, **kwargs: object) -> Any:
        out = create(*args, **kwargs)
        tracing: _Tracing | None = getattr(_TRACKING, "tracing", None)
        if tracing is None or not isinstance(out, np.ndarray) or out.dtype != np.float64 or (
                not 0 < out.size <= tracing.builder.limits.max_array_elements) or (
                not _called_by_user(sys._getframe(1), name)):
            return out
        if name.startswith("empty"):
            out[...] = 0.0  # numpy's are whatever memory held: zeros here, never NaN
        return tracing.created(out)
    tracked.__wrapped__ = create  # type: ignore[attr-defined]
    tracked.__name__ = tracked.__qualname__ = name
    tracked.__doc__ = create.__doc__
    return tracked
