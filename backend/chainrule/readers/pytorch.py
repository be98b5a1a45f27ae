"""Reading a PyTorch computation into chainrule's graph, under a `TorchFunctionMode`.

While `loss_fn()` runs, torch hands every function, Tensor method, operator and property read
(`torch.tanh`, `x.sum()`, `a @ b`, `x.T`) to the mode's `__torch_function__`, which runs it as
usual and, when one of its operands depends on an input, adds its node to a `GraphBuilder`
through the op table's `torch` field (`__radd__`, `__rsub__`, ... swap their operands). Some of
torch's functions are read as their parts (`_PARTS`): `F.linear` as transpose, matmul and add;
`F.mse_loss` as sub, pow 2 and mean (a `loss` group); `F.log_softmax(z, dim)` as
z - logsumexp_rows(z) and `F.softmax` as its exp (`function` groups); `F.cross_entropy` as
log_softmax, then the targets' entries picked by a one-hot constant, summed, negated and
averaged, and `F.nll_loss` as that picking (`loss` groups); `F.batch_norm` and `F.layer_norm`
as makemore's mean, difference, variance, inverse square root, scale and shift, and
`nn.RNNCell`'s cell as two linears and its nonlinearity (in their module's `layer` group, or
a `function` group of their own when called directly); `F.conv2d` and `F.conv1d` as the
table's convolution and, with a bias, its add (one per channel, as an (O, 1, 1) array), which
`nn.Conv2d`'s group opens to; `F.max_pool2d`, `F.avg_pool2d` and their modules as the table's
poolings, with kernel_size, stride and padding; `x[...]` and `F.embedding` as an index or a
gather, the indices data; `torch.cat`, `torch.stack`, `hstack`, `vstack` and `column_stack`
as core/joins.py's joins, `split`, `chunk` and `unbind` (and iterating a tensor) as an index
per piece, and `nn.RNN`'s loop over time (`torch.rnn_tanh`, `rnn_relu`) as its cells step by
step, the steps' hidden states stacked. Conversions (`.double()`, `.to()`)
are the same node, and so are reshapes that keep the shape; a reshape, view, flatten, squeeze
or unsqueeze that changes it is the op table's reshape, with a constant of the new shape.
`.detach()` and `.data` are constants; reads of sizes and dtypes pass. Anything else that
touches an input is refused with its name, the module running and the line of the call.
Forward hooks on every module open and close a `layer` group named by its path (`model.0`),
nested as the modules are.

Each node's span points into the user's own source, as `trace`'s do: the expression of the
user's innermost frame that was running when torch was called (a line of `loss_fn`, or of a
module's own `forward`), the frames of torch and chainrule skipped. Each function met is read
once (`user_source.Source`) and the answer's source is those functions one after another.

The values are recomputed by chainrule's engine in float64, from the parameters and constants
copied as `tensor.detach().double()`; torch's own loss is kept to compare. A model or data in
a narrower float (float32) is said in a warning: its gradients agree with torch's to that
float's precision.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from functools import partial
from types import CodeType, FrameType
from typing import Any

import numpy as np
import torch
from torch.overrides import TorchFunctionMode, resolve_name

from ..core.composites import build
from ..core.graph import Graph, GraphBuilder, Node
from ..core.indexing import Component, array_text, key_text, split_key
from ..core.joins import join
from ..core.ops import OPS
from ..core.sweeps import forward
from ..errors import ChainruleError, Span, warning
from ..settings import Limits
from . import Read, Reference
from .backward import gradients
from .user_source import Source, frame_position, instruction_position

# torch's name (a function's, a method's, an operator's, a property's) -> the op-table entry.
TORCH_OPS = {torch_name: op.name for op in OPS.values() for torch_name in op.torch}
# torch's reductions (an entry with params, by its torch names), and max and min of one
# tensor, which reduce (of two, they are the elementwise maximum and minimum).
REDUCTIONS = {name: op for name, op in TORCH_OPS.items() if "axis" in dict(OPS[op].params)} | {
    "max": "amax", "min": "amin"}
_ELEMENTWISE_OF_TWO = {"max": "max", "min": "min"}
# A reduction's arguments after the tensor, by position, as torch names them.
_REDUCTION_ARGS = {"var": ("dim", "unbiased", "keepdim")}
# The same values under another dtype or device, or a copy: the operand's own node.
SAME_VALUES = frozenset({"double", "float", "to", "type", "cpu", "contiguous", "clone",
                         "requires_grad_"})
# Reshapes: the operand's node when the shape does not change, else the op table's reshape.
RESHAPES = frozenset({"reshape", "view", "view_as", "reshape_as", "flatten", "squeeze",
                      "unsqueeze"})
# Cut off from the gradient, as torch means them: constants from there on.
DETACHED = frozenset({"detach", "data"})
# Read numbers out of a tensor: the graph would stop there without saying so.
NUMBER_READS = frozenset({"item", "tolist", "numpy", "__float__", "__int__", "__bool__",
                          "__index__", "__array__"})
# What a refusal says is read: the whole list is /api/v1/ops's and the README's.
READ_IN_ONE_SENTENCE = (
    "chainrule reads torch's arithmetic, elementwise functions, reductions, matmul, reshapes, "
    "and the layers, normalizations and losses made of them (the full list: /api/v1/ops and "
    "the README)")
# Options that leave an op as the table computes it.
_NEUTRAL_OPTIONS = {"alpha": 1, "inplace": False, "keepdim": False}
# Options of torch's losses that chainrule's parts do not compute (their defaults).
_LOSS_DEFAULTS = {"weight": None, "size_average": None, "reduce": None, "label_smoothing": 0.0}
_SKIPPED_DIRS = (os.path.dirname(torch.__file__) + os.sep,
                 os.path.dirname(__file__) + os.sep)


def read_torch(loss_fn: Callable[[], Any], model: Any, limits: Limits,
               leaf_names: Mapping[int, str] | None = None) -> Read:
    """Read what `loss_fn()` computes with torch (`from_torch`'s reading: see
    `chainrule.from_torch`). The output of each module and of each loss read as its parts is
    named by its path (`model.0`) or function (`mse_loss`); `output=` may choose them.
    `leaf_names` (without a model): names for leaf tensors by `id(tensor)` (the user's own
    variables, as `chainrule.grade` finds them), used instead of `t<k>` where given."""
    if model is not None and not isinstance(model, torch.nn.Module):
        raise ChainruleError(f"from_torch's model is an nn.Module, not {type(model).__name__}",
                             None, "request")
    reader = _Reader(model, limits, leaf_names)
    reader.names.top = sys._getframe()
    with reader.hooks(), torch.no_grad(), _Mode(reader):
        loss = loss_fn()
    out = reader.tracked(loss) if isinstance(loss, torch.Tensor) else None
    if out is None:
        raise ChainruleError("from_torch's loss_fn returned no value computed from the "
                             "parameters: return the loss tensor", None, "request")
    reader.names.flush()
    reader.builder.source = reader.listing.text
    graph = reader.builder.finish(out)
    unused = [warning("unused_value", f"the parameter {name} is not part of the loss's graph")
              for name in reader.unused()]
    precision, rel_tol = _precision(reader.dtypes)
    return Read(graph, reader.outputs, [*reader.listing.warnings, *precision, *unused], Reference(
        float(loss.detach().double().sum()), "torch_mismatch", "chainrule computes the loss as "
        "{ours:.17g} but torch's is {theirs:.17g} (torch in float32?)", rel_tol=rel_tol,
        abs_tol=1e-9), scalar_for="from_torch")


def _precision(dtypes: set[torch.dtype]) -> tuple[list[dict[str, object]], float]:
    """A warning that a model (or its data) in a narrower float than float64 is computed in
    float64 here, and how far the loss may then be from torch's: the square root of the
    dtype's epsilon (about 3e-4 for float32), relative."""
    if not dtypes:
        return [], 1e-6
    narrowest = min(dtypes, key=lambda d: torch.finfo(d).bits)
    name = str(narrowest).removeprefix("torch.")
    return [warning("precision", f"the model computes in {name} and chainrule in float64: its "
                    f"gradients agree with torch's to {name} precision, not to the last "
                    "digit")], torch.finfo(narrowest).eps ** 0.5


@functools.lru_cache(maxsize=256)
def _source_of(code: CodeType) -> Source:
    """A function's source, read and parsed once (a loss read again runs the same code)."""
    return Source.of(code)


@functools.lru_cache(maxsize=1024)
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


