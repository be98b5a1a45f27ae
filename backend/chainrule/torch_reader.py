"""Reading a PyTorch computation into chainrule's graph, under a `TorchFunctionMode`.

While `loss_fn()` runs, torch hands every function, Tensor method, operator and property read
(`torch.tanh`, `x.sum()`, `a @ b`, `x.T`) to the mode's `__torch_function__`, which runs it as
usual and, when one of its operands depends on an input, adds its node to a `GraphBuilder`
through the op table's `torch` field (`__radd__`, `__rsub__`, ... swap their operands). Two of
torch's functions are read as their parts: `F.linear` as transpose, matmul and add, and
`F.mse_loss` as sub, pow 2 and mean (a `loss` group). Conversions (`.double()`, `.to()`) and
reshapes that keep the shape are the same node; `.detach()` and `.data` are constants; reads of
sizes and dtypes pass. Anything else that touches an input is refused with its name, the module
running and the line of the call. Forward hooks on every module open and close a `layer` group
named by its path (`model.0`), nested as the modules are.

The values are recomputed by chainrule's engine in float64, from the parameters and constants
copied as `tensor.detach().double()`; torch's own loss is kept to compare.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from functools import partial
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode, resolve_name

from .answer import Answer
from .errors import ChainruleError, warning
from .graph import GraphBuilder, Node
from .ops import OPS
from .run import backprop_graph
from .settings import Limits

# torch's name (a function's, a method's, an operator's, a property's) -> the op-table entry.
TORCH_OPS = {torch_name: op.name for op in OPS.values() for torch_name in op.torch}
# The same values under another dtype or device, or a copy: the operand's own node.
SAME_VALUES = frozenset({"double", "float", "to", "type", "cpu", "contiguous", "clone",
                         "requires_grad_"})
# Reshapes: the operand's node when the shape does not change (chainrule has no reshape op).
RESHAPES = frozenset({"reshape", "view", "view_as", "reshape_as", "flatten", "squeeze",
                      "unsqueeze"})
# Cut off from the gradient, as torch means them: constants from there on.
DETACHED = frozenset({"detach", "data"})
# Read numbers out of a tensor: the graph would stop there without saying so.
NUMBER_READS = frozenset({"item", "tolist", "numpy", "__float__", "__int__", "__bool__",
                          "__index__", "__array__"})
# Options that leave an op as the table computes it.
_NEUTRAL_OPTIONS = {"alpha": 1, "inplace": False, "keepdim": False}
_SKIPPED_DIRS = (os.path.dirname(torch.__file__) + os.sep,
                 os.path.dirname(__file__) + os.sep)


def read_torch(loss_fn: Callable[[], Any], model: Any, *, check: bool,
               limits: Limits) -> Answer:
    """`from_torch`'s work (see there), with torch imported."""
    if model is not None and not isinstance(model, torch.nn.Module):
        raise ChainruleError(f"from_torch's model is an nn.Module, not {type(model).__name__}",
                             None, "request")
    reader = _Reader(model, limits)
    with reader.hooks(), torch.no_grad(), _Mode(reader):
        loss = loss_fn()
    out = reader.tracked(loss) if isinstance(loss, torch.Tensor) else None
    if out is None:
        raise ChainruleError("from_torch's loss_fn returned no value computed from the "
                             "parameters: return the loss tensor", None, "request")
    graph = reader.builder.finish(out)
    graph.require_scalar_output("from_torch")
    graph.warnings.extend(warning("unused_value", f"the parameter {name} is not part of the "
                                  "loss's graph") for name in reader.unused())
    result = backprop_graph(graph, check=check, limits=limits)
    _compare(result, float(loss.detach().double().sum()))
    return result


def _compare(result: Answer, theirs: float) -> None:
    """Warn when chainrule's loss is not torch's (an op computed differently)."""
    ours = result.output.value
    if isinstance(ours, float) and not math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-9):
        result.add_warning(warning(
            "torch_mismatch", f"chainrule computes the loss as {ours:.17g} but torch's is "
            f"{theirs:.17g} (torch in float32?)", result.output.node))


def _short_name(func: Any) -> tuple[str, str]:
    """(torch's full name of a function, its short name): `torch.Tensor.T.__get__` is `T`."""
    full = resolve_name(func) or getattr(func, "__qualname__", repr(func))
    parts = full.split(".")
    return full, parts[-2] if parts[-1] == "__get__" and len(parts) > 1 else parts[-1]


