"""`chainrule.grade`: the learner's gradients of a forward pass's named tensors, graded
against chainrule's and against the chain rule applied to the learner's own upstream
(analyses/grade.py), as a report (answer/report.py) and as the API's JSON."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Mapping
from types import CodeType
from typing import Any

import numpy as np

from .analyses.grade import grade_graph
from .answer.models import Answer
from .answer.report import Report
from .core.numbers import all_finite
from .core.sweeps import backward, forward
from .differentiate import cotangent_seed, differentiate, without_gc
from .errors import ChainruleError, Deadline
from .readers import Read, named_nodes
from .readers.numpy_trace import read_numpy
from .readers.parsing import parse
from .readers.program import read_program
from .settings import LIMITS, Limits

# Floats narrower than float64, by their dtype's name (numpy's and torch's).
NARROW_FLOATS = frozenset({"float32", "float16", "bfloat16", "torch.float32", "torch.float16",
                           "torch.bfloat16"})


@without_gc
def grade(forward_pass: str | Callable[..., Any], grads: Mapping[str, object],
          values: Mapping[str, object] | None = None, *, model: Any = None,
          check: bool | str = False, limits: Limits = LIMITS,
          **named_values: object) -> Report:
    """Grade the learner's gradients `grads` (name -> array: numpy, torch or nested lists) of
    the forward pass's tensors, each against chainrule's gradient and against the chain rule
    applied to the learner's own gradients downstream of it.

    The forward pass is told apart by what it is:
    - a `str`: a program of the language, with `values` (or keywords) as `backprop` takes
      them; names are its inputs' and its lines' (a line's last assignment);
    - a callable with `values` (or keywords): a numpy function, traced as `trace(f, values)`
      does; names are its arguments and its local variables;
    - a callable without values: a torch loss function, read as `from_torch(loss_fn, model)`
      does; names are its local variables and, without a `model`, the leaf tensors' own
      variable names (of its closure or its globals: `C`, `W1`), with a model its
      parameters' paths (`0.weight`).
    A tensor left out (or given in a wrong shape) is `missing` (`shape`), and the tensors
    before it are graded through it with chainrule's own rules: `logits` given alone is graded
    as the whole cross entropy's rule. A name the forward pass does not have raises
    `ChainruleError` naming the closest ones.
    Returns a `Report`: rows in backward order (`exact`, `approx`, `wrong`, `shape`,
    `missing`, each with `given_your_upstream`), `first_wrong`, and the answer of the forward
    pass (`show(report)` plays it). `check` is the answer's gradient check (off).
    """
    read = _read(forward_pass, {**(values or {}), **named_values}, model, limits)
    aliases = renames(forward_pass, limits) if isinstance(forward_pass, str) else {}
    return graded(read, grads, check=check, limits=limits, aliases=aliases)


def grade_data(source: str, values: Mapping[str, object], grads: Mapping[str, object], *,
               check: bool | str = False, limits: Limits = LIMITS,
               deadline: Deadline | None = None) -> dict[str, object]:
    """`POST /api/v1/grade`: a program's gradients graded, as JSON-ready data (the report's
    rows, first_wrong, tolerance, and the answer)."""
    read = read_program(source, values, limits, deadline or Deadline(limits.max_seconds))
    return graded(read, grads, check=check, limits=limits,
                  aliases=renames(source, limits)).to_dict()


def renames(source: str, limits: Limits = LIMITS) -> dict[str, str]:
    """A program's lines that only rename (`a0 = x`): the new name -> the name renamed, whose
    node it stands for (a renamed input keeps its own name)."""
    return {s.target: s.expr.name for s in parse(source, limits).statements  # type: ignore[attr-defined]
            if s.target is not None and s.expr.kind == "name"}


def graded(read: Read, grads: Mapping[str, object], *, check: bool | str = False,
           limits: Limits = LIMITS, aliases: Mapping[str, str] | None = None,
           annotate: Callable[[list[dict[str, Any]]], None] | None = None) -> Report:
    """Grade `grads` against what a reader read; `aliases` are more names for named nodes
    (a program's renames), each standing for the node of the name it renames. `annotate`
    adds to the rows before the report and its answer are made (`chainrule.ninja`)."""
    if not isinstance(grads, Mapping):
        raise ChainruleError("grads must be a mapping from a tensor's name to its gradient, "
                             f"not {type(grads).__name__}", None, "request")
    answer = differentiate(read, check=check, limits=limits)
    graph = read.graph
    names = {**read.outputs, **named_nodes(graph), **graph.inputs}
    for alias, name in (aliases or {}).items():  # in order: a rename of a rename too
        if alias not in names and name in names:
            names[alias] = names[name]
    given, narrow = {}, any(w.get("kind") == "precision" for w in read.warnings)
    total = 0
    for name, value in grads.items():
        node = _node_of(name, names)
        array, narrower = _array(name, value, limits)
        given[node], narrow = array, narrow or narrower
        total += array.size
        if total > limits.max_total_elements:
            raise ChainruleError(f"the gradients given hold more than "
                                 f"{limits.max_total_elements:,} numbers in all", None, "limit")
    named = {i: name for name, i in {**named_nodes(graph), **graph.inputs}.items()}
    named.update({names[name]: name for name in grads})
    values = forward(graph)
    seed = cotangent_seed(graph.node(graph.output), None)
    sweep = backward(graph, values, record=False, seed=seed)
    grading = grade_graph(graph, values, sweep.grads, seed, given, named, narrow)
    if annotate is not None:
        annotate(grading["rows"])
    answer["grade"] = grading
    return Report(grading["rows"], grading["first_wrong"], grading["tolerance"],
                  Answer.built(answer))


def _read(forward_pass: str | Callable[..., Any], values: Mapping[str, object], model: Any,
          limits: Limits) -> Read:
    """The forward pass read: a program, a numpy function traced, or a torch loss function."""
    if isinstance(forward_pass, str):
        return read_program(forward_pass, values, limits)
    if not callable(forward_pass):
        raise ChainruleError("grade's forward pass is a program (a str), a numpy function "
                             "(with values) or a torch loss function, not "
                             f"{type(forward_pass).__name__}", None, "request")
    if values:
        if model is not None:
            raise ChainruleError("grade takes values (a numpy function) or a model (a torch "
                                 "loss function), not both", None, "request")
        return read_numpy(forward_pass, values, limits)
    try:
        from .readers.pytorch import read_torch
    except ImportError as err:
        raise ChainruleError(f"grading a function without values reads it with torch "
                             f"({err}): pip install 'chainrule[torch]', or give the values "
                             "of a numpy function", None, "request") from None
    leaves = None if model is not None else leaf_names(forward_pass)
    return read_torch(forward_pass, model, limits, leaves)


def leaf_names(fn: Callable[..., Any]) -> dict[int, str]:
    """The user's names for the tensors a function reads from outside: its closure's
    variables, then the globals its code (and its nested code) names, by `id(tensor)`."""
    names: dict[int, str] = {}
    code = getattr(fn, "__code__", None)
    if not isinstance(code, CodeType):
        return names
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if _is_leaf_tensor(value):
            names.setdefault(id(value), name)
    globals_ = getattr(fn, "__globals__", {})
    for inner in _codes(code):
        for name in inner.co_names:
            value = globals_.get(name)
            if _is_leaf_tensor(value):
                names.setdefault(id(value), name)
    return names


def _codes(code: CodeType) -> Iterator[CodeType]:
    """A code object and those nested in it (comprehensions, inner functions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _codes(const)


def _is_leaf_tensor(value: object) -> bool:
    return bool(getattr(value, "requires_grad", False) and getattr(value, "is_leaf", False)
                and hasattr(value, "detach"))


def _node_of(name: str, names: Mapping[str, int]) -> int:
    """The node a learner's name stands for; a ChainruleError naming the closest names."""
    if not isinstance(name, str):
        raise ChainruleError(f"grads' keys are the tensors' names (str), not {name!r}", None,
                             "request")
    node = names.get(name)
    if node is not None:
        return node
    close = difflib.get_close_matches(name, list(names), n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    known = list(names)
    listed = ", ".join(known[:30]) + (f" and {len(known) - 30:,} more" if len(known) > 30
                                      else "")
    raise ChainruleError(f"grads names {name!r}, which is not a tensor of the forward pass"
                         f"{hint} (its names: {listed or 'none'})", None, "unknown_name")


def _array(name: str, value: object, limits: Limits) -> tuple[np.ndarray, bool]:
    """A learner's gradient as a float64 array, and whether it was in a narrower float; a
    ChainruleError if it is not a finite rectangular array of numbers within the limits."""
    narrow = str(getattr(value, "dtype", "")) in NARROW_FLOATS
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().double().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise ChainruleError(f"the gradient given for {name} is not a number or a rectangular "
                             "array of numbers (rows of different lengths?)", None,
                             "value") from None
    if array.size > limits.max_array_elements:
        raise ChainruleError(f"the gradient given for {name} has {array.size:,} elements; the "
                             f"limit is {limits.max_array_elements:,}", None, "limit")
    if not all_finite(array):
        raise ChainruleError(f"the gradient given for {name} contains NaN or Infinity", None,
                             "value")
    return array, narrow