def _user_frame() -> FrameType:
    """The innermost frame running that is neither torch's nor chainrule's: the user's line
    (the outermost frame, if every one is theirs)."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_SKIPPED_DIRS):
        frame = frame.f_back
    return frame


class _Listing:
    """The user's own functions that ran torch calls, each read once, in the order first met
    and a blank line apart: the answer's source, and the spans into it."""

    def __init__(self) -> None:
        self.text = ""
        self.read: list[tuple[Source, int]] = []  # each function's source, at its offset
        self.placed: dict[CodeType, tuple[Source, int] | None] = {}
        self.spans: dict[tuple[CodeType, int], Span] = {}
        self.warnings: list[dict[str, object]] = []

    def span(self, frame: FrameType) -> Span:
        """Where in the text the expression that `frame` is executing is (found once per
        instruction: a loop or a layer called twice runs the same one again)."""
        key = (frame.f_code, frame.f_lasti)
        span = self.spans.get(key)
        if span is None:
            span = self.spans[key] = self.find(frame)
        return span

    def find(self, frame: FrameType) -> Span:
        code = frame.f_code
        if code not in self.placed:
            self.placed[code] = self.place(code)
        placed = self.placed[code]
        position = frame_position(frame) if placed is not None else None
        if placed is None or position is None:
            return (0, 0)
        source, offset = placed
        start, end = source.span(*position)
        return (offset + start, offset + end)

    def place(self, code: CodeType) -> tuple[Source, int] | None:
        """The source holding `code` (read and appended to the text when new), and its offset;
        None if it has none (typed into a prompt)."""
        for source, offset in self.read:
            if source.contains(code):
                return source, offset
        source = _source_of(code)
        if not source.text:
            self.warnings.extend(source.warnings)
            return None
        if self.text:
            self.text += "\n" if self.text.endswith("\n") else "\n\n"
        self.read.append((source, len(self.text)))
        self.text += source.text
        return self.read[-1]


_Run = tuple[FrameType, int, FrameType]  # a frame, its instruction, the frame it calls


class _Names:
    """Nodes named by the user's assignments, as the language names them: `h = torch.tanh(x)`
    names the tanh. Of the nodes made while one expression of the user's runs (`out =
    model(x)` runs a whole model, `y_hat = net(X)` a function of theirs), the last one made is
    its value and takes the name, unless the function's own assignment named it first; and
    only if the name then holds that node's tensor (`ys = [torch.tanh(x) for x in xs]` names
    none). One run of an expression is its frame at one instruction calling one frame (a
    module's call, a function of theirs; a torch function's own, new each call: a loop's calls
    are each a run)."""

    def __init__(self, builder: GraphBuilder, nodes: dict[int, Node]) -> None:
        self.builder = builder
        self.nodes = nodes  # the reader's: a tensor's node by its id
        self.top: FrameType | None = None  # the frame that called loss_fn: where the user's end
        # The last node of each expression running that an assignment takes, innermost
        # first: (its run: the frame, its instruction, the frame it calls; the node; the name).
        self.pending: list[tuple[_Run, Node, str]] = []

    def running(self) -> list[_Run]:
        """A torch call starts: the runs of the user's expressions it is part of, innermost
        first (the user's frames out to loss_fn's); those that ran before and are done have
        their node named, before any node refers to it."""
        chain: list[_Run] = []
        inner, frame, top = None, sys._getframe(1), self.top
        while frame is not top and frame is not None:
            if inner is not None and not frame.f_code.co_filename.startswith(_SKIPPED_DIRS):
                chain.append((frame, frame.f_lasti, inner))
            inner, frame = frame, frame.f_back  # type: ignore[assignment]
        kept = []
        for entry in self.pending:
            if entry[0] in chain:  # the same frames (by identity) at the same instruction
                kept.append(entry)
            else:
                self.name(*entry)
        self.pending = kept
        return chain

    def made(self, chain: list[_Run], node: Node | None, first: int) -> None:
        """The call gave `node`: the last node of each run (a node made before the call, as
        `x.double()` answers, is not)."""
        if node is not None and node.id >= first:
            named = [(run, _assigned(run[0].f_code, run[1])) for run in chain]
            self.pending = [(run, node, name) for run, name in named if name is not None]

    def flush(self) -> None:
        """The end: name the last node of each expression that ran."""
        for entry in self.pending:
            self.name(*entry)
        self.pending = []

    def name(self, run: _Run, node: Node, name: str) -> None:
        """Name `node` if the assignment, now done, gave `name` its tensor."""
        value = run[0].f_locals.get(name)
        if isinstance(value, torch.Tensor) and self.nodes.get(id(value)) is node:
            self.builder.name_node(node, name)


@functools.lru_cache(maxsize=4096)
def _assigned(code: CodeType, instruction: int) -> str | None:
    """The name an assignment gives the expression at `instruction` of `code`, if any."""
    position = instruction_position(code, instruction)
    return _source_of(code).names.get(position) if position else None


class _Mode(TorchFunctionMode):
    """Runs each torch call as usual, then hands it to the reader."""

    def __init__(self, reader: _Reader) -> None:
        super().__init__()
        self.reader = reader

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if func is torch.autograd.grad:  # read as the backward graph, not run (no_grad)
            return _autograd_grad(self.reader, args, kwargs)
        draws = _short_name(func)[1] in RANDOM_DRAWS
        state = torch.get_rng_state() if draws else None
        result = func(*args, **kwargs)
        if draws:
            self.reader.rng_state = state
        try:
            self.reader.call(func, args, kwargs, result)
        except ChainruleError as err:
            if err.kind != "shape":
                raise
            # torch took these shapes and an op of chainrule's did not: say which call it was.
            raise self.reader.refusal(_short_name(func)[0], "is read as chainrule's "
                                      f"{err.message}", "shape") from None
        return result