def _tensors(value: Any) -> Iterator[torch.Tensor]:
    """The tensors in an argument or a result (inside lists, tuples and dicts too)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item)


def _call_site() -> str:
    """`file.py:14`: the innermost line running that is neither torch's nor chainrule's."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_SKIPPED_DIRS):
        frame = frame.f_back
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


class _Mode(TorchFunctionMode):
    """Runs each torch call as usual, then hands it to the reader."""

    def __init__(self, reader: _Reader) -> None:
        super().__init__()
        self.reader = reader

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        self.reader.call(func, args, kwargs, result)
        return result


class _Reader:
    """The graph being built: a node per tensor computed from an input, by tensor identity."""

    def __init__(self, model: Any, limits: Limits) -> None:
        self.builder = GraphBuilder("", {}, limits)
        self.model = model
        self.parameters: dict[int, str] = {} if model is None else {
            id(p): name for name, p in model.named_parameters()}
        self.nodes: dict[int, Node] = {}
        self.kept: list[object] = []  # every tensor with a node, so that no id is reused
        self.modules: list[tuple[str, AbstractContextManager[int]]] = []

    # ------------------------------------------------------------ modules as groups

    def hooks(self) -> AbstractContextManager[None]:
        """Forward pre- and post-hooks on every module of the model, removed on exit."""
        return _Hooks(self)

    def enter(self, path: str, module: Any, args: Any) -> None:
        """A module starts: its `layer` group opens inside the running module's."""
        group = self.builder.group("layer", path, None)
        group.__enter__()
        self.modules.append((path, group))

    def leave(self, path: str, module: Any, args: Any, output: Any) -> None:
        """A module ends: its group closes."""
        _, group = self.modules.pop()
        group.__exit__(None, None, None)

    def where(self) -> str:
        """`in model.0 (train.py:14)`: the running module and the user's line."""
        module = f"in {self.modules[-1][0]} " if self.modules else ""
        return f"{module}({_call_site()})"

    # ------------------------------------------------------------ tensors as nodes

    def tracked(self, tensor: torch.Tensor) -> Node | None:
        """The node of a tensor computed from an input, or of an input (made at first use)."""
        node = self.nodes.get(id(tensor))
        if node is not None:
            return node
        name = self.input_name(tensor)
        if name is None:
            return None
        with self.builder.inside(None):  # an input is shared by every module: in none
            node = self.builder.input(name, _array(tensor), (0, 0))
        return self.bind(tensor, node)

    def input_name(self, tensor: torch.Tensor) -> str | None:
        if self.model is not None:
            return self.parameters.get(id(tensor))
        if tensor.requires_grad and tensor.is_leaf:
            self.parameters[id(tensor)] = name = f"t{len(self.parameters)}"
            return name
        return None

    def depends(self, tensor: torch.Tensor) -> bool:
        """Whether a tensor is an input or computed from one (without making its node)."""
        return id(tensor) in self.nodes or id(tensor) in self.parameters or (
            self.model is None and tensor.requires_grad and tensor.is_leaf)

    def bind(self, tensor: torch.Tensor, node: Node) -> Node:
        self.nodes[id(tensor)] = node
        self.kept.append(tensor)
        return node

    def operand(self, value: Any) -> Node:
        """The node of an operand: tracked, else a constant (a tensor's, or a number's)."""
        if isinstance(value, torch.Tensor):
            node = self.tracked(value)
            if node is not None:
                return node
            return self.bind(value, self.builder.leaf("const", _array(value), (0, 0)))
        return self.builder.leaf("const", value, (0, 0))

    def apply(self, op_name: str, operands: list[Any]) -> Node:
        return self.builder.apply(op_name, [self.operand(x) for x in operands], (0, 0))

    def unused(self) -> list[str]:
        """The model's parameters that no recorded op read."""
        made = set(self.builder.inputs)
        return [name for name in self.parameters.values() if name not in made]

    # ------------------------------------------------------------ torch's calls

    def call(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
             result: Any) -> None:
        """Record one torch call, if any of its operands depends on an input."""
        if not any(self.depends(t) for t in _tensors((args, kwargs))):
            return  # constants in, a constant out
        full, name = _short_name(func)
        if name in NUMBER_READS:
            raise self.refusal(full, "reads numbers out of a tensor, which cuts the graph there")
        if next(_tensors(result), None) is None or name in DETACHED:
            return  # sizes, dtypes, flags; or detached from the gradient, as torch means
        if name in SAME_VALUES or (name in RESHAPES and result.shape == args[0].shape):
            self.bind(result, self.operand(args[0]))
        elif name in _PARTS:
            self.bind(result, _PARTS[name](self, full, args, kwargs))
        elif name in TORCH_OPS and isinstance(result, torch.Tensor):
            self.bind(result, self.table_op(full, name, args, kwargs))
        else:
            raise self.refusal(full)

    def refusal(self, full: str, why: str = "") -> ChainruleError:
        known = ", ".join(sorted(n for n in {*TORCH_OPS, *_PARTS} if not n.startswith("__")))
        reason = f": it {why}" if why else f"; chainrule reads + - * / ** @ and {known}"
        return ChainruleError(f"{full} {self.where()} is not supported{reason}", None,
                              "unknown_function")

    def table_op(self, full: str, name: str, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Node:
        """The node of an op-table entry, its operands the call's first `arity` arguments."""
        op_name = TORCH_OPS[name]
        arity = OPS[op_name].arity
        operands, extra = list(args[:arity]), args[arity:]
        if name == "transpose" and _swaps_both_axes(operands[0], extra):
            extra = ()
        options = [k for k, v in kwargs.items()
                   if v is not None and (k not in _NEUTRAL_OPTIONS or _NEUTRAL_OPTIONS[k] != v)]
        if extra or options or len(operands) != arity:
            given = ", ".join([*map(repr, extra), *(f"{k}=" for k in options)])
            raise self.refusal(full, f"is called with {given or 'other arguments'}, and "
                               f"chainrule's {op_name} takes {arity} operand(s) and no options")
        if name.startswith("__r"):
            operands.reverse()  # `2 - x` is x.__rsub__(2)
        return self.apply(op_name, operands)

    def linear(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.linear(x, W, b)` as its parts: x @ W.T + b."""
        bound = _bind(args, kwargs, ("input", "weight", "bias"))
        weight = self.apply("transpose", [bound["weight"]])
        node = self.builder.apply("matmul", [self.operand(bound["input"]), weight], (0, 0))
        if bound.get("bias") is not None:
            node = self.builder.apply("add", [node, self.operand(bound["bias"])], (0, 0))
        return node

    def mse_loss(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.mse_loss(input, target)` as its parts: mean((input - target) ** 2), a `loss`
        group (sum for reduction="sum"; no reduction for "none")."""
        bound = _bind(args, kwargs, ("input", "target", "size_average", "reduce", "reduction",
                                     "weight"))
        reduction = bound.get("reduction", "mean")
        if any(bound.get(k) is not None for k in ("size_average", "reduce", "weight")) or \
                reduction not in ("mean", "sum", "none"):
            raise self.refusal(full, "is called with options other than reduction=")
        with self.builder.group("loss", "mse_loss", None):
            error = self.apply("sub", [bound["input"], bound["target"]])
            node = self.builder.apply("pow", [error, self.operand(2.0)], (0, 0))
            if reduction != "none":
                node = self.builder.apply(reduction, [node], (0, 0))
        return node


_PARTS: dict[str, Callable[[_Reader, str, tuple[Any, ...], dict[str, Any]], Node]] = {
    "linear": _Reader.linear, "mse_loss": _Reader.mse_loss}


class _Hooks:
    """Forward hooks on every module of a model (none without one), removed on exit."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.handles: list[Any] = []

    def __enter__(self) -> None:
        if self.reader.model is None:
            return
        for name, module in self.reader.model.named_modules():
            path = f"model.{name}" if name else "model"
            self.handles.append(module.register_forward_pre_hook(
                partial(self.reader.enter, path)))
            self.handles.append(module.register_forward_hook(partial(self.reader.leave, path)))

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()


def _bind(args: tuple[Any, ...], kwargs: dict[str, Any], names: tuple[str, ...]
          ) -> dict[str, Any]:
    """A call's arguments by name."""
    return {**dict(zip(names, args)), **kwargs}


def _swaps_both_axes(tensor: Any, dims: tuple[Any, ...]) -> bool:
    """Whether `transpose(d0, d1)` of a matrix swaps its two axes (what chainrule's does)."""
    return isinstance(tensor, torch.Tensor) and tensor.ndim == 2 and len(dims) == 2 and all(
        isinstance(d, int) for d in dims) and sorted(d % 2 for d in dims) == [0, 1]


def _array(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's numbers as a float64 array of chainrule's own (a copy)."""
    return np.array(tensor.detach().double().cpu().numpy(), dtype=np.float64)