class _Reader:
    """The graph being built: a node per tensor computed from an input, by tensor identity."""

    def __init__(self, model: Any, limits: Limits,
                 leaf_names: Mapping[int, str] | None = None) -> None:
        self.builder = GraphBuilder("", {}, limits)
        self.leaf_names = leaf_names or {}
        self.model = model
        self.parameters: dict[int, str] = {} if model is None else {
            id(p): name for name, p in model.named_parameters()}
        self.nodes: dict[int, Node] = {}
        self.kept: list[object] = []  # every tensor with a node, so that no id is reused
        self.modules: list[tuple[str, AbstractContextManager[int], Any]] = []
        self.buffers: dict[int, str] = {} if model is None else {
            id(b): name for name, b in model.named_buffers()}
        self.dtypes: set[torch.dtype] = set()  # floats narrower than float64 read
        self.listing = _Listing()
        self.span: Span = (0, 0)  # the user's expression that made the call being read
        self.outputs: dict[str, int] = {}  # a module's path, a loss's function: its output
        self.rng_state: torch.Tensor | None = None  # torch's RNG before the last random draw
        self.names = _Names(self.builder, self.nodes)

    # ------------------------------------------------------------ modules as groups

    def hooks(self) -> AbstractContextManager[None]:
        """Forward pre- and post-hooks on every module of the model, removed on exit."""
        return _Hooks(self)

    def enter(self, path: str, module: Any, args: Any) -> None:
        """A module starts: its `layer` group, spanning the user's call of it, opens inside the
        running module's."""
        group = self.builder.group("layer", path, self.listing.span(_user_frame()))
        group.__enter__()
        self.modules.append((path, group, module))

    def leave(self, path: str, module: Any, args: Any, output: Any) -> None:
        """A module ends: its group closes, and its output (if it has a node) is named by its
        path (a module called again: by its last call)."""
        _, group, _ = self.modules.pop()
        group.__exit__(None, None, None)
        node = self.nodes.get(id(output)) if isinstance(output, torch.Tensor) else None
        if node is not None:
            self.outputs[path] = node.id

    def where(self) -> str:
        """`in model.0 (train.py:14)`: the running module and the user's line."""
        module = f"in {self.modules[-1][0]} " if self.modules else ""
        frame = _user_frame()
        return f"{module}({os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno})"

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
            node = self.builder.input(name, self.array(tensor), (0, 0))
        return self.bind(tensor, node)

    def input_name(self, tensor: torch.Tensor) -> str | None:
        if self.model is not None:
            return self.parameters.get(id(tensor))
        if tensor.requires_grad and tensor.is_leaf:
            name = self.leaf_names.get(id(tensor))
            if name is None or name in self.parameters.values():
                name = f"t{len(self.parameters)}"
            self.parameters[id(tensor)] = name
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
        """The node of an operand: a node already, tracked, else a constant (a tensor's, an
        array's or a number's) spanning the call that first used it."""
        if isinstance(value, Node):
            return value
        if isinstance(value, torch.Tensor):
            node = self.tracked(value)
            if node is not None:
                return node
            return self.bind(value, self.builder.leaf("const", self.array(value), self.span))
        return self.builder.leaf("const", value, self.span)

    def array(self, tensor: torch.Tensor) -> np.ndarray:
        """A tensor's numbers in float64 (`_array`), a narrower float dtype noted."""
        if tensor.is_floating_point() and tensor.dtype != torch.float64:
            self.dtypes.add(tensor.dtype)
        return _array(tensor)

    def apply(self, op_name: str, operands: list[Any]) -> Node:
        """A node of the op-table entry `op_name`, spanning the call being read."""
        return self.builder.apply(op_name, [self.operand(x) for x in operands], self.span)

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
        if name in DATA:
            return  # zeros_like(x), x > 0, argmax: data, a constant wherever it is used
        running = self.names.running()  # the user's frames, innermost first
        self.span = self.listing.span(running[0][0] if running else _user_frame())
        made = len(self.builder.nodes)
        if name in SAME_VALUES or (name in RESHAPES and result.shape == args[0].shape):
            self.bind(result, self.operand(args[0]))
        elif name in RESHAPES and isinstance(result, torch.Tensor):
            if result.dtype != args[0].dtype:
                raise self.refusal(full, f"reads the numbers as {result.dtype}")
            self.bind(result, self.apply("reshape", [args[0], np.zeros(result.shape)]))
        elif name in REDUCTIONS or name in _ELEMENTWISE_OF_TWO:
            # max(dim) answers (values, indices): the values are the node, the indices data.
            values = result if isinstance(result, torch.Tensor) else result[0]
            self.bind(values, self.reduce_along(full, name, args, kwargs))
        elif name in _MANY:
            _MANY[name](self, full, args, kwargs, result)
        elif name in _PARTS:
            node = self.bind(result, _PARTS[name](self, full, args, kwargs))
            self.outputs[name] = node.id
        elif name in _ACTIVATIONS and isinstance(result, torch.Tensor):
            self.bind(result, _ACTIVATIONS[name](self, full, args, kwargs))
        elif name in TORCH_OPS and isinstance(result, torch.Tensor):
            self.bind(result, self.table_op(full, name, args, kwargs))
        else:
            raise self.refusal(full)
        self.names.made(running, self.nodes.get(id(next(_tensors(result)))), made)

    def refusal(self, full: str, why: str = "", kind: str = "unknown_function"
                ) -> ChainruleError:
        """`full` is not read, said with the running module and the user's line: why, or else
        what is read, in one sentence (the full list is /api/v1/ops's and the README's)."""
        reason = f": it {why}" if why else f"; {READ_IN_ONE_SENTENCE}"
        return ChainruleError(f"{full} {self.where()} is not supported{reason}", None, kind)

    def table_op(self, full: str, name: str, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Node:
        """The node of an op-table entry, its operands the call's first `arity` arguments."""
        op_name = TORCH_OPS[name]
        arity = OPS[op_name].arity
        operands, extra = list(args[:arity]), args[arity:]
        if name == "transpose" and _swaps_both_axes(operands[0], extra):
            extra = ()
        elif name == "transpose" and len(extra) == 2 and not kwargs:  # (N, L, C) -> (N, C, L)
            return _permute(self, full, (operands[0], *extra), {})
        options = [k for k, v in kwargs.items()
                   if v is not None and (k not in _NEUTRAL_OPTIONS or _NEUTRAL_OPTIONS[k] != v)]
        if extra or options or len(operands) != arity:
            given = ", ".join([*map(repr, extra), *(f"{k}=" for k in options)])
            raise self.refusal(full, f"is called with {given or 'other arguments'}, and "
                               f"chainrule's {op_name} takes {arity} operand(s) and no options")
        if name.startswith("__r"):
            operands.reverse()  # `2 - x` is x.__rsub__(2)
        return self.apply(op_name, operands)


    def reduce_along(self, full: str, name: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> Node:
        """A reduction, its torch arguments as the op's params: `dim` is `axis`, `keepdim`
        `keepdims`, and var's `correction` (or `unbiased`) `ddof` (torch's default is 1);
        max and min of two tensors are the elementwise ones."""
        if name in _ELEMENTWISE_OF_TWO and (len(args) > 1 and isinstance(args[1], torch.Tensor)
                                            or isinstance(kwargs.get("other"), torch.Tensor)):
            other = args[1] if len(args) > 1 else kwargs["other"]
            return self.apply(_ELEMENTWISE_OF_TWO[name], [args[0], other])
        aliases = {"axis": "dim", "keepdims": "keepdim"}  # numpy's spellings, which torch takes
        kwargs = {aliases.get(k, k): v for k, v in kwargs.items()}
        bound = _bind(args[1:], kwargs, _REDUCTION_ARGS.get(name, ("dim", "keepdim")))
        params: dict[str, Any] = {}
        dim = bound.pop("dim", None)
        if dim is not None and dim != () and dim != []:
            params["axis"] = tuple(dim) if isinstance(dim, (tuple, list)) else dim
        params["keepdims"] = bool(bound.pop("keepdim", False))
        if name == "var":
            correction, unbiased = bound.pop("correction", None), bound.pop("unbiased", None)
            params["ddof"] = int(correction if correction is not None else
                                 1 if unbiased is None else bool(unbiased))
        options = [k for k, v in bound.items() if v is not None]
        if options:
            raise self.refusal(full, f"is called with {', '.join(f'{k}=' for k in options)}, "
                               f"which chainrule's {REDUCTIONS[name]} does not take")
        return self.builder.apply(REDUCTIONS[name], [self.operand(args[0])], self.span,
                                  params=params)

    def linear(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.linear(x, W, b)` as its parts: x @ W.T + b."""
        bound = _bind(args, kwargs, ("input", "weight", "bias"))
        node = self.apply("matmul", [bound["input"], self.apply("transpose", [bound["weight"]])])
        if bound.get("bias") is not None:
            node = self.apply("add", [node, bound["bias"]])
        return node

    def mse_loss(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.mse_loss(input, target)` as its parts: mean((input - target) ** 2), a `loss`
        group (sum for reduction="sum"; no reduction for "none")."""
        bound = _bind(args, kwargs, ("input", "target", "size_average", "reduce", "reduction",
                                     "weight"))
        reduction = self.reduction(full, bound)
        with self.builder.group("loss", "mse_loss", self.span):
            node = self.apply("pow", [self.apply("sub", [bound["input"], bound["target"]]), 2.0])
            if reduction != "none":
                node = self.apply(reduction, [node])
        return node

    def softmax(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.softmax(z, dim)` as its parts: exp(z - logsumexp_rows(z)), a `function` group."""
        bound = _bind(args, kwargs, ("input", "dim", "_stacklevel", "dtype"))
        with self.builder.group("function", "softmax", self.span):
            return self.by_rows(full, bound["input"], bound.get("dim"), exp=True)

    def log_softmax(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.log_softmax(z, dim)` as its parts: z - logsumexp_rows(z), a `function` group."""
        bound = _bind(args, kwargs, ("input", "dim", "_stacklevel", "dtype"))
        with self.builder.group("function", "log_softmax", self.span):
            return self.by_rows(full, bound["input"], bound.get("dim"), exp=False)

    def by_rows(self, full: str, tensor: Any, dim: Any, *, exp: bool) -> Node:
        """log_softmax (or, with `exp`, softmax) of `tensor` along `dim`: along the last axis
        as the op table computes it, or along the first of a matrix between two transposes."""
        z = self.operand(tensor)
        rank = len(z.shape)
        if not isinstance(dim, int):
            raise self.refusal(full, "is called without dim= (say which axis)")
        across = rank == 2 and dim % rank == 0
        if not rank or (dim % rank != rank - 1 and not across):
            raise self.refusal(full, f"works along dim={dim} of a {rank}-axis tensor, and "
                               "chainrule's works along the last axis (or the first of a matrix)")
        if across:
            z = self.apply("transpose", [z])
        node = self.apply("sub", [z, self.apply("logsumexp_rows", [z])])
        if exp:
            node = self.apply("exp", [node])
        return self.apply("transpose", [node]) if across else node

    def cross_entropy(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.cross_entropy(z, target)` as its parts, a `loss` group: log_softmax over the
        classes (dim 1, or 0 without a batch), then the picking of `nll_loss`."""
        bound = _bind(args, kwargs, ("input", "target", "weight", "size_average",
                                     "ignore_index", "reduce", "reduction", "label_smoothing"))
        reduction = self.reduction(full, bound)
        z = bound["input"]
        with self.builder.group("loss", "cross_entropy", self.span):
            with self.builder.group("function", "log_softmax", self.span):
                logp = self.by_rows(full, z, 1 if z.ndim > 1 else 0, exp=False)
            return self.picked(full, logp, bound["target"], bound.get("ignore_index", -100),
                               reduction)

    def nll_loss(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.nll_loss(logp, target)` as its parts, a `loss` group (see `picked`)."""
        bound = _bind(args, kwargs, ("input", "target", "weight", "size_average",
                                     "ignore_index", "reduce", "reduction"))
        reduction = self.reduction(full, bound)
        with self.builder.group("loss", "nll_loss", self.span):
            return self.picked(full, self.operand(bound["input"]), bound["target"],
                               bound.get("ignore_index", -100), reduction)

    def picked(self, full: str, logp: Node, target: Any, ignore: int, reduction: str) -> Node:
        """-sum(t * logp) over the classes: t one-hot for class indices (a row of zeros where
        the target is `ignore`), or the target's probabilities; then the sum, the mean over the
        targets counted (torch's "mean"), or a loss per sample ("none", as logp's rows times
        ones)."""
        classes = logp.shape[-1] if logp.shape else 0
        if isinstance(target, torch.Tensor) and not target.is_floating_point():
            index = target.detach().cpu().numpy()
            kept = index != ignore
            t: Any = ((np.arange(classes) == index[..., None]) & kept[..., None]).astype(float)
            count = float(kept.sum())
        else:
            t, count = target, float(logp.shape[0] if len(logp.shape) > 1 else 1)
        node = self.apply("mul", [logp, t])
        if reduction == "none":
            node = self.apply("matmul", [node, np.ones(classes)])
        else:
            node = self.apply("sum", [node])
        node = self.apply("neg", [node])
        return self.apply("div", [node, count]) if reduction == "mean" else node

    def reduction(self, full: str, bound: dict[str, Any]) -> str:
        """A loss's reduction ("mean", "sum" or "none"), its other options refused unless they
        are torch's defaults."""
        reduction = bound.get("reduction", "mean")
        options = [k for k, v in _LOSS_DEFAULTS.items() if k in bound and bound[k] != v]
        if options or reduction not in ("mean", "sum", "none"):
            given = ", ".join(f"{k}=" for k in options) or f"reduction={reduction!r}"
            raise self.refusal(full, f"is called with {given}, and chainrule reads it with "
                               "reduction= alone")
        return str(reduction)

    # ---- normalization and recurrent cells, as their parts

    def batch_norm(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.batch_norm` (nn.BatchNorm1d/2d/3d) as makemore's parts, per channel (axis 1):
        in training, the batch's mean and biased variance over the other axes; in eval, the
        running statistics as data (torch's update of them is not on the gradient's path);
        then the difference, the inverse square root of var + eps, the scale and the shift."""
        bound = _bind(args, kwargs, ("input", "running_mean", "running_var", "weight", "bias",
                                     "training", "momentum", "eps"))
        x = self.operand(bound["input"])
        rank = len(x.shape)
        if rank < 2:
            raise self.refusal(full, f"normalizes a {rank}-axis tensor, and chainrule's "
                               "batch_norm needs (batch, channels, ...)")
        channels = (x.shape[1], *(1,) * (rank - 2))  # the statistics' shape past the batch
        axes: int | tuple[int, ...] = 0 if rank == 2 else (0, *range(2, rank))
        batch = bool(bound.get("training")) or bound.get("running_mean") is None
        with self.part_group(full, "batch_norm"):
            if batch:
                diff, var = self.statistics(x, axes, _BN_NAMES)
            else:
                mean = self.statistic(bound["running_mean"], "running_mean", channels)
                diff = self.part("sub", [x, mean], _BN_NAMES[1])
                var = self.statistic(bound["running_var"], "running_var", channels)
            raw = self.normalized(diff, var, bound.get("eps", 1e-5), _BN_NAMES)
            return self.scaled(raw, bound.get("weight"), bound.get("bias"), channels)

    def layer_norm(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.layer_norm` (nn.LayerNorm) as its parts: each sample's mean and biased variance
        over the last axes (`normalized_shape`), the difference, the inverse square root of
        var + eps, the scale and the shift (elementwise_affine's weight and bias)."""
        bound = _bind(args, kwargs, ("input", "normalized_shape", "weight", "bias", "eps"))
        x = self.operand(bound["input"])
        count = len(tuple(bound["normalized_shape"]))
        rank = len(x.shape)
        axes: int | tuple[int, ...] = -1 if count == 1 else tuple(range(rank - count, rank))
        with self.part_group(full, "layer_norm"):
            diff, var = self.statistics(x, axes, _LN_NAMES)
            raw = self.normalized(diff, var, bound.get("eps", 1e-5), _LN_NAMES)
            return self.scaled(raw, bound.get("weight"), bound.get("bias"), None)

    def statistics(self, x: Node, axes: int | tuple[int, ...], names: tuple[str, ...]
                   ) -> tuple[Node, Node]:
        """x's difference from its mean along `axes`, and its biased variance (the mean of
        the squared difference), as torch normalizes: (diff, var)."""
        mean = self.part("mean", [x], names[0], axis=axes, keepdims=True)
        diff = self.part("sub", [x, mean], names[1])
        squared = self.part("pow", [diff, 2.0], names[2])
        return diff, self.part("mean", [squared], names[3], axis=axes, keepdims=True)

    def normalized(self, diff: Node, var: Node, eps: float, names: tuple[str, ...]) -> Node:
        """diff * (var + eps) ** -0.5: the inverse square root, then the normalized values."""
        inverse = self.part("pow", [self.part("add", [var, float(eps)]), -0.5], names[4])
        return self.part("mul", [diff, inverse], names[5])

    def scaled(self, raw: Node, weight: Any, bias: Any, shape: tuple[int, ...] | None) -> Node:
        """weight * raw + bias, each where given; reshaped to `shape` first (a channel's
        weight along axis 1 of an image) when that is not its own."""
        for op, operand in (("mul", weight), ("add", bias)):
            if operand is None:
                continue
            node = self.operand(operand)
            if shape is not None and node.shape != shape:
                node = self.apply("reshape", [node, np.zeros(shape)])
            raw = self.part(op, [node, raw] if op == "mul" else [raw, node])
        return raw

    def statistic(self, tensor: Any, name: str, shape: tuple[int, ...]) -> Node:
        """A running statistic as data, named by the buffer's path, shaped to broadcast."""
        label = self.buffers.get(id(tensor), name)
        return self.builder.leaf("const", self.array(tensor).reshape(shape), self.span, label)

    def rnn_cell(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`torch.rnn_tanh_cell`/`rnn_relu_cell` (nn.RNNCell) as its parts: two linears,
        x @ W_ih.T + b_ih and h @ W_hh.T + b_hh, their sum, and the nonlinearity."""
        bound = _bind(args, kwargs, ("input", "hx", "w_ih", "w_hh", "b_ih", "b_hh"))
        activation = "relu" if full.endswith("relu_cell") else "tanh"
        with self.part_group(full, full.rsplit(".", 1)[-1]):
            ih = self.linear(full, (bound["input"], bound["w_ih"], bound.get("b_ih")), {})
            hh = self.linear(full, (bound["hx"], bound["w_hh"], bound.get("b_hh")), {})
            return self.apply(activation, [self.apply("add", [ih, hh])])

    def part(self, op: str, operands: list[Any], name: str | None = None,
             **params: Any) -> Node:
        """A node of a composite's parts, named (makemore's names) and with params."""
        return self.builder.apply(op, [self.operand(x) for x in operands], self.span, name,
                                  params or None)

    def part_group(self, full: str, name: str) -> AbstractContextManager[Any]:
        """The group of a composite's parts: none of its own when torch's module of it
        (nn.BatchNorm2d for batch_norm) is running, whose `layer` group is the box; else a
        `function` group named by the function."""
        running = self.modules[-1][2] if self.modules else None
        if isinstance(running, _MODULE_OF.get(name, ())):
            return contextlib.nullcontext()
        return self.builder.group("function", name, self.span)

    # ------------------------------------------------------------ convolution and pooling

    def conv(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any], d: int) -> Node:
        """`F.conv2d(x, w, b, stride, padding)` (and conv1d) as its parts: the op table's
        conv2d, then the bias, one per output channel, added as an (O, 1, 1) array; `nn.Conv2d`
        calls it inside its own group. Dilation and groups other than 1 are refused."""
        bound = _bind(args, kwargs, ("input", "weight", "bias", "stride", "padding", "dilation",
                                     "groups"))
        for option, neutral in (("dilation", 1), ("groups", 1)):
            if _window(bound.get(option, neutral)) != neutral:
                raise self.refusal(full, f"is called with {option}={bound[option]!r}, and "
                                   f"chainrule's conv{d}d takes {option} 1 only")
        padding = bound.get("padding", 0)
        if isinstance(padding, str):
            if padding != "valid":
                raise self.refusal(full, f"is called with padding={padding!r}: give the "
                                   "padding as numbers (chainrule reads 'valid', which is 0)")
            padding = 0
        params = {"stride": _window(bound.get("stride", 1)), "padding": _window(padding)}
        node = self.builder.apply(f"conv{d}d", [self.operand(bound["input"]),
                                                self.operand(bound["weight"])], self.span,
                                  params=params)
        bias = bound.get("bias")
        if bias is None:
            return node
        per_channel = np.zeros((bias.shape[0], *(1,) * d))  # broadcasts over the positions
        return self.apply("add", [node, self.apply("reshape", [bias, per_channel])])

    def pool(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any], reduce: str
             ) -> Node:
        """`F.max_pool2d` and `F.avg_pool2d` (and their modules): the op table's, with
        kernel_size, stride and padding; the options that change what they compute (dilation,
        ceil_mode, return_indices, count_include_pad=False, divisor_override) refused."""
        names = (("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode",
                  "return_indices") if reduce == "max" else
                 ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
                  "divisor_override"))
        bound = _bind(args, kwargs, names)
        neutral = {"dilation": 1, "ceil_mode": False, "return_indices": False,
                   "count_include_pad": True, "divisor_override": None}
        for option, value in neutral.items():
            if option in bound and _window(bound[option]) != value:
                raise self.refusal(full, f"is called with {option}={bound[option]!r}, which "
                                   f"chainrule's {reduce}_pool2d does not take")
        kernel = _window(bound["kernel_size"])
        stride = _window(bound.get("stride")) if bound.get("stride") not in (None, [], ()) \
            else None
        params = {"kernel_size": kernel, "stride": None if stride == kernel else stride,
                  "padding": _window(bound.get("padding", 0))}
        return self.builder.apply(f"{reduce}_pool2d", [self.operand(bound["input"])],
                                  self.span, params=params)

    # ------------------------------------------------------------ activations, losses, dropout

    def read_options(self, full: str, bound: dict[str, Any], read: dict[str, Any]) -> None:
        """Refuse a call's options that chainrule does not read: any keyword outside `read`
        (the call's own names, with the values that leave it as chainrule computes it, or
        None where any value is read)."""
        given = [k for k, v in bound.items()
                 if k not in read or read[k] is not None and v != read[k] and k != "input"]
        if given:
            raise self.refusal(full, f"is called with {', '.join(f'{k}={bound[k]!r}' for k in given)}"
                               ", which chainrule does not read")

    def clamp(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`torch.clamp(x, min, max)` (clip, clamp_min, clamp_max, and `F.hardtanh(x, min_val,
        max_val)` of nn.Hardtanh and nn.ReLU6, and `F.relu6`): the op table's clip. At a bound exactly, clip
        passes the gradient, as torch's clamp does (hardtanh's passes none there)."""
        short = full.rsplit(".", 1)[-1]
        names = {"clamp_min": ("input", "min"), "clamp_max": ("input", "max"),
                 "hardtanh": ("input", "min_val", "max_val", "inplace"),
                 "relu6": ("input", "inplace")}.get(short, ("input", "min", "max"))
        bound = _bind(args, kwargs, names)
        self.read_options(full, bound, {n: None for n in names} | {"inplace": False})
        lo, hi = ((bound.get("min_val", -1.0), bound.get("max_val", 1.0)) if short == "hardtanh"
                  else (0.0, 6.0) if short == "relu6" else (bound.get("min"), bound.get("max")))
        if isinstance(lo, torch.Tensor) or isinstance(hi, torch.Tensor):
            raise self.refusal(full, "clamps to a tensor, and chainrule's clip takes numbers "
                               "(torch.maximum and torch.minimum take tensors)")
        return self.builder.apply("clip", [self.operand(bound["input"])], self.span,
                                  params={"min": lo, "max": hi})

    def leaky_relu(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.leaky_relu(x, negative_slope)` (nn.LeakyReLU): the op table's leaky_relu."""
        return self.with_params(full, "leaky_relu", args, kwargs, "negative_slope", 0.01)

    def elu(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.elu(x, alpha)` (nn.ELU): the op table's elu."""
        return self.with_params(full, "elu", args, kwargs, "alpha", 1.0)

    def with_params(self, full: str, op: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                    param: str, default: float) -> Node:
        bound = _bind(args, kwargs, ("input", param, "inplace"))
        self.read_options(full, bound, {"input": None, param: None, "inplace": False})
        return self.builder.apply(op, [self.operand(bound["input"])], self.span,
                                  params={param: bound.get(param, default)})

    def softplus(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.softplus(x, beta, threshold)` (nn.Softplus): the op table's softplus, log(1 +
        exp(x)) computed stably; with beta, softplus(beta * x) / beta, a `function` group.
        Past torch's threshold (20) torch returns x itself: the two differ by under 3e-9."""
        bound = _bind(args, kwargs, ("input", "beta", "threshold"))
        self.read_options(full, bound, {"input": None, "beta": None, "threshold": 20})
        beta = float(bound.get("beta", 1.0))
        if beta == 1.0:
            return self.apply("softplus", [bound["input"]])
        with self.builder.group("function", "softplus", self.span):
            inner = self.apply("softplus", [self.apply("mul", [bound["input"], beta])])
            return self.apply("div", [inner, beta])

    def composite(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.gelu(x, approximate)`, `F.silu(x)`, `F.mish(x)` (nn.GELU, nn.SiLU, nn.Mish): a
        `function` group of their parts (core/composites.py), inside their module's box."""
        short = full.rsplit(".", 1)[-1]
        bound = _bind(args, kwargs, ("input", "approximate") if short == "gelu" else
                      ("input", "inplace"))
        self.read_options(full, bound, {"input": None, "approximate": None, "inplace": False})
        approximate = bound.get("approximate", "none")
        if approximate not in ("none", "tanh"):
            raise self.refusal(full, f"is called with approximate={approximate!r}")
        parts = "gelu_tanh" if approximate == "tanh" else short
        return build(self.builder, parts, [self.operand(bound["input"])], self.span, group=short)

    def select(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`torch.where(cond, a, b)` and `a.where(cond, b)`: the op table's where, the
        condition data (a comparison of tensors is data too: DATA)."""
        names = (("input", "condition", "other") if full.startswith("torch.Tensor.") else
                 ("condition", "input", "other"))
        bound = _bind(args, kwargs, names)
        self.read_options(full, bound, {n: None for n in names})
        if "input" not in bound or "other" not in bound:
            raise self.refusal(full, "is called with the condition alone (the indices where "
                               "it holds), and chainrule reads where(cond, a, b)")
        return self.apply("where", [bound["condition"], bound["input"], bound["other"]])

    def dropout(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.dropout(x, p, training)` (nn.Dropout): in eval mode, or with p = 0, x itself; in
        training, x times the mask torch drew, as data (1/(1 - p) where kept, 0 where dropped),
        a `function` group: the mask is drawn again from torch's random state as it was before
        the call, so it is torch's own even where x is 0."""
        bound = _bind(args, kwargs, ("input", "p", "training", "inplace"))
        self.read_options(full, bound, {"input": None, "p": None, "training": None,
                                        "inplace": None})
        x, p = bound["input"], float(bound.get("p", 0.5))
        if not bound.get("training", True) or p == 0.0:
            return self.operand(x)
        if p == 1.0:
            mask = np.zeros(tuple(x.shape))
        else:
            mask = self.drawn_mask(full, x, p) / (1.0 - p)
        with self.builder.group("function", "dropout", self.span):
            return self.apply("mul", [x, mask])

    def drawn_mask(self, full: str, x: torch.Tensor, p: float) -> np.ndarray:
        """Where dropout kept x's elements (1.0) in the call just made: the same call on ones,
        from torch's random state before it (the state after it put back)."""
        if self.rng_state is None or x.device.type != "cpu":
            raise self.refusal(full, "draws on a device whose random state chainrule does not "
                               "read (the CPU's only)")
        after = torch.get_rng_state()
        torch.set_rng_state(self.rng_state)
        try:
            kept = torch.nn.functional.dropout(torch.ones_like(x), p, True) != 0
        finally:
            torch.set_rng_state(after)
        return np.asarray(kept.cpu().numpy(), dtype=np.float64)

    def bce(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.binary_cross_entropy(p, y)` (nn.BCELoss), on probabilities, as its parts:
        -(y * log(p) + (1 - y) * log(1 - p)), then the reduction; a `loss` group. (torch
        bounds each log below by -100; chainrule does not: at p of exactly 0 or 1 they differ.)"""
        bound = _bind(args, kwargs, ("input", "target", "weight", "size_average", "reduce",
                                     "reduction"))
        reduction = self.reduction(full, bound)
        p, y = bound["input"], bound["target"]
        with self.builder.group("loss", "binary_cross_entropy", self.span):
            hit = self.apply("mul", [y, self.apply("log", [p])])
            miss = self.apply("mul", [self.complement(y), self.apply("log", [
                self.apply("sub", [1.0, p])])])
            return self.reduced(self.apply("neg", [self.apply("add", [hit, miss])]), reduction)

    def complement(self, y: Any) -> Any:
        """1 - y: a constant if y is data, else its node."""
        if isinstance(y, torch.Tensor) and not self.depends(y):
            return 1.0 - _array(y)
        return self.apply("sub", [1.0, y])

    def bce_with_logits(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]
                        ) -> Node:
        """`F.binary_cross_entropy_with_logits(z, y)` (nn.BCEWithLogitsLoss) as its parts,
        in the stable form softplus(z) - z * y (softplus computed as log1p(exp(-|z|)) +
        max(z, 0)), whose gradient is sigmoid(z) - y; a `loss` group."""
        bound = _bind(args, kwargs, ("input", "target", "weight", "size_average", "reduce",
                                     "reduction", "pos_weight"))
        if bound.pop("pos_weight", None) is not None:
            raise self.refusal(full, "is called with pos_weight=, which chainrule does not read")
        reduction = self.reduction(full, bound)
        z, y = bound["input"], bound["target"]
        with self.builder.group("loss", "binary_cross_entropy_with_logits", self.span):
            node = self.apply("sub", [self.apply("softplus", [z]), self.apply("mul", [z, y])])
            return self.reduced(node, reduction)

    def l1_loss(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
        """`F.l1_loss(x, y)` (nn.L1Loss) as its parts: mean(abs(x - y)); a `loss` group."""
        bound = _bind(args, kwargs, ("input", "target", "size_average", "reduce", "reduction"))
        reduction = self.reduction(full, bound)
        with self.builder.group("loss", "l1_loss", self.span):
            node = self.apply("abs", [self.apply("sub", [bound["input"], bound["target"]])])
            return self.reduced(node, reduction)

    def smooth_l1_loss(self, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]
                       ) -> Node:
        """`F.smooth_l1_loss(x, y, beta)` and `F.huber_loss(x, y, delta)` (nn.SmoothL1Loss,
        nn.HuberLoss) as their parts: d = abs(x - y), then where(d < beta, 0.5 * d**2 / beta,
        d - 0.5 * beta) (Huber: delta times smooth L1 with beta = delta), the condition
        data read from the values; a `loss` group."""
        huber = full.endswith("huber_loss")
        knob = "delta" if huber else "beta"
        bound = _bind(args, kwargs, ("input", "target", "reduction", knob, "weight") if huber
                      else ("input", "target", "size_average", "reduce", "reduction", knob))
        width = float(bound.pop(knob, 1.0))
        reduction = self.reduction(full, bound)
        x, y = bound["input"], bound["target"]
        with self.builder.group("loss", "huber_loss" if huber else "smooth_l1_loss", self.span):
            d = self.apply("abs", [self.apply("sub", [x, y])])
            if width <= 0:  # torch's smooth L1 with beta 0 is L1 (Huber refuses delta <= 0)
                return self.reduced(d, reduction)
            inside = np.asarray((x - y).abs().detach().cpu().numpy() < width, dtype=np.float64)
            scale = 0.5 if huber else 0.5 / width
            square = self.apply("mul", [self.apply("pow", [d, 2.0]), scale])
            line = self.apply("sub", [d, 0.5 * width])
            if huber:
                line = self.apply("mul", [line, width])
            return self.reduced(self.apply("where", [inside, square, line]), reduction)

    def reduced(self, node: Node, reduction: str) -> Node:
        """A loss per element, reduced as torch's `reduction` says ("mean", "sum", "none")."""
        return node if reduction == "none" else self.apply(reduction, [node])


_PARTS: dict[str, Callable[[_Reader, str, tuple[Any, ...], dict[str, Any]], Node]] = {
    "linear": _Reader.linear, "mse_loss": _Reader.mse_loss, "softmax": _Reader.softmax,
    "log_softmax": _Reader.log_softmax, "cross_entropy": _Reader.cross_entropy,
    "nll_loss": _Reader.nll_loss,
    "conv1d": partial(_Reader.conv, d=1), "conv2d": partial(_Reader.conv, d=2),
    "max_pool2d": partial(_Reader.pool, reduce="max"),
    "avg_pool2d": partial(_Reader.pool, reduce="avg")}

# ---- normalization and recurrent cells: torch's function, its parts, the module that calls it
_PARTS.update({"batch_norm": _Reader.batch_norm, "layer_norm": _Reader.layer_norm,
               "rnn_tanh_cell": _Reader.rnn_cell, "rnn_relu_cell": _Reader.rnn_cell})
_MODULE_OF: dict[str, type | tuple[type, ...]] = {
    "batch_norm": torch.nn.modules.batchnorm._BatchNorm, "layer_norm": torch.nn.LayerNorm,
    "rnn_tanh_cell": torch.nn.RNNCell, "rnn_relu_cell": torch.nn.RNNCell}
# The names of the parts, after makemore part 4: mean, difference, its square, variance,
# inverse square root of var + eps, normalized values.
_BN_NAMES = ("bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw")
_LN_NAMES = ("lnmean", "lndiff", "lndiff2", "lnvar", "lnvar_inv", "lnraw")


# ---- indexing: a key's tensors are data (indices), read as numpy arrays (core/indexing.py)
def _index_key(reader: _Reader, full: str, key: Any) -> Any:
    """A torch key with its tensors as numpy arrays; a tensor computed from an input cannot
    index (it would be differentiated)."""
    parts = key if isinstance(key, tuple) else (key,)
    plain = []
    for part in parts:
        if isinstance(part, torch.Tensor):
            if reader.depends(part):
                raise reader.refusal(full, "indexes with a tensor computed from the inputs; "
                                     "an index is data")
            part = part.detach().cpu().numpy()
        plain.append(part)
    return tuple(plain) if isinstance(key, tuple) else plain[0]


def _subscript(reader: _Reader, full: str, tensor: Any, key: Any, written: Any = None) -> Node:
    """tensor[key], its index arrays named as `written` (the key as the code wrote it) names
    them."""
    try:
        components, arrays = split_key(_index_key(reader, full, key))
    except ValueError as err:
        raise reader.refusal(full, f"uses an index chainrule does not read ({err})",
                             "value") from None
    x = reader.operand(tensor)
    texts = _index_texts(key if written is None else written, len(arrays)) or [
        array_text(a) for a in arrays]
    return reader.builder.subscript(x, components, arrays, texts, reader.span)


def _index_texts(key: Any, count: int) -> list[str] | None:
    """How the user's code names a key's index arrays: the variable holding each tensor (Xb
    in C[Xb]), `range(n)` as written; None where some has no name (a mask, an expression)."""
    parts = key if isinstance(key, tuple) else (key,)
    frame = _user_frame()
    names = {id(v): k for k, v in [*frame.f_globals.items(), *frame.f_locals.items()]
             if isinstance(v, torch.Tensor)}
    texts = []
    for part in parts:
        if isinstance(part, range):
            texts.append(f"range({part.stop})" if part.start == 0 and part.step == 1 else
                         f"range({part.start}, {part.stop}, {part.step})")
        elif isinstance(part, torch.Tensor) and part.dtype != torch.bool and id(part) in names:
            texts.append(names[id(part)])
        elif isinstance(part, (torch.Tensor, np.ndarray, list)):
            return None
    return texts if len(texts) == count else None


def _getitem(reader: _Reader, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
    """`x[0]`, `x[:, :H]`, `logprobs[range(n), Yb]`, `C[Xb]`: an index or a gather."""
    tensor, key = args[0], args[1]
    written = key
    if isinstance(key, range) or isinstance(key, tuple) and any(
            isinstance(p, range) for p in key):
        key = tuple(np.arange(p.start, p.stop, p.step) if isinstance(p, range) else p
                    for p in (key if isinstance(key, tuple) else (key,)))
    return _subscript(reader, full, tensor, key, written)


def _embedding(reader: _Reader, full: str, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Node:
    """`F.embedding(input, weight)` (nn.Embedding): the weight's rows the indices name,
    C[X]; its backward a scatter-add into the rows read."""
    bound = _bind(args, kwargs, ("input", "weight", "padding_idx", "max_norm"))
    if bound.get("max_norm") is not None:
        raise reader.refusal(full, "renormalizes rows in place (max_norm)")
    if bound.get("padding_idx") is not None:
        raise reader.refusal(full, "leaves the padding row without gradient (padding_idx)")
    return _subscript(reader, full, bound["weight"], bound["input"])


def _index_select(reader: _Reader, full: str, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Node:
    """`torch.index_select(x, dim, index)`: x[:, ..., index] at axis dim."""
    bound = _bind(args, kwargs, ("input", "dim", "index"))
    dim = int(bound["dim"]) % max(1, bound["input"].dim())
    return _subscript(reader, full, bound["input"], (slice(None),) * dim + (bound["index"],))


def _permute(reader: _Reader, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
    """`x.permute(0, 2, 1)`, and `x.transpose(1, 2)` / `swapaxes` / `swapdims` of two axes of
    a tensor with more than two: the table's permute, its axes in their new order."""
    tensor, dims = args[0], args[1:]
    if full.endswith(".permute"):
        dims = tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims
        dims = tuple(kwargs.get("dims", dims))
        order = [int(d) % tensor.ndim for d in dims]
    else:
        bound = _bind(dims, kwargs, ("dim0", "dim1"))
        a, b = (int(bound[k]) % tensor.ndim for k in ("dim0", "dim1"))
        order = list(range(tensor.ndim))
        order[a], order[b] = order[b], order[a]
    if order == list(range(tensor.ndim)):
        return reader.operand(tensor)
    return reader.builder.apply("permute", [reader.operand(tensor)], reader.span,
                                params={"axes": tuple(order)})


_PARTS.update({"__getitem__": _getitem, "embedding": _embedding,
               "index_select": _index_select, "permute": _permute, "swapaxes": _permute,
               "swapdims": _permute})

# ---- activations, losses, dropout and data (issue 27)
_PARTS.update({"binary_cross_entropy": _Reader.bce,
               "binary_cross_entropy_with_logits": _Reader.bce_with_logits,
               "l1_loss": _Reader.l1_loss, "smooth_l1_loss": _Reader.smooth_l1_loss,
               "huber_loss": _Reader.smooth_l1_loss})
# Activations read with their options (before the op table's names: clamp's bounds).
_ACTIVATIONS: dict[str, Callable[[_Reader, str, tuple[Any, ...], dict[str, Any]], Node]] = {
    "clamp": _Reader.clamp, "clip": _Reader.clamp, "clamp_min": _Reader.clamp,
    "clamp_max": _Reader.clamp, "hardtanh": _Reader.clamp, "relu6": _Reader.clamp,
    "leaky_relu": _Reader.leaky_relu,
    "elu": _Reader.elu, "softplus": _Reader.softplus, "gelu": _Reader.composite,
    "silu": _Reader.composite, "mish": _Reader.composite, "where": _Reader.select,
    "dropout": _Reader.dropout}
# Calls whose result is data whatever their operands: a constant where it is used (no node).
DATA = frozenset({"zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
                  "randn_like", "randint_like", "argmax", "argmin", "gt", "lt", "ge", "le",
                  "eq", "ne", "greater", "less", "greater_equal", "less_equal", "not_equal",
                  "__gt__", "__lt__", "__ge__", "__le__", "__eq__", "__ne__", "logical_not",
                  "logical_and", "logical_or", "isnan", "isfinite"})
# torch's functions that draw random numbers, whose random state is kept before the call.
RANDOM_DRAWS = frozenset({"dropout"})


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


def _window(value: Any) -> Any:
    """A stride, padding or kernel size as the op table's params take it: an int, or a tuple
    of ints where they differ (torch's modules hold (2, 2) for 2)."""
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) for v in value):
        return value[0] if len(set(value)) == 1 else tuple(value)
    return value


def _swaps_both_axes(tensor: Any, dims: tuple[Any, ...]) -> bool:
    """Whether `transpose(d0, d1)` of a matrix swaps its two axes (what chainrule's does)."""
    return isinstance(tensor, torch.Tensor) and tensor.ndim == 2 and len(dims) == 2 and all(
        isinstance(d, int) for d in dims) and sorted(d % 2 for d in dims) == [0, 1]


def _array(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's numbers as a float64 array of chainrule's own (a copy)."""
    return np.array(tensor.detach().double().cpu().numpy(), dtype=np.float64)


# ---- joining and splitting tensors, and nn.RNN's loop over time (core/joins.py)
_TORCH_JOINS = {"cat": "concatenate", "concat": "concatenate", "concatenate": "concatenate",
                "stack": "stack", "hstack": "hstack", "vstack": "vstack", "row_stack": "vstack",
                "column_stack": "column_stack"}


def _join(reader: _Reader, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
    """`torch.cat(tensors, dim)` (concat, concatenate with axis=), `torch.stack`, `hstack`,
    `vstack` (row_stack) and `column_stack`: core/joins.py's joins, as numpy's; a tensor not
    computed from an input is a constant."""
    how = _TORCH_JOINS[_short_name_of(full)]
    bound = _bind(args, kwargs, ("tensors", "dim"))
    if "axis" in bound:
        bound["dim"] = bound.pop("axis")
    options = [k for k, v in bound.items() if k not in ("tensors", "dim") and v is not None]
    if options:
        raise reader.refusal(full, f"is called with {', '.join(f'{k}=' for k in options)}, "
                             "which chainrule does not read")
    nodes = [reader.operand(t) for t in bound["tensors"]]
    return join(reader.builder, how, nodes, bound.get("dim", 0), reader.span)


def _short_name_of(full: str) -> str:
    return full.rsplit(".", 1)[-1]


def _pieces(reader: _Reader, full: str, args: tuple[Any, ...], kwargs: dict[str, Any],
            result: Any) -> None:
    """`torch.split`, `chunk` and `unbind` (and their Tensor methods; iterating a tensor is
    its unbind(0)): each piece an index of the tensor, `x[:, 0:4]` (`x[2]` for unbind), its
    extent read from the piece torch made."""
    unbind = _short_name_of(full) == "unbind"
    position = 1 if unbind else 2
    tensor = args[0] if args else next(v for k, v in kwargs.items() if k != "dim")
    x = reader.operand(tensor)
    dim = int(kwargs.get("dim", args[position] if len(args) > position else 0))
    dim %= max(1, len(x.shape))
    start = 0
    for piece in result:
        size = 1 if unbind else int(piece.shape[dim])
        at: Component = start if unbind else slice(start, start + size)
        reader.bind(piece, _sliced(reader, x, (slice(None),) * dim + (at,)))
        start += size


def _rnn(reader: _Reader, full: str, args: tuple[Any, ...], kwargs: dict[str, Any],
         result: Any) -> None:
    """nn.RNN's loop over time (`torch.rnn_tanh`, `torch.rnn_relu`) as its cells, step by
    step: at step t of layer l, h = tanh(x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh) (or relu),
    a `function` group `step t` (in a `layer l` group when there are several layers), each
    weight transposed once per layer; x_t is the input's step t (data where the input is),
    a layer's outputs the next layer's inputs. The output stacks the last layer's h along
    the time axis (1 with batch_first), h_n every layer's last h."""
    bound = _bind(args, kwargs, ("input", "hx", "params", "has_biases", "num_layers",
                                 "dropout", "train", "bidirectional", "batch_first"))
    if not isinstance(bound.get("params"), (list, tuple)):
        raise reader.refusal(full, "runs over a PackedSequence, which chainrule does not read: "
                             "pass a padded tensor")
    layers, per = int(bound["num_layers"]), 4 if bound["has_biases"] else 2
    if bound["bidirectional"]:
        raise reader.refusal(full, "is a bidirectional RNN, which chainrule does not read yet")
    if bound["dropout"] and bound["train"] and layers > 1:
        raise reader.refusal(full, "drops out between layers in training, which chainrule "
                             "does not read: set dropout=0 or call model.eval()")
    if len(bound["params"]) != per * layers:
        raise reader.refusal(full, "has weights other than W_ih, W_hh, b_ih, b_hh per layer")
    x, batch_first = bound["input"], bool(bound["batch_first"])
    steps = x.shape[1] if batch_first else x.shape[0]
    inputs = [_sliced(reader, x, (slice(None), t) if batch_first else (t,), f"x{t + 1}")
              for t in range(steps)]
    activation = "relu" if full.endswith("relu") else "tanh"
    last = []
    for layer in range(layers):
        weights = list(bound["params"][per * layer:per * (layer + 1)]) + [None, None]
        grouped = reader.builder.group("layer", f"layer {layer}", reader.span) if layers > 1 \
            else contextlib.nullcontext()
        with grouped:
            h0 = _sliced(reader, bound["hx"], (layer,), "h0")
            inputs = _rnn_layer(reader, activation, inputs, h0, weights[:4])
        last.append(inputs[-1])
    reader.bind(result[0], join(reader.builder, "stack", inputs, 1 if batch_first else 0,
                                reader.span))
    reader.bind(result[1], join(reader.builder, "stack", last, 0, reader.span))


def _rnn_layer(reader: _Reader, activation: str, inputs: list[Node], h: Node,
               weights: list[Any]) -> list[Node]:
    """One layer of an RNN over the steps `inputs` from the hidden state `h`: its h at every
    step, each step a `function` group of its cell's parts."""
    w_ih, w_hh, b_ih, b_hh = weights
    w_ih_t, w_hh_t = reader.apply("transpose", [w_ih]), reader.apply("transpose", [w_hh])
    outputs = []
    for t, x_t in enumerate(inputs):
        with reader.builder.group("function", f"step {t + 1}", reader.span):
            parts = []
            for operand, w_t, b in ((x_t, w_ih_t, b_ih), (h, w_hh_t, b_hh)):
                node = reader.apply("matmul", [operand, w_t])
                parts.append(node if b is None else reader.apply("add", [node, b]))
            h = reader.builder.apply(activation, [reader.apply("add", parts)], reader.span,
                                     f"h{t + 1}")
        outputs.append(h)
    return outputs


def _sliced(reader: _Reader, tensor: Any, key: tuple[Component, ...],
            name: str | None = None) -> Node:
    """`tensor[key]` for a basic key: a constant of those numbers, named `name`, for a tensor
    not computed from an input (data: an RNN's input, its zero h0), else an index node."""
    if isinstance(tensor, torch.Tensor) and not reader.depends(tensor):
        return reader.builder.leaf("const", reader.array(tensor)[key],  # type: ignore[index]
                                   reader.span, name)
    return reader.builder.apply("index", [reader.operand(tensor)], reader.span, name,
                                {"key": key_text(key)})


_PARTS.update(dict.fromkeys(_TORCH_JOINS, _join))
# Calls whose result is several tensors, each bound by the reader of the call.
_MANY: dict[str, Callable[[_Reader, str, tuple[Any, ...], dict[str, Any], Any], None]] = {
    "split": _pieces, "chunk": _pieces, "unbind": _pieces, "rnn_tanh": _rnn, "rnn_relu": _rnn}


# ---- second order (issue 30): torch.autograd.grad read as the backward graph, and norm
def _autograd_grad(reader: _Reader, args: tuple[Any, ...], kwargs: dict[str, Any]
                   ) -> tuple[torch.Tensor, ...]:
    """`torch.autograd.grad(outputs, inputs, grad_outputs, create_graph=True)` inside a loss
    (a gradient penalty): the backward pass of `outputs` built as nodes of the graph by the
    machinery of the language's `grad` (readers/backward.py), in a `backward` group named by
    the call; each result a tensor of its node's values (the graph so far evaluated), so the
    loss goes on from it as torch's would. Without create_graph torch's answer is a constant
    of the loss, which is refused rather than read wrong."""
    full = "torch.autograd.grad"
    bound = _bind(args, kwargs, ("outputs", "inputs", "grad_outputs", "retain_graph",
                                 "create_graph", "only_inputs", "allow_unused"))
    if not bound.get("create_graph"):
        raise reader.refusal(full, "is read only with create_graph=True (the gradient as part "
                             "of the loss, differentiated again); without it torch treats the "
                             "gradient as a constant", "grad")
    outputs, inputs = _listed(bound["outputs"]), _listed(bound["inputs"])
    seeds = _listed(bound.get("grad_outputs")) or [None] * len(outputs)
    running = reader.names.running()
    reader.span = reader.listing.span(running[0][0] if running else _user_frame())
    made = len(reader.builder.nodes)
    wrt = [_differentiated(reader, full, x) for x in inputs]
    totals: list[Node] = []
    with reader.builder.group("backward", full, reader.span):
        for out, seed in zip(outputs, seeds):
            node = reader.tracked(out)
            if node is None:
                raise reader.refusal(full, "differentiates a tensor not computed from the "
                                     "parameters", "grad")
            seed_node = None if seed is None else reader.operand(seed)
            if seed_node is None and node.shape:
                raise reader.refusal(full, f"differentiates a tensor of shape "
                                     f"{list(node.shape)} without grad_outputs", "grad")
            grads = gradients(reader.builder, node, wrt, seed_node, reader.span, full)
            totals = grads if not totals else [
                reader.builder.apply("add", [t, g], reader.span) for t, g in zip(totals, grads)]
    for node in totals:
        node.stands_for = node.stands_for or ("gradient", wrt[0].id)
    values = _evaluated(reader.builder, totals)
    results = tuple(torch.tensor(v, dtype=x.dtype) for v, x in zip(values, inputs))
    for result, node in zip(results, totals):
        reader.bind(result, node)
    reader.names.made(running, totals[0] if totals else None, made)
    return results


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, torch.Tensor) else list(value)


def _differentiated(reader: _Reader, full: str, tensor: torch.Tensor) -> Node:
    """The node of a tensor differentiated: a parameter, a computed tensor, or data the loss
    read (a constant to the rest of the graph: its gradient is built all the same)."""
    node = reader.tracked(tensor)
    if node is None:
        node = reader.nodes.get(id(tensor))
    if node is None:
        raise reader.refusal(full, "differentiates with respect to a tensor the loss has not "
                             "used", "grad")
    return node


def _evaluated(builder: GraphBuilder, nodes: list[Node]) -> list[np.ndarray]:
    """The values of `nodes`, the graph built so far evaluated by chainrule's forward sweep."""
    if not nodes:
        return []
    graph = Graph(builder.source, list(builder.nodes), nodes[-1].id, dict(builder.inputs), [],
                  builder.deadline, list(builder.groups), builder.ops)
    values = forward(graph)
    return [np.asarray(values[node.id]) for node in nodes]


def _norm(reader: _Reader, full: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Node:
    """`x.norm(2, dim)`, `torch.norm`, `torch.linalg.vector_norm` (the 2-norm) as its parts:
    sqrt(sum(x ** 2, axis=dim)), a `function` group."""
    names = ("input", "ord", "dim", "keepdim") if full.endswith("vector_norm") else \
        ("input", "p", "dim", "keepdim")
    bound = _bind(args, kwargs, names)
    p = bound.get("p", bound.get("ord", 2))
    if p not in (2, 2.0, None, "fro") or bound.get("dtype") is not None:
        raise reader.refusal(full, f"is read for the 2-norm only, not p={p!r}")
    dim = bound.get("dim")
    params: dict[str, Any] = {"keepdims": bool(bound.get("keepdim", False))}
    if dim is not None:
        params["axis"] = tuple(dim) if isinstance(dim, (tuple, list)) else dim
    with reader.builder.group("function", "norm", reader.span):
        squares = reader.part("pow", [bound["input"], 2.0])
        return reader.part("sqrt", [reader.part("sum", [squares], **params)])


_PARTS.update({"norm": _norm, "vector_norm": _norm})
