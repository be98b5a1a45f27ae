"""The table of primitive operations: the heart of chainrule.

Each entry declares one primitive once, by keyword, in three parts. Its rule: its forward
function, one vector-Jacobian product (VJP) per input, one Jacobian-vector product (JVP) per input
for forward mode, the rule for its output shape, its kink if it has one. Its notation: formula
templates (plain text and LaTeX) for the node and for its local derivative with respect to each
input, and the texts a reader sees, as data: the node's short symbol (`+`, `×`, `max`, `σ`), a
one-line description, and an operator's syntax and precedence. Its foreign names: what numpy,
torch, sympy and micrograd call it, for the readers of their programs. The parser, the engine,
the forward-mode stepper, the readers, the API's `/ops` and the docs all read this table; nothing
else knows op names (nor cuts their formulas into pieces). Adding an op is adding an entry; the
tests (tests/test_ops.py) pick it up by themselves.

Conventions, after HIPS autograd:
- `forward(*args)` sees every argument with a leading batch axis (row b is one evaluation of the
  whole function), so that the finite-difference check runs its 2N evaluations in one pass.
- `vjps[i](g, ans, *args)` gets the upstream gradient `g` (shaped like the output), the op's own
  output `ans` and the inputs, without the batch axis, and returns the contribution to input i
  before broadcasting is undone (`unbroadcast` does that once, for every op).
- `jvps[i](t, ans, *args)` gets the tangent `t` of input i (shaped like that input) and returns its
  contribution to the output's tangent, shaped like the output. An elementwise op's Jacobian is
  diagonal, so its JVP is derived once from its VJP: jvp_i(t) = vjp_i(broadcast_to(t, out_shape));
  only the other ops (matmul, transpose, the reductions, softmax, reshape) declare their own.
- Templates use `$u`, `$v` (and `$w`, for where's third) for the inputs and `$y` for the output (filled by templates.fill,
  which adds only the parentheses precedence needs).
  For a scalar node, the local derivative shown is the VJP applied to g = 1.

Static parameters (a reduction's `axis`, `keepdims`, `ddof`), after JAX's primitives, which
`bind(*args, **params)` and hand the same params to every rule of the primitive:
- An entry lists the parameters it takes, with their defaults, in `params`; its forward, VJPs,
  JVPs and shape rule take them as keywords (`forward(*args, axis=None, keepdims=False)`), with
  the same defaults in their signatures, so a rule called without any computes what the op did
  before it had parameters.
- A node holds its own, `Node.params`: the (name, value) pairs that differ from the defaults, in
  the entry's order, as a tuple (hashable, and empty for nearly every node: `sum(x)` is the same
  node, with the same answer, as before there were parameters). Values are literals: None, ints,
  tuples of ints, booleans. The builder checks them against the entry (`check_params`).
- The engine passes a node's params to its op's rules wherever it calls them; the plan stacks
  nodes for one numpy call only when their params are equal (a Stack carries them).
- `axis` counts the node's own axes: `forward` sees a leading batch axis and shifts the axes by
  one (`_batch_axes`); a negative axis counts from the end either way.
- The node's formula writes them: an `expr` template places them at `$p` (`sum($u$p)` is
  `sum(x, axis=0)`; in LaTeX they are a subscript of the sum sign), filled by templates.fill in
  Python only (the node formulas travel as text); the derivative templates do not use `$p`. The compact
  answer carries them as data in a sparse column (`nodes.params`: node index -> {name: value}),
  so records and the page can say along which axis without reading a formula.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .indexing import (
    arrays_in,
    batched_key,
    explicit,
    indexed_shape,
    key_text,
    numpy_key,
    parse_key,
)

Shape = tuple[int, ...]
Array = np.ndarray
Sides = tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]  # a kink's numbers
Vjp = Callable[..., Array]
Jvp = Callable[..., Array]


class Formula(NamedTuple):
    """One formula in two notations: plain text and LaTeX (a named tuple: tens of thousands are
    made for a big graph's records, and a tuple is the quickest to make)."""

    plain: str
    latex: str


@dataclass(frozen=True, kw_only=True)
class Kink:
    """Where an op is not differentiable, and the convention its VJPs follow there.

    `where(ans, *args)` marks the elements at the kink. Per input: `rules`, the local
    derivative the VJP takes there, as a formula; `taken`, its value; `left` and `right`, the
    one-sided derivatives it sits between (the input decreasing to, or increasing from, the
    point). `point` says where the kink is, in words.

    An op with params passes them to `where` as keywords. Where the numbers depend on them or
    on the point (leaky_relu's slope; clip's lower and upper bound, whose sides are mirror
    images), `sides(x, **params)` gives (taken, left, right), per input, at one element `x`
    of the first input on the kink; the tuples above are then those of the defaults.
    """

    where: Callable[..., Array]
    rules: tuple[Formula, ...]
    taken: tuple[float, ...]
    left: tuple[float, ...]
    right: tuple[float, ...]
    point: str
    sides: Callable[..., Sides] | None = None

    def numbers(self, x: float, params: Params = ()) -> Sides:
        """(taken, left, right) per input, at a point `x` on the kink of a node with `params`."""
        if self.sides is None:
            return self.taken, self.left, self.right
        return self.sides(x, **dict(params))


@dataclass(frozen=True)
class Defined:
    """Where a program defined an op of its own: a function with the learner's own derivative
    rule (primitives.py makes its entry)."""

    params: tuple[str, ...]  # the function's parameters, one per operand
    span: tuple[int, int]  # its def, through the end of its return expression
    decorator: tuple[int, int]  # its `@derivative(lambda ...: ...)` line


# How tightly an op's formula binds, for writing formulas with only the parentheses they need:
# names, numbers and function calls are atoms; an infix, prefix or postfix op says its own.
ATOM = 9


@dataclass(frozen=True, kw_only=True)
class Op:
    """One primitive operation: what it computes and how it differentiates (the rule), how it is
    written (the notation), and what other libraries call it (the foreign names)."""

    name: str
    arity: int

    # The rule.
    forward: Callable[..., Array]
    vjps: tuple[Vjp, ...]  # one per input
    jvps: tuple[Jvp, ...] = ()  # one per input; derived from the VJPs when the op is elementwise
    shape: Callable[..., Shape]  # the output's shape from the inputs'
    elementwise: bool = True  # output element i depends only on input element i (after broadcast)
    kink: Kink | None = None  # where the derivative is undefined, and the convention there
    # Operations applied per element of its output by one forward and one backward step: 1 for
    # the table's ops; a program's primitive runs its body and its rule (graph.py counts it).
    work: int = 1

    # The notation.
    expr: Formula  # the node itself, e.g. sin($u)
    derivs: tuple[Formula, ...]  # local derivative d y / d input, one per input
    # How its VJP reads in words, per input, where it is not the upstream times a local
    # derivative (a step says `dL/dx += <this> = ...`): `{along}` names a reduction's axes.
    backward: tuple[str, ...] = ()
    symbol: str  # the short label of a node of this op: `+`, `×`, `max`, `σ`
    description: str
    syntax: str = "function"  # function | infix | prefix | postfix
    precedence: int = ATOM  # how tightly its formula binds (ATOM: a function call)
    # The operand that needs parentheses even at equal precedence: "v" in a - (b - c),
    # a / (b * c); "u" in (a ** b) ** c.
    tight: str | None = None

    # The foreign names: none has a default, so an entry says where it has none.
    # The numpy functions that compute this op, for tracing a user's Python function.
    numpy: tuple[str, ...]
    # The torch functions, Tensor methods and operators (reflected dunders swap the operands)
    # that compute it, for reading a PyTorch model (readers/pytorch.py): `torch.tanh`, `x.tanh()`.
    torch: tuple[str, ...]
    # Its symbolic counterpart for the three-ways comparison (methods.py): a function of the
    # sympy module and the operands, or None where it has none (array ops).
    sympy: Callable[..., object] | None
    micrograd: tuple[str, ...]  # micrograd's `_op` strings for it (readers/micrograd.py)

    # For an op a program defined (a function with its own @derivative rule); None in the table.
    defined: Defined | None = None

    # Its static parameters and their defaults, in order (see the module's docstring).
    params: tuple[tuple[str, object], ...] = ()
    # For an op whose backward adds up several reads of one place (gather): how many times each
    # element of its first operand was read, `rereads(*args, **params)`, for the narration.
    rereads: Callable[..., Array] | None = None
    # The inputs that are data, by position: indices and masks, which say where, not how much.
    # A reader gives them constants; they are never differentiated (their VJPs return zeros).
    data: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.jvps:
            if not self.elementwise:
                raise ValueError(f"{self.name} is not elementwise: declare its JVPs")
            object.__setattr__(self, "jvps", tuple(_diagonal_jvp(v) for v in self.vjps))


# ---------------------------------------------------------------- helpers shared by every entry


def _diagonal_jvp(vjp: Vjp) -> Jvp:
    """An elementwise op's JVP from its VJP: with a diagonal Jacobian, J t = J^T t."""
    def jvp(t: Array, ans: Array, *args: Array, **params: object) -> Array:
        out = np.shape(ans)
        return np.array(np.broadcast_to(vjp(np.broadcast_to(t, out), ans, *args, **params),
                                        out))
    return jvp


def unbroadcast(shape: Shape, g: Array) -> Array:
    """Sum `g` over the axes that numpy broadcasting added or stretched, back to `shape` (`g`
    itself when it has that shape: the usual case, so it is tried first)."""
    if g.shape == shape:
        return g
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g.reshape(shape)


def align_batch(*xs: Array) -> list[Array]:
    """Give batched arrays the same rank by inserting axes after the batch axis (numpy's rule)."""
    rank = max(x.ndim for x in xs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]


def _core_axes(x: Array) -> tuple[int, ...]:
    return tuple(range(1, x.ndim))


def _binary(f: Callable[[Array, Array], Array]) -> Callable[[Array, Array], Array]:
    return lambda a, b: f(a, b) if a.ndim == b.ndim else f(*align_batch(a, b))


def _bmatmul(a: Array, b: Array) -> Array:
    """numpy's matmul of batched operands: a vector is a one-row (or one-column) matrix for
    the product, a stack of matrices broadcasts with the other's stack (past the batch axis)."""
    a_vec, b_vec = a.ndim == 2, b.ndim == 2
    out = np.matmul(*align_batch(a[:, None, :] if a_vec else a, b[:, :, None] if b_vec else b))
    if a_vec:
        out = out[..., 0, :]
    if b_vec:
        out = out[..., 0]
    return out


def _transpose(x: Array) -> Array:
    return x.transpose((0, *range(x.ndim - 1, 0, -1)))


def _permute(x: Array, axes: tuple[int, ...] = ()) -> Array:
    return x.transpose((0, *(a + 1 for a in axes)))


def _permuted_shape(s: Shape, axes: tuple[int, ...] = ()) -> Shape:
    if sorted(axes) != list(range(len(s))):
        raise ValueError(f"axes {axes} are not an order of the {len(s)} axes of shape {list(s)}")
    return tuple(s[a] for a in axes)


def _logsumexp(x: Array) -> Array:
    axes = _core_axes(x)
    if not axes:
        return x.copy()
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return (m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))).reshape(x.shape[0])


def _softmax(x: Array) -> Array:
    axes = _core_axes(x)
    m = np.max(x, axis=axes, keepdims=True) if axes else x
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(x - m)
    return e / (np.sum(e, axis=axes, keepdims=True) if axes else e)


def _logsumexp_rows(x: Array) -> Array:
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))  # type: ignore[no-any-return]


def _reshape_as(a: Array, like: Array) -> Array:
    return a.reshape(a.shape[:1] + like.shape[1:])


def _sigmoid(x: Array) -> Array:
    return np.exp(-np.logaddexp(0.0, -x))


def _tie_share(x: Array, other: Array, ans: Array) -> Array:
    """Where max/min picked x, 1; where x and the other input tie, 1/2 (as finite differences)."""
    return (x == ans) / (1.0 + (x == other))


def _pow_vjp_base(g: Array, ans: Array, a: Array, b: Array) -> Array:
    # b * a**(b - 1), with the exponent 0 where b is 0: d(x**0)/dx is 0, also at x = 0.
    return g * b * a ** np.where(b, b - 1, 1.0)


def _pow_vjp_exponent(g: Array, ans: Array, a: Array, b: Array) -> Array:
    # a**b * log(a), with log(1) where a is 0: 0**b is 0 for b > 0, so its slope in b is 0.
    return g * ans * np.log(np.where(a, a, 1.0))


def _matmul_vjp_a(g: Array, ans: Array, a: Array, b: Array) -> Array:
    """g @ b.T (b's last two axes swapped, for stacks), a vector's axis put back and taken away
    again; summed over a broadcast stack by `unbroadcast`, as for every op."""
    if b.ndim == 1:
        return np.multiply.outer(g, b) if a.ndim >= 2 else g * b
    if a.ndim == 1:
        return np.asarray((g[..., None, :] @ np.swapaxes(b, -1, -2))[..., 0, :])
    return np.asarray(g @ np.swapaxes(b, -1, -2))


def _matmul_vjp_b(g: Array, ans: Array, a: Array, b: Array) -> Array:
    """a.T @ g (a's last two axes swapped, for stacks), as `_matmul_vjp_a`."""
    if a.ndim == 1:
        return np.multiply.outer(a, g) if b.ndim == 2 else (
            a[:, None] * g[..., None, :] if b.ndim > 2 else g * a)
    if b.ndim == 1:
        return np.asarray((np.swapaxes(a, -1, -2) @ g[..., None])[..., 0])
    return np.asarray(np.swapaxes(a, -1, -2) @ g)


# ---------------------------------------------------------------- reductions along an axis
Params = tuple[tuple[str, object], ...]
Axis = int | tuple[int, ...] | None


def check_params(op: Op, given: dict[str, object]) -> Params:
    """A node's params from the ones a reader was given: each known to `op` and a literal of
    its kind; those equal to the default left out (ValueError names the first wrong one)."""
    defaults, given = dict(op.params), dict(given)
    for name, value in list(given.items()):
        if name not in defaults:
            known = ", ".join(defaults) or "none"
            raise ValueError(f"{op.name} takes no parameter {name!r} (its parameters: {known})")
        if isinstance(defaults[name], float) or defaults[name] is None and (
                name not in PARAM_KINDS):
            given[name] = value = _real_param(op, name, value, defaults[name] is None)
            continue
        ok, kind = PARAM_KINDS.get(name, _COUNT)
        if not ok(value):
            raise ValueError(f"{op.name}'s {name} must be {kind}, not {value!r}")
    return tuple((n, given[n]) for n, d in op.params if n in given and given[n] != d)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_key(value: object) -> bool:
    try:
        return isinstance(value, str) and bool(parse_key(value))
    except ValueError:
        return False


_COUNT = (lambda v: _is_int(v) and v >= 0, "a non-negative integer")  # type: ignore[operator]
# What each param's value may be, and how a refusal says it: by the param's name, so that
# every op naming `axis` takes the same literals.
PARAM_KINDS: dict[str, tuple[Callable[[object], bool], str]] = {
    "axis": (lambda v: v is None or _is_int(v) or isinstance(v, tuple) and all(
        _is_int(a) for a in v), "an integer, a tuple of integers or None"),
    "keepdims": (lambda v: isinstance(v, bool), "True or False"),
    "axes": (lambda v: isinstance(v, tuple) and all(_is_int(a) and a >= 0 for a in v),
             "a tuple of the axes in their new order, such as (0, 2, 1)"),
    "key": (_is_key, "an index in numpy's spelling, such as 0, 1:3 or :, None"),
}


def _real_param(op: Op, name: str, value: object, optional: bool) -> float | None:
    """A param that is a real number (an activation's slope, clip's bounds: None where the
    default is None, for no bound), as a float: `clip(x, 0, 6)` and `clip(x, 0.0, 6.0)` are
    the same node."""
    if optional and (value is None or name == "max" and value == math.inf
                     or name == "min" and value == -math.inf):
        return None  # no bound: np.clip(z, 0, np.inf), as numpy-ml writes relu
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    kind = "a finite number or None" if optional else "a finite number"
    raise ValueError(f"{op.name}'s {name} must be {kind}, not {value!r}")


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """The reduced axes of an array of rank `ndim`, non-negative and sorted (None: all)."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(sorted(a % ndim for a in ((axis,) if isinstance(axis, int) else axis)))


def _batch_axes(x: Array, axis: Axis) -> tuple[int, ...]:
    """The reduced axes of a batched array (axis 0 the batch): the node's own, shifted by one."""
    return tuple(a + 1 for a in _axes(axis, x.ndim - 1))


def _kept(g: Array, shape: Shape, axis: Axis, keepdims: bool) -> Array:
    """An output-shaped `g` with the reduced axes back, of length 1 (broadcasts to `shape`)."""
    return np.asarray(g) if keepdims else np.expand_dims(g, _axes(axis, len(shape)))


def _spread(g: Array, shape: Shape, axis: Axis, keepdims: bool) -> Array:
    """A reduction's upstream gradient copied along the reduced axes: back to `shape`."""
    return np.array(np.broadcast_to(_kept(g, shape, axis, keepdims), shape))


def _count(shape: Shape, axis: Axis) -> int:
    """How many elements each output element of a reduction gathers."""
    return math.prod(shape[a] for a in _axes(axis, len(shape)))


def _reduced_shape(s: Shape, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Shape:
    if axis is None:
        return (1,) * len(s) if keepdims else ()
    axes = (axis,) if isinstance(axis, int) else axis
    for a in axes:
        if not -len(s) <= a < len(s):
            raise ValueError(f"axis {a} is out of bounds for shape {list(s)} (rank {len(s)})")
    kept = _axes(axis, len(s))
    if len(set(kept)) != len(kept):
        raise ValueError(f"axis {axis} names an axis twice")
    return tuple(1 if i in kept else n for i, n in enumerate(s) if keepdims or i not in kept)


def _sum(x: Array, axis: Axis = None, keepdims: bool = False) -> Array:
    return np.sum(x, axis=_batch_axes(x, axis), keepdims=keepdims)


def _mean(x: Array, axis: Axis = None, keepdims: bool = False) -> Array:
    return np.mean(x, axis=_batch_axes(x, axis), keepdims=keepdims)


def _var(x: Array, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Array:
    return np.var(x, axis=_batch_axes(x, axis), keepdims=keepdims, ddof=ddof)


def _var_vjp(g: Array, y: Array, a: Array, axis: Axis = None, keepdims: bool = False,
             ddof: int = 0) -> Array:
    centred = a - np.mean(a, axis=_axes(axis, a.ndim), keepdims=True)
    return 2 * centred * _kept(g, a.shape, axis, keepdims) / (_count(a.shape, axis) - ddof)


def _var_jvp(t: Array, y: Array, a: Array, axis: Axis = None, keepdims: bool = False,
             ddof: int = 0) -> Array:
    centred = a - np.mean(a, axis=_axes(axis, a.ndim), keepdims=True)
    return np.asarray(np.sum(2 * centred * t, axis=_axes(axis, a.ndim), keepdims=keepdims)
                      / (_count(a.shape, axis) - ddof))


def _extreme(pick: Callable[..., Array]) -> Callable[..., Array]:
    def forward(x: Array, axis: Axis = None, keepdims: bool = False) -> Array:
        return pick(x, axis=_batch_axes(x, axis), keepdims=keepdims)  # type: ignore[no-any-return]
    return forward


def _picked_share(y: Array, a: Array, axis: Axis, keepdims: bool) -> Array:
    """Where a reduction's max (or min) was picked, 1 over the number of ties (torch's amax)."""
    picked = a == _kept(y, a.shape, axis, keepdims)
    return picked / np.sum(picked, axis=_axes(axis, a.ndim), keepdims=True)


def _extreme_vjp(g: Array, y: Array, a: Array, axis: Axis = None,
                 keepdims: bool = False) -> Array:
    return _kept(g, a.shape, axis, keepdims) * _picked_share(y, a, axis, keepdims)


def _extreme_jvp(t: Array, y: Array, a: Array, axis: Axis = None,
                 keepdims: bool = False) -> Array:
    return np.asarray(np.sum(t * _picked_share(y, a, axis, keepdims), axis=_axes(axis, a.ndim),
                             keepdims=keepdims))


def _logsumexp_along(x: Array, axis: Axis = None, keepdims: bool = False) -> Array:
    if axis is None and not keepdims:
        return _logsumexp(x)  # over everything: the op as it was before it took an axis
    axes = _batch_axes(x, axis)
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = m + np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axes)


def _logsumexp_vjp(g: Array, y: Array, a: Array, axis: Axis = None,
                   keepdims: bool = False) -> Array:
    return _kept(g, a.shape, axis, keepdims) * np.exp(a - _kept(y, a.shape, axis, keepdims))


def _logsumexp_jvp(t: Array, y: Array, a: Array, axis: Axis = None,
                   keepdims: bool = False) -> Array:
    if axis is None and not keepdims:
        return np.asarray(np.sum(t * np.exp(a - y)))
    return np.asarray(np.sum(t * np.exp(a - _kept(y, a.shape, axis, keepdims)),
                             axis=_axes(axis, a.ndim), keepdims=keepdims))


def _sum_jvp(t: Array, y: Array, a: Array, axis: Axis = None, keepdims: bool = False) -> Array:
    if axis is None and not keepdims:
        return np.asarray(np.sum(t))
    return np.asarray(np.sum(t, axis=_axes(axis, a.ndim), keepdims=keepdims))


def _mean_jvp(t: Array, y: Array, a: Array, axis: Axis = None, keepdims: bool = False) -> Array:
    if axis is None and not keepdims:
        return np.asarray(np.mean(t))
    return np.asarray(np.mean(t, axis=_axes(axis, a.ndim), keepdims=keepdims))


_AXIS: Params = (("axis", None), ("keepdims", False))


def _extreme_entry(name: str, short: str, most: str, extreme: str,
                   pick: Callable[..., Array]) -> Op:
    """amax's or amin's entry: the same rule and notation, for the largest or the smallest."""
    return Op(name=name, arity=1, params=_AXIS,
              forward=_extreme(pick), vjps=(_extreme_vjp,), jvps=(_extreme_jvp,),
              shape=_reduced_shape, elementwise=False,
              expr=_f(f"{short}($u$p)", rf"\{short}$p $u"),
              derivs=(_f(f"1 where $u is the {extreme} (1/k for a k-way tie), else 0",
                         rf"[\,$u = \{short} $u\,] / k"),),
              backward=((f"the upstream sent back {{along}} to the {most} element (split "
                         "between ties)"),),
              symbol=short,
              description=f"{most.capitalize()} element, of all or along `axis`; the gradient "
                          "goes to the element picked, split evenly between ties (as torch's "
                          f"{name}).",
              numpy=(short, name), torch=(name,), sympy=None, micrograd=())


# ---------------------------------------------------------------- indexing (indexing.py)


def _index(x: Array, key: str = "...") -> Array:
    return x[batched_key(key, x.ndim - 1)]


def _index_vjp(g: Array, y: Array, a: Array, key: str = "...") -> Array:
    out = np.zeros(a.shape)
    out[numpy_key(key)] = g  # a basic index picks each element once
    return out


def _gather(x: Array, idx: Array, key: str = "@") -> Array:
    """x[key] with the index arrays `idx` (stacked on its axis 1): one numpy call when every
    batch row indexes the same places (the batch axis moved last, out of the key's way)."""
    if len(x) == 1 or (idx == idx[:1]).all():
        moved = np.moveaxis(x, 0, -1)
        picked = moved[numpy_key(key_text(explicit(key, x.ndim - 1)), idx[0])]
        return np.moveaxis(picked, -1, 0)
    return np.stack([a[numpy_key(key, i)] for a, i in zip(x, idx)])


def _scatter_add(g: Array, y: Array, a: Array, idx: Array, key: str = "@") -> Array:
    """Gather's VJP: each upstream element added back at the place it was read from (places
    read twice add up: np.add.at, not assignment)."""
    out = np.zeros(a.shape)
    np.add.at(out, numpy_key(key, idx), g)
    return out


def _reads(a: Array, idx: Array, key: str = "@") -> Array:
    """How many times gather read each element of `a`."""
    counts = np.zeros(a.shape)
    np.add.at(counts, numpy_key(key, idx), 1.0)
    return counts


def _indexed_shape(s: Shape, key: str = "...") -> Shape:
    return indexed_shape(s, key)


def _gathered_shape(s: Shape, i: Shape, key: str = "@") -> Shape:
    count = arrays_in(key)
    if count == 1:
        return indexed_shape(s, key, i)
    if not i or i[0] != count:
        raise ValueError(f"the index [{key}] places {count} arrays, given {i[:1]}")
    return indexed_shape(s, key, i[1:])

# ---------------------------------------------------------------- joining arrays (joins.py)
# concatenate is binary: k arrays are k - 1 nodes (core/joins.py pairs them), so that every
# entry keeps one VJP per input and its `$u`, `$v` templates. `axis` counts the output's axes
# (the operands' too: they have the same rank); None joins the flattened arrays, as numpy.


def _concatenate(a: Array, b: Array, axis: int | None = 0) -> Array:
    if axis is None:
        return np.concatenate([a.reshape(len(a), -1), b.reshape(len(b), -1)], axis=1)
    return np.concatenate([a, b], axis=axis % (a.ndim - 1) + 1)


def _joined(a: Array, b: Array, axis: int | None = 0) -> Array:
    """Two unbatched arrays joined."""
    return _concatenate(a[None], b[None], axis)[0]


def _piece(which: int) -> Vjp:
    """The VJP of operand `which`: the upstream cut back to that operand's place in the join
    (np.split's piece)."""
    def vjp(g: Array, y: Array, a: Array, b: Array, axis: int | None = 0) -> Array:
        if axis is None:
            flat = g[:a.size] if which == 0 else g[a.size:]
            return flat.reshape((a, b)[which].shape)
        at = axis % a.ndim
        cut = slice(None, a.shape[at]) if which == 0 else slice(a.shape[at], None)
        return g[(slice(None),) * at + (cut,)]
    return vjp


def _joined_shape(a: Shape, b: Shape, axis: Axis = 0) -> Shape:
    if axis is None:
        return (math.prod(a) + math.prod(b),)
    if len(a) != len(b):
        raise ValueError(f"arrays of shapes {list(a)} and {list(b)} have different ranks: "
                         "concatenate joins arrays of one rank (stack puts them along a new "
                         "axis)")
    if not a:
        raise ValueError("scalars have no axis to join along: stack([a, b]) makes a vector "
                         "of them")
    if isinstance(axis, tuple) or not -len(a) <= axis < len(a):
        raise ValueError(f"axis {axis} is not one axis of shape {list(a)} (rank {len(a)})")
    at = axis % len(a)
    if a[:at] + a[at + 1:] != b[:at] + b[at + 1:]:
        raise ValueError(f"shapes {list(a)} and {list(b)} differ on an axis other than axis "
                         f"{axis}, the one joined")
    return a[:at] + (a[at] + b[at],) + a[at + 1:]


# ---------------------------------------------------------------- convolution and pooling
# On the last d axes of an array (d = 1 for conv1d, 2 for conv2d and the pooling ops): NCL or
# NCHW inputs, OIL or OIHW weights, as torch lays them out (an input without N, as torch's
# unbatched (C, H, W), is read with an N of 1). `stride`, `padding` and `kernel_size` are an
# int or a tuple of d ints.
Window = int | tuple[int, ...]
_WINDOW_PARAMS = {"stride": 1, "padding": 0, "kernel_size": 1}  # each one's least value
_WINDOW_KINDS = {"stride": "a positive integer or a tuple of them",
                 "kernel_size": "a positive integer or a tuple of them",
                 "padding": "a non-negative integer or a tuple of them"}


def _window_param_ok(name: str, value: object) -> bool:
    """Whether `value` is a stride, padding or kernel_size: an int, or a tuple of ints, not
    below the least (pooling's stride may be None: its kernel_size)."""
    least = _WINDOW_PARAMS[name]
    values = value if isinstance(value, tuple) else (value,)
    return (bool(values) and all(isinstance(v, int) and not isinstance(v, bool) and v >= least
                                 for v in values)) or (value is None and name == "stride")


def _per_axis(value: Window, d: int, name: str = "") -> tuple[int, ...]:
    """An int or a tuple of ints as one int per spatial axis."""
    if isinstance(value, int):
        return (value,) * d
    if value is None or len(value) != d:  # a convolution's stride=None, say
        raise ValueError(f"{name} {value} is not an integer or {d} of them")
    return tuple(value)


def _pad(x: Array, padding: tuple[int, ...], value: float = 0.0) -> Array:
    """`x` with its last len(padding) axes padded at both ends by `padding`."""
    if not any(padding):
        return x
    widths = [(0, 0)] * (x.ndim - len(padding)) + [(p, p) for p in padding]
    return np.pad(x, widths, constant_values=value)


def _crop(x: Array, padding: tuple[int, ...], size: tuple[int, ...]) -> Array:
    """The inverse of `_pad` on a gradient: the last axes cut to `size` after `padding`."""
    index: tuple[Any, ...] = (..., *(slice(p, p + n) for p, n in zip(padding, size)))
    return x[index]


def _windows(x: Array, kernel: tuple[int, ...], stride: tuple[int, ...]) -> Array:
    """Every window of `x`'s last d axes that a kernel of this size visits at this stride:
    shaped (..., *out, *kernel), a view (no copy)."""
    d = len(kernel)
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=tuple(range(-d, 0)))
    index: tuple[Any, ...] = (..., *(slice(None, None, s) for s in stride),
                              *(slice(None),) * d)
    return view[index]


def _correlate(x: Array, w: Array, stride: tuple[int, ...]) -> Array:
    """Cross-correlation (torch's conv) of x (B, N, C, *size) with w (B, O, C, *kernel), each
    row b its own: (B, N, O, *out), one matrix product per row (im2col)."""
    d = len(stride)
    win = _windows(x, w.shape[3:], stride)  # (B, N, C, *out, *kernel)
    b, n, out = win.shape[0], win.shape[1], win.shape[3:3 + d]
    cols = np.moveaxis(win, 2, 2 + d).reshape(b, n * math.prod(out), -1)
    y = cols @ w.reshape(b, w.shape[1], -1).transpose(0, 2, 1)  # (B, N * out, O)
    return np.moveaxis(y.reshape(b, n, *out, w.shape[1]), -1, 2)


def _conv(d: int) -> Callable[..., Array]:
    """The batched forward of a d-dimensional convolution."""
    def forward(x: Array, w: Array, stride: Window = 1, padding: Window = 0) -> Array:
        unbatched = x.ndim == d + 2  # (B, C, *size): no N
        xs = x[:, None] if unbatched else x
        y = _correlate(_pad(xs, _per_axis(padding, d)), w, _per_axis(stride, d))
        return y[:, 0] if unbatched else y
    return forward


def _conv_vjp_x(d: int) -> Vjp:
    """The input's gradient: the upstream (spread out by the stride) convolved with the
    flipped kernel, i.e. correlated with it after a full padding; then the padding cut off."""
    def vjp(g: Array, y: Array, x: Array, w: Array, stride: Window = 1,
            padding: Window = 0) -> Array:
        s, p, k = _per_axis(stride, d), _per_axis(padding, d), w.shape[2:]
        gs = g if x.ndim == d + 2 else g[None]
        spread = np.zeros(gs.shape[:2] + tuple((n - 1) * a + 1 for n, a in zip(gs.shape[2:], s)))
        every: tuple[Any, ...] = (..., *(slice(None, None, a) for a in s))
        spread[every] = gs
        flipped = np.flip(w, axis=tuple(range(2, 2 + d))).swapaxes(0, 1)  # (C, O, *kernel)
        full = _correlate(_pad(spread, tuple(n - 1 for n in k))[None], flipped[None],
                          (1,) * d)[0]
        size = x.shape[-d:]
        short = [(0, 0)] * 2 + [(0, n + 2 * a - m) for n, a, m in zip(size, p, full.shape[2:])]
        dx = _crop(np.pad(full, short), p, size)  # rows no window reached get 0
        return dx if x.ndim == d + 2 else dx[0]
    return vjp


def _conv_vjp_w(d: int) -> Vjp:
    """The weights' gradient: the (padded) input correlated with the upstream."""
    def vjp(g: Array, y: Array, x: Array, w: Array, stride: Window = 1,
            padding: Window = 0) -> Array:
        xs, gs = (x, g) if x.ndim == d + 2 else (x[None], g[None])
        win = _windows(_pad(xs, _per_axis(padding, d)), w.shape[2:], _per_axis(stride, d))
        over = (0, *range(2, 2 + d))  # N and the output's positions
        return np.tensordot(gs, win, axes=(over, over))  # (O, C, *kernel)
    return vjp


def _conv_jvps(d: int) -> tuple[Jvp, Jvp]:
    """Linear in each input: the tangent convolved in that input's place."""
    forward = _conv(d)
    return (lambda t, y, x, w, **p: forward(t[None], w[None], **p)[0],
            lambda t, y, x, w, **p: forward(x[None], t[None], **p)[0])


def _conv_shape(d: int, name: str) -> Callable[..., Shape]:
    def shape(x: Shape, w: Shape, stride: Window = 1, padding: Window = 0) -> Shape:
        if len(x) not in (d + 1, d + 2) or len(w) != d + 2:
            layout = ("(N, C, L)", "(O, C, k)") if d == 1 else ("(N, C, H, W)", "(O, C, kh, kw)")
            raise ValueError(f"{name} takes an input {layout[0]} and weights {layout[1]}, "
                             f"got shapes {list(x)} and {list(w)}")
        if x[-d - 1] != w[1]:
            raise ValueError(f"{name}'s input has {x[-d - 1]} channels and its weights "
                             f"{w[1]} (shapes {list(x)} and {list(w)})")
        out = _window_out(x[-d:], w[2:], _per_axis(stride, d, "stride"),
                          _per_axis(padding, d, "padding"), name)
        return x[:-d - 1] + (w[0], *out)
    return shape


def _window_out(size: Shape, kernel: Shape, stride: tuple[int, ...], padding: tuple[int, ...],
                name: str) -> tuple[int, ...]:
    """The output's size along each spatial axis: the windows that fit."""
    out = tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding))
    if any(n + 2 * p < k for n, k, p in zip(size, kernel, padding)):
        raise ValueError(f"{name}'s kernel {list(kernel)} is larger than its input "
                         f"{list(size)} padded by {list(padding)}")
    return out


Sizes = tuple[int, ...]


def _pool_sizes(d: int, kernel_size: Window | None, stride: Window | None,
                padding: Window) -> tuple[Sizes, Sizes, Sizes]:
    """A pooling's kernel, stride (its kernel's by default) and padding, one int per axis."""
    assert kernel_size is not None  # the shape rule refused a node without one
    k = _per_axis(kernel_size, d)
    return k, _per_axis(k if stride is None else stride, d), _per_axis(padding, d)


def _pool(d: int, reduce: str) -> Callable[..., Array]:
    """The batched forward of max or mean pooling over the last d axes (max pads with -inf,
    mean with 0 and divides by the whole window, as torch's count_include_pad)."""
    def forward(x: Array, kernel_size: Window | None = None, stride: Window | None = None,
                padding: Window = 0) -> Array:
        k, s, p = _pool_sizes(d, kernel_size, stride, padding)
        win = _windows(_pad(x, p, -np.inf if reduce == "max" else 0.0), k, s)
        axes = tuple(range(-d, 0))
        return np.max(win, axis=axes) if reduce == "max" else np.mean(win, axis=axes)
    return forward


def _pool_share(x: Array, y: Array, d: int, k: tuple[int, ...], s: tuple[int, ...],
                p: tuple[int, ...], reduce: str) -> Array:
    """How much of each window's output each of its elements gets: 1/(window size) for the
    mean; for the max, 1 where it was picked, over the number of ties (as amax)."""
    if reduce != "max":
        return np.full(y.shape + k, 1.0 / math.prod(k))
    picked = _windows(_pad(x, p, -np.inf), k, s) == y[(..., *(None,) * d)]
    return picked / picked.sum(axis=tuple(range(-d, 0)), keepdims=True)


def _pool_vjp(d: int, reduce: str) -> Vjp:
    """Each window's upstream gradient routed back to its elements (to its max, or spread
    evenly for the mean), added up where windows overlap; then the padding cut off."""
    def vjp(g: Array, y: Array, x: Array, kernel_size: Window | None = None,
            stride: Window | None = None, padding: Window = 0) -> Array:
        k, s, p = _pool_sizes(d, kernel_size, stride, padding)
        routed = g[(..., *(None,) * d)] * _pool_share(x, y, d, k, s, p, reduce)
        dx = np.zeros(x.shape[:-d] + tuple(n + 2 * a for n, a in zip(x.shape[-d:], p)))
        out = y.shape[-d:]
        for offset in np.ndindex(*k):  # one strided add per kernel position, not per pixel
            reached: tuple[Any, ...] = (..., *(slice(o, o + a * (n - 1) + 1, a)
                                               for o, a, n in zip(offset, s, out)))
            dx[reached] += routed[(..., *offset)]
        return _crop(dx, p, x.shape[-d:])
    return vjp


def _pool_jvp(d: int, reduce: str) -> Jvp:
    def jvp(t: Array, y: Array, x: Array, kernel_size: Window | None = None,
            stride: Window | None = None, padding: Window = 0) -> Array:
        k, s, p = _pool_sizes(d, kernel_size, stride, padding)
        win = _windows(_pad(t, p), k, s)
        return np.sum(win * _pool_share(x, y, d, k, s, p, reduce), axis=tuple(range(-d, 0)))
    return jvp


def _pool_shape(d: int, name: str) -> Callable[..., Shape]:
    def shape(x: Shape, kernel_size: Window | None = None, stride: Window | None = None,
              padding: Window = 0) -> Shape:
        if kernel_size is None:
            raise ValueError(f"{name} needs its kernel_size: {name}(x, 2) pools 2x2 windows")
        if len(x) not in (d + 1, d + 2):
            raise ValueError(f"{name} takes an input (C, H, W) or (N, C, H, W), got shape "
                             f"{list(x)}")
        k = _per_axis(kernel_size, d, "kernel_size")
        p = _per_axis(padding, d, "padding")
        if any(2 * a > n for a, n in zip(p, k)):
            raise ValueError(f"{name}'s padding {list(p)} is more than half its kernel "
                             f"{list(k)} (torch's limit)")
        s = _per_axis(k if stride is None else stride, d, "stride")
        return x[:-d] + _window_out(x[-d:], k, s, p, name)
    return shape


PARAM_KINDS.update({name: (functools.partial(_window_param_ok, name), _WINDOW_KINDS[name])
                    for name in _WINDOW_PARAMS})
_CONV: Params = (("stride", 1), ("padding", 0))
_POOL: Params = (("kernel_size", None), ("stride", None), ("padding", 0))


def _conv_entry(d: int, what: str) -> Op:
    """conv1d's or conv2d's entry: the same rule and notation on d spatial axes."""
    name = f"conv{d}d"
    return Op(name=name, arity=2, params=_CONV,
              forward=_conv(d), vjps=(_conv_vjp_x(d), _conv_vjp_w(d)), jvps=_conv_jvps(d),
              shape=_conv_shape(d, name), elementwise=False,
              expr=_f(f"{name}($u, $v$p)", r"$u \star$p $v"),
              derivs=(_f("the upstream convolved with the flipped $v",
                         r"\bar{g} \ast \operatorname{flip}\left($v\right)"),
                      _f("$u correlated with the upstream", r"$u \star \bar{g}")),
              backward=(("the upstream convolved with the flipped kernel (a transposed "
                         "convolution)"), "the input correlated with the upstream"),
              symbol=name,
              description=f"{what} Backward, the input's gradient is the upstream (spread out "
                          "by the stride) convolved with the flipped kernel, a transposed "
                          "convolution; the weights' gradient is the input correlated with the "
                          "upstream.",
              numpy=(), torch=(name,), sympy=None, micrograd=())


# ---------------------------------------------------------------- activations, clip, where


def _erf(x: Array) -> Array:
    """The error function, elementwise: math.erf's (numpy has none; exact to float64)."""
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(x), dtype=np.float64)


def _bounds(lo: float | None, hi: float | None) -> tuple[float, float]:
    return -np.inf if lo is None else lo, np.inf if hi is None else hi


def _clip(a: Array, min: float | None = None, max: float | None = None) -> Array:
    lo, hi = _bounds(min, max)
    return np.minimum(np.maximum(a, lo), hi)  # above max when min > max: max (numpy, torch)


def _clip_vjp(g: Array, y: Array, a: Array, min: float | None = None,
              max: float | None = None) -> Array:
    lo, hi = _bounds(min, max)
    return g * ((a >= lo) & (a <= hi))  # 1 on the bounds too, as torch's clamp


def _clip_sides(x: float, min: float | None = None, max: float | None = None
                ) -> Sides:
    """At the lower bound the slope goes 0 then 1; at the upper, 1 then 0; 1 is taken."""
    return ((1.0,), (1.0,), (0.0,)) if x == max else ((1.0,), (0.0,), (1.0,))


_CLIP_KINK = Kink(where=lambda y, a, min=None, max=None: (a == _bounds(min, max)[0])
                  | (a == _bounds(min, max)[1]),
                  rules=(Formula("1", "1"),), taken=(1.0,), left=(0.0,), right=(1.0,),
                  point="at a bound", sides=_clip_sides)


def _leaky_relu(a: Array, negative_slope: float = 0.01) -> Array:
    return np.where(a > 0, a, negative_slope * a)


_LEAKY_KINK = Kink(where=lambda y, a, negative_slope=0.01: a == 0,
                   rules=(Formula("negative_slope", r"\text{negative\_slope}"),),
                   taken=(0.01,), left=(0.01,), right=(1.0,), point="at 0",
                   sides=lambda x, negative_slope=0.01: ((negative_slope,), (negative_slope,),
                                                         (1.0,)))


def _elu(a: Array, alpha: float = 1.0) -> Array:
    return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0.0)))


def _elu_vjp(g: Array, y: Array, a: Array, alpha: float = 1.0) -> Array:
    return g * np.where(a > 0, 1.0, alpha * np.exp(np.minimum(a, 0.0)))  # alpha at 0 (torch)


_ELU_KINK = Kink(where=lambda y, a, alpha=1.0: (a == 0) & (alpha != 1.0),
                 rules=(Formula("alpha", r"\alpha"),), taken=(1.0,), left=(1.0,), right=(1.0,),
                 point="at 0", sides=lambda x, alpha=1.0: ((alpha,), (alpha,), (1.0,)))


def _where(c: Array, a: Array, b: Array) -> Array:
    c, a, b = align_batch(c, a, b)
    return np.where(c != 0, a, b)


def _broadcast3(c: Shape, a: Shape, b: Shape) -> Shape:
    try:
        return tuple(np.broadcast_shapes(c, a, b))
    except ValueError:
        raise ValueError(f"shapes {list(c)}, {list(a)} and {list(b)} do not broadcast "
                         "together: numpy compares trailing dimensions, which must be equal "
                         "or 1") from None


def _sympy_clip(sp: object, a: object, min: float | None = None,
                max: float | None = None) -> object:
    out = a if min is None else sp.Max(a, min)  # type: ignore[attr-defined]
    return out if max is None else sp.Min(out, max)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- writes into arrays, pad
# `x[key] = v` read as a functional index update (JAX's x.at[key].set(v)): a new array, x with
# v at the places the key names. With a basic key (index_set) each place is written once; with
# index arrays (scatter_set, its arrays a data operand as gather's) a place named twice keeps
# the last write, as numpy's assignment does: `_winners` asks numpy itself which write that is.


def _value_to(v: Array, target: Shape) -> Array:
    """A written value (batched: axis 0 the batch) shaped to broadcast over the `target`
    places of each row: the leading axes of length 1 numpy drops from a value of more axes
    dropped, the others aligned to the right."""
    core = v.shape[1:]
    if len(core) > len(target):
        core = core[len(core) - len(target):]
    return v.reshape(v.shape[:1] + (1,) * (len(target) - len(core)) + core)


def _for_value(shape: Shape, g: Array) -> Array:
    """The gradient at the written places, with the leading axes of length 1 a value of more
    axes than the places had (`unbroadcast` sums the rest back to the value's shape)."""
    return g.reshape((1,) * (len(shape) - g.ndim) + g.shape) if len(shape) > g.ndim else g


def _fits(v: Shape, target: Shape, key: str) -> None:
    """Refuse a value that numpy would not write into `target` places (ValueError, in words)."""
    extra = max(0, len(v) - len(target))
    core = v[extra:]
    if any(d != 1 for d in v[:extra]) or any(
            a != b and a != 1 for a, b in zip(core[::-1], target[::-1])):
        raise ValueError(f"a value of shape {list(v)} cannot be written into [{key}], which "
                         f"names places of shape {list(target)}")


def _index_set(x: Array, v: Array, key: str = "...") -> Array:
    out = np.array(np.broadcast_to(x, (max(len(x), len(v)), *x.shape[1:])))
    place = batched_key(key, x.ndim - 1)
    out[place] = _value_to(v, out[place].shape[1:])
    return out


def _overwritten(g: Array, key: Any) -> Array:
    """`g` with zeros at the places the key wrote (what the old array no longer reaches)."""
    out = np.array(g)
    out[key] = 0.0
    return out


def _index_set_place(t: Array, y: Array, x: Array, v: Array, key: str = "...") -> Array:
    """The value's tangent at the places written, zeros elsewhere."""
    out = np.zeros(y.shape)
    out[numpy_key(key)] = t
    return out


def _index_set_shape(s: Shape, v: Shape, key: str = "...") -> Shape:
    _fits(v, indexed_shape(s, key), key)
    return s


def _winners(shape: Shape, key: str, idx: Array) -> tuple[Array, Shape]:
    """For each place of an array of `shape`, which write of `x[key] = v` it keeps (the
    number of the element of v, broadcast to the places' shape, in C order; -1 where none
    is written), and that shape. numpy itself writes the numbers, so a place named twice keeps
    the write numpy keeps."""
    winner = np.full(shape, -1, dtype=np.intp)
    at = numpy_key(key, idx)
    target = winner[at].shape
    winner[at] = np.arange(math.prod(target)).reshape(target)
    return winner, target


def _scatter_set(x: Array, idx: Array, v: Array, key: str = "@") -> Array:
    """x[key] = v with the index arrays `idx` (a row of each per batch row): one numpy call
    when every batch row writes the same places."""
    batch = max(len(x), len(idx), len(v))
    out = np.array(np.broadcast_to(x, (batch, *x.shape[1:])))
    same = len(idx) == 1 or bool((idx == idx[:1]).all())
    for b in range(1 if same else batch):
        winner, target = _winners(x.shape[1:], key, idx[0 if same else b])
        written = winner >= 0
        rows = slice(None) if same else slice(b, b + 1)
        values = v if same or len(v) == 1 else v[b:b + 1]
        flat = np.broadcast_to(_value_to(values, target),
                               (len(out[rows]), *target)).reshape(len(out[rows]), -1)
        out[rows][:, written] = flat[:, winner[written]]
    return out


def _scatter_set_vjp_x(g: Array, y: Array, x: Array, idx: Array, v: Array,
                       key: str = "@") -> Array:
    return g * (_winners(x.shape, key, idx)[0] < 0)


def _scatter_set_vjp_v(g: Array, y: Array, x: Array, idx: Array, v: Array,
                       key: str = "@") -> Array:
    """The upstream at the place each element of v was written to, where that write is the
    one kept (a write overwritten by a later one gets 0)."""
    winner, target = _winners(x.shape, key, idx)
    written = winner >= 0
    out = np.zeros(math.prod(target))
    out[winner[written]] = g[written]
    return _for_value(v.shape, out.reshape(target))


def _scatter_set_jvp_v(t: Array, y: Array, x: Array, idx: Array, v: Array,
                       key: str = "@") -> Array:
    winner, target = _winners(x.shape, key, idx)
    written = winner >= 0
    out = np.zeros(y.shape)
    out[written] = np.broadcast_to(_value_to(t[None], target)[0], target).ravel()[
        winner[written]]
    return out


def _scatter_set_shape(s: Shape, i: Shape, v: Shape, key: str = "@") -> Shape:
    _fits(v, _gathered_shape(s, i, key), key)
    return s


PadWidth = tuple[tuple[int, int], ...]


def _pad_ok(value: object) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(p, tuple) and len(p) == 2 and all(_is_int(a) and a >= 0 for a in p)  # type: ignore[operator]
        for p in value)


PARAM_KINDS["pad_width"] = (_pad_ok, ("a tuple of (before, after) pairs of non-negative "
                                      "integers, one per axis"))


def _pad_zeros(x: Array, pad_width: PadWidth = ()) -> Array:
    """np.pad(x, pad_width) in constant mode, with zeros (batched: the batch axis not padded)."""
    return np.pad(x, ((0, 0), *pad_width)) if pad_width else np.array(x)


def _unpad(g: Array, y: Array, x: Array, pad_width: PadWidth = ()) -> Array:
    """The padding cut off again: the upstream at the places of x."""
    if not pad_width:
        return np.array(g)
    return np.array(g[tuple(slice(b, b + n) for (b, _), n in zip(pad_width, x.shape))])


def _padded_shape(s: Shape, pad_width: PadWidth = ()) -> Shape:
    if not pad_width:
        return s
    if len(pad_width) != len(s):
        raise ValueError(f"pad_width {list(pad_width)} has {len(pad_width)} pairs for an array "
                         f"of shape {list(s)} ({len(s)} axes): one (before, after) per axis")
    return tuple(n + b + a for n, (b, a) in zip(s, pad_width))


# ---------------------------------------------------------------------- shape rules


def _same(s: Shape, **params: object) -> Shape:
    """An elementwise op's: its input's (whatever its params)."""
    return s


def _broadcast(a: Shape, b: Shape) -> Shape:
    if a == b:  # two scalars, or arrays alike: numpy's answer without asking it (microseconds)
        return a
    try:
        return tuple(np.broadcast_shapes(a, b))
    except ValueError:
        raise ValueError(
            f"shapes {list(a)} and {list(b)} do not broadcast together: numpy compares trailing "
            "dimensions, which must be equal or 1"
        ) from None


def _matmul_shape(a: Shape, b: Shape) -> Shape:
    """numpy's matmul: vectors and matrices, and stacks of matrices whose leading axes
    broadcast ((B, n, k) @ (B, k, m), (B, n, k) @ (k, m))."""
    if not a or not b:
        raise ValueError(
            f"@ needs vectors, matrices or stacks of them, got shapes {list(a)} and {list(b)} "
            "(use * for scalars)")
    inner = b[0] if len(b) == 1 else b[-2]
    if a[-1] != inner:
        raise ValueError(
            f"@ needs the inner dimensions to agree: {list(a)} @ {list(b)} pairs {a[-1]} with "
            f"{inner}")
    try:
        stack = tuple(np.broadcast_shapes(a[:-2], b[:-2]))
    except ValueError:
        raise ValueError(f"@ needs the stacks of {list(a)} @ {list(b)} to broadcast: "
                         f"{list(a[:-2])} and {list(b[:-2])} do not") from None
    return stack + a[-2:-1] + b[-1:] if len(b) > 1 else stack + a[-2:-1]


def _row_reduced(s: Shape) -> Shape:
    if not s:
        raise ValueError("a scalar has no rows: logsumexp_rows needs a vector or an array")
    return s[:-1] + (1,)


def _reshaped(a: Shape, like: Shape) -> Shape:
    if math.prod(a) != math.prod(like):
        raise ValueError(f"shape {list(a)} cannot be reshaped to {list(like)}: they hold "
                         f"{math.prod(a)} and {math.prod(like)} elements")
    return like


def _reversed(s: Shape) -> Shape:
    return s[::-1]


# ---------------------------------------------------------------- backprop ninja: constants
# What a learner's hand-written gradients need (makemore part 4): arrays of zeros and ones shaped
# like another, one-hot rows of class indices (`onehot(Yb, 27)`: the loss's gradient, or the
# embedding's added back by matmul), and the index of a maximum (`argmax(logits, 1)`: where
# logit_maxes came from). Each is piecewise constant in its operand: its VJP is 0.


def _zeros_like(x: Array) -> Array:
    return np.zeros(x.shape)


def _ones_like(x: Array) -> Array:
    return np.ones(x.shape)


def _onehot(i: Array, classes: int = 0) -> Array:
    """Row k of the identity (of `classes` columns) for each index k, rounded: a new last axis
    (an index outside 0 to classes - 1 gives a row of zeros, as a comparison would)."""
    return (np.rint(i)[..., None] == np.arange(classes)).astype(np.float64)


def _onehot_shape(s: Shape, classes: int = 0) -> Shape:
    if classes < 1:
        raise ValueError("onehot needs the number of classes: onehot(Yb, 27)")
    return (*s, classes)


def _argmax(x: Array, axis: Axis = None, keepdims: bool = False) -> Array:
    """The index of the first maximum along one axis (of the flattened array without one), as
    a float: numpy's argmax."""
    if axis is None:
        flat = np.argmax(x.reshape(len(x), -1), axis=1).astype(np.float64)
        return flat.reshape((len(x),) + (1,) * (x.ndim - 1)) if keepdims else flat
    return np.argmax(x, axis=_batch_axes(x, axis)[0], keepdims=keepdims).astype(np.float64)


def _argmax_shape(s: Shape, axis: Axis = None, keepdims: bool = False) -> Shape:
    if axis is None or isinstance(axis, int):
        return _reduced_shape(s, axis, keepdims)
    raise ValueError(f"argmax takes one axis (or None, for the flattened array), not {axis}")


_NINJA_ZERO_VJP: tuple[Vjp] = (lambda g, y, a, **params: np.zeros(np.shape(a)),)
_NINJA_ZERO_JVP: tuple[Jvp] = (lambda t, y, a, **params: np.zeros(np.shape(y)),)


# ---------------------------------------------------------------------- the table


def _f(plain: str, latex: str | None = None) -> Formula:
    return Formula(plain, plain if latex is None else latex)


def _kink_at_zero(taken: float, left: float, right: float) -> Kink:
    """A one-input op whose derivative jumps at 0 (abs, relu)."""
    return Kink(where=lambda ans, a: a == 0, rules=(_f(format(taken, "g")),), taken=(taken,),
                left=(left,), right=(right,), point="at 0")


# max and min at a tie u = v: the gradient is split in half (what a central difference sees).
# For max, raising one input from the tie makes it the maximum (slope 1), lowering it leaves
# the other (slope 0); min the other way round.
_HALF = _f("1/2", r"\tfrac{1}{2}")
_MAX_TIE = Kink(where=lambda ans, a, b: np.broadcast_to(a == b, np.shape(ans)),
                rules=(_HALF, _HALF), taken=(0.5, 0.5), left=(0.0, 0.0), right=(1.0, 1.0),
                point="at a tie")
_MIN_TIE = Kink(where=lambda ans, a, b: np.broadcast_to(a == b, np.shape(ans)),
                rules=(_HALF, _HALF), taken=(0.5, 0.5), left=(1.0, 1.0), right=(0.0, 0.0),
                point="at a tie")
# max's and min's VJPs: the gradient goes to the input the op picked, half to each at a tie.
_TO_THE_PICKED: tuple[Vjp, Vjp] = (lambda g, y, a, b: g * _tie_share(a, b, y),
                                   lambda g, y, a, b: g * _tie_share(b, a, y))


# Each entry in three parts, a line or two each: its rule (forward, VJPs, JVPs, shape, kink),
# its notation (templates, symbol, description, syntax, precedence) and its foreign names.
OPS: dict[str, Op] = {
    op.name: op
    for op in [
        # ------------------------------------------------------------ operators
        Op(name="add", arity=2,
           forward=_binary(np.add), vjps=(lambda g, y, a, b: g, lambda g, y, a, b: g),
           shape=_broadcast,
           expr=_f("$u + $v"), derivs=(_f("1"), _f("1")),
           symbol="+", description="Sum of two values.", syntax="infix", precedence=1,
           numpy=("add",), torch=("add", "__add__", "__radd__"),
           sympy=lambda sp, a, b: a + b, micrograd=("+",)),
        Op(name="sub", arity=2,
           forward=_binary(np.subtract), vjps=(lambda g, y, a, b: g, lambda g, y, a, b: -g),
           shape=_broadcast,
           expr=_f("$u - $v"), derivs=(_f("1"), _f("-1")),
           symbol="−", description="Difference.", syntax="infix", precedence=1, tight="v",
           numpy=("subtract",), torch=("sub", "subtract", "__sub__", "__rsub__"),
           sympy=lambda sp, a, b: a - b, micrograd=()),
        Op(name="mul", arity=2,
           forward=_binary(np.multiply), vjps=(lambda g, y, a, b: g * b, lambda g, y, a, b: g * a),
           shape=_broadcast,
           expr=_f("$u * $v", r"$u \cdot $v"), derivs=(_f("$v"), _f("$u")),
           symbol="×", description="Product (elementwise for arrays).", syntax="infix",
           precedence=2,
           numpy=("multiply",), torch=("mul", "multiply", "__mul__", "__rmul__"),
           sympy=lambda sp, a, b: a * b, micrograd=("*",)),
        Op(name="div", arity=2,
           forward=_binary(np.divide),
           vjps=(lambda g, y, a, b: g / b, lambda g, y, a, b: -g * a / b**2), shape=_broadcast,
           expr=_f("$u / $v", r"\frac{$u}{$v}"),
           derivs=(_f("1/$v", r"\frac{1}{$v}"), _f("-$u/$v^2", r"-\frac{$u}{$v^{2}}")),
           symbol="÷", description="Quotient.", syntax="infix", precedence=2, tight="v",
           numpy=("divide",), torch=("div", "divide", "true_divide", "__truediv__", "__rtruediv__"),
           sympy=lambda sp, a, b: a / b, micrograd=()),
        # micrograd's `**k` (k a number in its `_op` string) is read apart: readers/micrograd.py.
        Op(name="pow", arity=2,
           forward=_binary(np.power), vjps=(_pow_vjp_base, _pow_vjp_exponent), shape=_broadcast,
           expr=_f("$u ** $v", "$u^{$v}"),
           derivs=(_f("$v * $u ** ($v - 1)", r"$v \cdot $u^{$v - 1}"),
                   _f("$u ** $v * log($u)", r"$u^{$v} \ln $u")),
           symbol="^", description="Power (`**`, or `^` as people type it).", syntax="infix",
           precedence=4, tight="u",
           numpy=("power",), torch=("pow", "__pow__", "__rpow__"),
           sympy=lambda sp, a, b: a**b, micrograd=()),
        Op(name="matmul", arity=2,
           forward=_bmatmul, vjps=(_matmul_vjp_a, _matmul_vjp_b),
           jvps=(lambda t, y, a, b: np.matmul(t, b), lambda t, y, a, b: np.matmul(a, t)),
           shape=_matmul_shape, elementwise=False,
           expr=_f("$u @ $v", r"$u \, $v"),
           derivs=(_f("$v.T", "$v^{\\top}"), _f("$u.T", "$u^{\\top}")),
           backward=("the upstream times v transposed (g @ v.T)",
                     "u transposed times the upstream (u.T @ g)"),
           symbol="@",
           description="Matrix product of vectors and matrices, or of stacks of matrices "
                       "(numpy's and torch's matmul, the stacks broadcast); upstream gradients "
                       "flow as g @ v.T and u.T @ g.",
           syntax="infix", precedence=2, tight="v",
           numpy=("matmul", "dot"),
           torch=("matmul", "__matmul__", "__rmatmul__", "mm", "mv", "dot", "bmm"),
           sympy=None, micrograd=()),
        Op(name="neg", arity=1,
           forward=np.negative, vjps=(lambda g, y, a: -g,), shape=_same,
           expr=_f("-$u"), derivs=(_f("-1"),),
           symbol="−", description="Negation.", syntax="prefix", precedence=3,
           numpy=("negative",), torch=("neg", "negative", "__neg__"),
           sympy=lambda sp, a: -a, micrograd=()),
        Op(name="transpose", arity=1,
           forward=_transpose, vjps=(lambda g, y, a: g.T,), jvps=(lambda t, y, a: t.T,),
           shape=_reversed, elementwise=False,
           expr=_f("$u.T", "$u^{\\top}"), derivs=(_f("transpose", r"\top"),),
           backward=("the upstream transposed back",),
           symbol="ᵀ",
           description="Transpose (reverses the axes); the gradient is transposed back.",
           syntax="postfix", precedence=5,
           numpy=("transpose",), torch=("transpose", "t", "T"), sympy=None, micrograd=()),
        Op(name="permute", arity=1, params=(("axes", ()),),
           forward=_permute,
           vjps=(lambda g, y, a, axes=(): g.transpose(np.argsort(axes)),),
           jvps=(lambda t, y, a, axes=(): t.transpose(axes),),
           shape=_permuted_shape, elementwise=False,
           expr=_f("permute($u$p)", r"\operatorname{permute}$p $u"),
           derivs=(_f("1 for each element, at its place in $u", r"\mathbf{1}\text{, moved back}"),),
           backward=("the upstream's axes put back in their order",),
           symbol="permute",
           description="The axes of u in a new order (`axes`; numpy's transpose(x, axes), "
                       "torch's permute and transpose(d0, d1)); the gradient's axes are put "
                       "back.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        # ------------------------------------------------------------ functions, elementwise
        Op(name="sin", arity=1,
           forward=np.sin, vjps=(lambda g, y, a: g * np.cos(a),), shape=_same,
           expr=_f("sin($u)", r"\sin\left($u\right)"), derivs=(_f("cos($u)", r"\cos $u"),),
           symbol="sin", description="Sine.",
           numpy=("sin",), torch=("sin",), sympy=lambda sp, a: sp.sin(a), micrograd=()),
        Op(name="cos", arity=1,
           forward=np.cos, vjps=(lambda g, y, a: -g * np.sin(a),), shape=_same,
           expr=_f("cos($u)", r"\cos\left($u\right)"), derivs=(_f("-sin($u)", r"-\sin $u"),),
           symbol="cos", description="Cosine.",
           numpy=("cos",), torch=("cos",), sympy=lambda sp, a: sp.cos(a), micrograd=()),
        Op(name="tan", arity=1,
           forward=np.tan, vjps=(lambda g, y, a: g / np.cos(a) ** 2,), shape=_same,
           expr=_f("tan($u)", r"\tan\left($u\right)"),
           derivs=(_f("1/cos($u)^2", r"\frac{1}{\cos^{2} $u}"),),
           symbol="tan", description="Tangent.",
           numpy=("tan",), torch=("tan",), sympy=lambda sp, a: sp.tan(a), micrograd=()),
        Op(name="asin", arity=1,
           forward=np.arcsin, vjps=(lambda g, y, a: g / np.sqrt(1 - a**2),), shape=_same,
           expr=_f("asin($u)", r"\arcsin\left($u\right)"),
           derivs=(_f("1/sqrt(1 - $u^2)", r"\frac{1}{\sqrt{1 - $u^{2}}}"),),
           symbol="asin", description="Arcsine.",
           numpy=("arcsin",), torch=("asin",), sympy=lambda sp, a: sp.asin(a), micrograd=()),
        Op(name="acos", arity=1,
           forward=np.arccos, vjps=(lambda g, y, a: -g / np.sqrt(1 - a**2),), shape=_same,
           expr=_f("acos($u)", r"\arccos\left($u\right)"),
           derivs=(_f("-1/sqrt(1 - $u^2)", r"-\frac{1}{\sqrt{1 - $u^{2}}}"),),
           symbol="acos", description="Arccosine.",
           numpy=("arccos",), torch=("acos",), sympy=lambda sp, a: sp.acos(a), micrograd=()),
        Op(name="atan", arity=1,
           forward=np.arctan, vjps=(lambda g, y, a: g / (1 + a**2),), shape=_same,
           expr=_f("atan($u)", r"\arctan\left($u\right)"),
           derivs=(_f("1/(1 + $u^2)", r"\frac{1}{1 + $u^{2}}"),),
           symbol="atan", description="Arctangent.",
           numpy=("arctan",), torch=("atan",), sympy=lambda sp, a: sp.atan(a), micrograd=()),
        Op(name="sinh", arity=1,
           forward=np.sinh, vjps=(lambda g, y, a: g * np.cosh(a),), shape=_same,
           expr=_f("sinh($u)", r"\sinh\left($u\right)"), derivs=(_f("cosh($u)", r"\cosh $u"),),
           symbol="sinh", description="Hyperbolic sine.",
           numpy=("sinh",), torch=("sinh",), sympy=lambda sp, a: sp.sinh(a), micrograd=()),
        Op(name="cosh", arity=1,
           forward=np.cosh, vjps=(lambda g, y, a: g * np.sinh(a),), shape=_same,
           expr=_f("cosh($u)", r"\cosh\left($u\right)"), derivs=(_f("sinh($u)", r"\sinh $u"),),
           symbol="cosh", description="Hyperbolic cosine.",
           numpy=("cosh",), torch=("cosh",), sympy=lambda sp, a: sp.cosh(a), micrograd=()),
        Op(name="tanh", arity=1,
           forward=np.tanh, vjps=(lambda g, y, a: g * (1 - y**2),), shape=_same,
           expr=_f("tanh($u)", r"\tanh\left($u\right)"),
           derivs=(_f("1 - tanh($u)^2", r"1 - \tanh^{2} $u"),),
           symbol="tanh", description="Hyperbolic tangent.",
           numpy=("tanh",), torch=("tanh",), sympy=lambda sp, a: sp.tanh(a), micrograd=("tanh",)),
        Op(name="exp", arity=1,
           forward=np.exp, vjps=(lambda g, y, a: g * y,), shape=_same,
           expr=_f("exp($u)", r"\exp\left($u\right)"), derivs=(_f("exp($u)", r"e^{$u}"),),
           symbol="exp", description="Exponential.",
           numpy=("exp",), torch=("exp",), sympy=lambda sp, a: sp.exp(a), micrograd=("exp",)),
        Op(name="log", arity=1,
           forward=np.log, vjps=(lambda g, y, a: g / a,), shape=_same,
           expr=_f("log($u)", r"\ln\left($u\right)"), derivs=(_f("1/$u", r"\frac{1}{$u}"),),
           symbol="log", description="Natural logarithm.",
           numpy=("log",), torch=("log",), sympy=lambda sp, a: sp.log(a), micrograd=()),
        Op(name="log1p", arity=1,
           forward=np.log1p, vjps=(lambda g, y, a: g / (1 + a),), shape=_same,
           expr=_f("log1p($u)", r"\operatorname{log1p}\left($u\right)"),
           derivs=(_f("1/(1 + $u)", r"\frac{1}{1 + $u}"),),
           symbol="log1p", description="log(1 + u), accurate near 0.",
           numpy=("log1p",), torch=("log1p",), sympy=lambda sp, a: sp.log(1 + a), micrograd=()),
        Op(name="sqrt", arity=1,
           forward=np.sqrt, vjps=(lambda g, y, a: g / (2 * y),), shape=_same,
           expr=_f("sqrt($u)", r"\operatorname{sqrt}\left($u\right)"),
           derivs=(_f("1/(2*sqrt($u))", r"\frac{1}{2\sqrt{$u}}"),),
           symbol="√", description="Square root.",
           numpy=("sqrt",), torch=("sqrt",), sympy=lambda sp, a: sp.sqrt(a), micrograd=()),
        Op(name="abs", arity=1,
           forward=np.abs, vjps=(lambda g, y, a: g * np.sign(a),), shape=_same,
           kink=_kink_at_zero(0.0, -1.0, 1.0),
           expr=_f("abs($u)", r"\operatorname{abs}\left($u\right)"),
           derivs=(_f("sign($u)", r"\operatorname{sign} $u"),),
           symbol="abs", description="Absolute value (derivative 0 at 0).",
           numpy=("absolute",), torch=("abs",), sympy=lambda sp, a: sp.Abs(a), micrograd=()),
        Op(name="sigmoid", arity=1,
           forward=_sigmoid, vjps=(lambda g, y, a: g * y * (1 - y),), shape=_same,
           expr=_f("sigmoid($u)", r"\sigma\left($u\right)"),
           derivs=(_f("sigmoid($u) * (1 - sigmoid($u))", r"\sigma($u)\,(1 - \sigma($u))"),),
           symbol="σ", description="Logistic sigmoid 1/(1 + exp(-u)).",
           numpy=(), torch=("sigmoid",), sympy=lambda sp, a: 1 / (1 + sp.exp(-a)), micrograd=()),
        Op(name="relu", arity=1,
           forward=lambda a: np.maximum(a, 0.0), vjps=(lambda g, y, a: g * (a > 0),), shape=_same,
           kink=_kink_at_zero(0.0, 0.0, 1.0),
           expr=_f("relu($u)", r"\operatorname{relu}\left($u\right)"),
           derivs=(_f("1 if $u > 0 else 0", r"[\,$u > 0\,]"),),
           symbol="relu", description="max(u, 0) (derivative 0 at 0).",
           numpy=(), torch=("relu",), sympy=lambda sp, a: sp.Max(a, 0), micrograd=("ReLU",)),
        Op(name="softplus", arity=1,
           forward=lambda a: np.logaddexp(0.0, a), vjps=(lambda g, y, a: g * _sigmoid(a),),
           shape=_same,
           expr=_f("softplus($u)", r"\operatorname{softplus}\left($u\right)"),
           derivs=(_f("sigmoid($u)", r"\sigma($u)"),),
           symbol="softplus", description="log(1 + exp(u)), a smooth relu.",
           # F.softplus: readers/pytorch.py reads it with its beta (torch's turns linear past
           # its threshold, 20: the two differ there by under 3e-9)
           numpy=(), torch=(), sympy=lambda sp, a: sp.log(1 + sp.exp(a)), micrograd=()),
        Op(name="max", arity=2,
           forward=_binary(np.maximum),
           vjps=_TO_THE_PICKED,
           shape=_broadcast, kink=_MAX_TIE,
           expr=_f("max($u, $v)", r"\max($u, $v)"),
           derivs=(_f("1 if $u > $v else 0", r"[\,$u > $v\,]"),
                   _f("1 if $v > $u else 0", r"[\,$v > $u\,]")),
           symbol="max", description="Elementwise maximum; a tie splits the gradient in half.",
           numpy=("maximum",), torch=("maximum",), sympy=lambda sp, a, b: sp.Max(a, b),
           micrograd=()),
        Op(name="min", arity=2,
           forward=_binary(np.minimum),
           vjps=_TO_THE_PICKED,
           shape=_broadcast, kink=_MIN_TIE,
           expr=_f("min($u, $v)", r"\min($u, $v)"),
           derivs=(_f("1 if $u < $v else 0", r"[\,$u < $v\,]"),
                   _f("1 if $v < $u else 0", r"[\,$v < $u\,]")),
           symbol="min", description="Elementwise minimum; a tie splits the gradient in half.",
           numpy=("minimum",), torch=("minimum",), sympy=lambda sp, a, b: sp.Min(a, b),
           micrograd=()),
        # ------------------------------------------------------------ functions of whole arrays
        Op(name="sum", arity=1, params=_AXIS,
           forward=_sum,
           vjps=(lambda g, y, a, axis=None, keepdims=False: _spread(g, a.shape, axis, keepdims),),
           jvps=(_sum_jvp,),
           shape=_reduced_shape, elementwise=False,
           expr=_f("sum($u$p)", r"\sum$p $u"),
           derivs=(_f("1 (for every element)", r"\mathbf{1}"),),
           backward=("the upstream copied back {along}",),
           symbol="Σ",
           description="Sum of all elements, or along `axis`; the gradient is copied to every "
                       "element summed.",
           numpy=("sum",), torch=("sum",), sympy=None, micrograd=()),
        Op(name="mean", arity=1, params=_AXIS,
           forward=_mean,
           vjps=(lambda g, y, a, axis=None, keepdims=False:
                 _spread(g, a.shape, axis, keepdims) / max(_count(a.shape, axis), 1),),
           jvps=(_mean_jvp,),
           shape=_reduced_shape, elementwise=False,
           expr=_f("mean($u$p)", r"\operatorname{mean}$p $u"),
           derivs=(_f("1/n (for every element)", r"\frac{1}{n}\mathbf{1}"),),
           backward=("the upstream copied back {along}, divided by the count",),
           symbol="mean", description="Mean of all elements, or along `axis`.",
           numpy=("mean",), torch=("mean",), sympy=None, micrograd=()),
        Op(name="var", arity=1, params=(*_AXIS, ("ddof", 0)),
           forward=_var, vjps=(_var_vjp,), jvps=(_var_jvp,),
           shape=_reduced_shape, elementwise=False,
           expr=_f("var($u$p)", r"\operatorname{var}$p $u"),
           derivs=(_f("2 ($u - mean($u)) / (n - ddof)",
                      r"\frac{2\,($u - \bar{$u})}{n - \text{ddof}}"),),
           backward=("2 (u - mean(u)) / (n - ddof) times the upstream copied back {along}",),
           symbol="var",
           description="Variance of all elements, or along `axis`: the mean squared distance "
                       "from the mean, divided by n - ddof instead of n when ddof is given.",
           numpy=("var",), torch=("var",), sympy=None, micrograd=()),
        _extreme_entry("amax", "max", "largest", "maximum", np.max),
        _extreme_entry("amin", "min", "smallest", "minimum", np.min),
        Op(name="softmax", arity=1,
           forward=_softmax, vjps=(lambda g, y, a: y * (g - np.sum(g * y)),),
           jvps=(lambda t, y, a: y * (t - np.sum(t * y)),),
           shape=_same, elementwise=False,
           expr=_f("softmax($u)", r"\operatorname{softmax}($u)"),
           derivs=(_f("diag(y) - y y.T", r"\operatorname{diag}(y) - y\,y^{\top}"),),
           backward=("y * (g - sum(g * y)), y the softmax and g the upstream",),
           symbol="softmax", description="exp(u) / sum(exp(u)) over all elements.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        Op(name="logsumexp", arity=1, params=_AXIS,
           forward=_logsumexp_along, vjps=(_logsumexp_vjp,), jvps=(_logsumexp_jvp,),
           shape=_reduced_shape, elementwise=False,
           expr=_f("logsumexp($u$p)", r"\log\sum$p e^{$u}"),
           derivs=(_f("softmax($u)", r"\operatorname{softmax}($u)"),),
           backward=("softmax(u) times the upstream copied back {along}",),
           symbol="logsumexp",
           description="log(sum(exp(u))) over all elements, or along `axis`, computed stably.",
           numpy=(), torch=("logsumexp",), sympy=None, micrograd=()),
        # Along the last axis: a row of a matrix at a time (torch's dim=-1). log_softmax is
        # u - logsumexp_rows(u), softmax its exp (readers/pytorch.py reads them as these parts).
        Op(name="logsumexp_rows", arity=1,
           forward=_logsumexp_rows, vjps=(lambda g, y, a: g * np.exp(a - y),),
           jvps=(lambda t, y, a: np.sum(t * np.exp(a - y), axis=-1, keepdims=True),),
           shape=_row_reduced, elementwise=False,
           expr=_f("logsumexp_rows($u)", r"\log\sum_{\text{row}} e^{$u}"),
           derivs=(_f("softmax($u) along each row", r"\operatorname{softmax}($u)\text{ by row}"),),
           symbol="logsumexp/row",
           description="log(sum(exp(u))) along the last axis (each row of a matrix), computed "
                       "stably; the axis is kept with length 1, so that u - logsumexp_rows(u) is "
                       "log-softmax by row.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        # ------------------------------------------------------------ indexing
        Op(name="index", arity=1, params=(("key", "..."),),
           forward=_index, vjps=(_index_vjp,),
           jvps=(lambda t, y, a, key="...": t[numpy_key(key)],),
           shape=_indexed_shape, elementwise=False,
           expr=_f("$u[$p]"),
           derivs=(_f("1 at each element picked, 0 elsewhere", r"\mathbf{1}_{\text{picked}}"),),
           backward=("the upstream put back at the places picked, zeros elsewhere",),
           symbol="[ ]",
           description="The elements of u a basic index picks: integers, slices (`1:3`, `:`), "
                       "`None` (a new axis), `...`; the gradient goes back to the places they "
                       "were read from, zeros elsewhere.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        # v holds the index arrays (data, never differentiated): the array for one `@`, else
        # one per `@` of the key, stacked on axis 0 (indexing.py).
        Op(name="gather", arity=2, params=(("key", "@"),), data=(1,), rereads=_reads,
           forward=_gather,
           vjps=(_scatter_add, lambda g, y, a, b, key="@": np.zeros(b.shape)),
           jvps=(lambda t, y, a, b, key="@": t[numpy_key(key, b)],
                 lambda t, y, a, b, key="@": np.zeros(y.shape)),
           shape=_gathered_shape, elementwise=False,
           expr=_f("$u[$v]"),
           derivs=(_f("1 at each place read, added up where a place is read again",
                      r"\textstyle\sum_{\text{reads}} \mathbf{1}"),
                   _f("0 (indices are data)", "0")),
           backward=(("a scatter-add: each upstream element added back at the place it was "
                      "read from, a place read twice getting both"),
                     "nothing: indices are data"),
           symbol="[ ]",
           description="The elements of u at the places integer arrays name (`C[X]`, an "
                       "embedding; `p[arange(n), y]`, one per row); the indices are data, not "
                       "differentiated. Its backward is a scatter-add: each upstream element "
                       "goes back to the place it was read from, and a place read twice gets "
                       "both.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        # v lends only its shape (torch's reshape_as): every reshape, view, flatten, squeeze
        # and unsqueeze of a torch model that changes the shape is this op with a constant of
        # the new shape (readers/pytorch.py's RESHAPES names them: the same names keep the shape).
        Op(name="reshape", arity=2,
           forward=_reshape_as,
           vjps=(lambda g, y, a, b: g.reshape(a.shape), lambda g, y, a, b: np.zeros(b.shape)),
           jvps=(lambda t, y, a, b: t.reshape(y.shape), lambda t, y, a, b: np.zeros(y.shape)),
           shape=_reshaped, elementwise=False,
           expr=_f("reshape($u, $v.shape)",
                   r"\operatorname{reshape}($u, \operatorname{shape} $v)"),
           derivs=(_f("1 for each element, at its place in $u",
                      r"\mathbf{1}\text{, reshaped back}"),
                   _f("0 (only its shape is read)", "0")),
           backward=("the upstream reshaped back to the shape of u",
                     "nothing: only its shape is read"),
           symbol="reshape",
           description="The elements of u, in order, in the shape of v (v's values are not "
                       "read); the gradient is reshaped back to u's shape.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        # ------------------------------------------------------------ joining arrays
        # Two arrays at a time: k arrays are k - 1 of these (core/joins.py); torch.cat and
        # torch.stack, np.stack and the like take a list: the readers read them (torch=()).
        Op(name="concatenate", arity=2, params=(("axis", 0),),
           forward=_concatenate, vjps=(_piece(0), _piece(1)),
           jvps=(lambda t, y, a, b, axis=0: _joined(t, np.zeros(b.shape), axis),
                 lambda t, y, a, b, axis=0: _joined(np.zeros(a.shape), t, axis)),
           shape=_joined_shape, elementwise=False,
           expr=_f("concatenate([$u, $v]$p)",
                   r"\operatorname{concatenate}$p\left[$u, $v\right]"),
           derivs=(_f("the upstream cut back to $u's place", r"\bar{g}\text{ at } $u"),
                   _f("the upstream cut back to $v's place", r"\bar{g}\text{ at } $v")),
           # Not `{along}`: the renderers read a missing axis as all axes, and concatenate's
           # default is axis 0.
           backward=("the upstream cut back to u's place in the join (np.split's first piece)",
                     "the upstream cut back to v's place in the join (np.split's second piece)"),
           symbol="concat",
           description="u and v joined along `axis` (0 unless given; None: both flattened), "
                       "their other axes equal; k arrays are k - 1 joins, and stack gives each "
                       "array a new axis (x[None]) first. The gradient is the upstream cut "
                       "back into the pieces (np.split).",
           numpy=("concatenate",), torch=(), sympy=None, micrograd=()),
        # ------------------------------------------------------------ convolution and pooling
        # Cross-correlation, as torch's conv2d computes it; a bias is a separate add.
        _conv_entry(2, "2-D convolution as torch computes it (a cross-correlation: each "
                    "kernel slides over the input without being flipped) of an input (N, C, H, "
                    "W) with weights (O, C, kh, kw), with `stride` and zero `padding`."),
        _conv_entry(1, "1-D convolution as torch computes it (a cross-correlation) of an "
                    "input (N, C, L) with weights (O, C, k), with `stride` and zero "
                    "`padding`."),
        Op(name="max_pool2d", arity=1, params=_POOL,
           forward=_pool(2, "max"), vjps=(_pool_vjp(2, "max"),), jvps=(_pool_jvp(2, "max"),),
           shape=_pool_shape(2, "max_pool2d"), elementwise=False,
           expr=_f("max_pool2d($u$p)", r"\operatorname{maxpool}$p\left($u\right)"),
           derivs=(_f("the upstream routed to each window's maximum in $u (1/k of it to each "
                      "of a k-way tie)",
                      r"\bar{g} \text{ to each window's } \max $u"),),
           backward=("each window's upstream sent to its maximum (split between ties)",),
           symbol="maxpool",
           description="The largest element of each kernel_size window of the last two axes, "
                       "the windows `stride` apart (kernel_size by default), the input padded "
                       "with -inf by `padding`. Backward, each window's gradient is routed to "
                       "its maximum (split evenly between ties, as amax; torch gives it all to "
                       "one of them), added up where windows overlap.",
           numpy=(), torch=("max_pool2d",), sympy=None, micrograd=()),
        # torch.nn.functional.avg_pool2d is not in torch's namespace: readers/pytorch.py reads it.
        Op(name="avg_pool2d", arity=1, params=_POOL,
           forward=_pool(2, "mean"), vjps=(_pool_vjp(2, "mean"),), jvps=(_pool_jvp(2, "mean"),),
           shape=_pool_shape(2, "avg_pool2d"), elementwise=False,
           expr=_f("avg_pool2d($u$p)", r"\operatorname{avgpool}$p\left($u\right)"),
           derivs=(_f("the upstream spread evenly over each window of $u",
                      r"\frac{\bar{g}}{k_h k_w} \text{ over each window of } $u"),),
           backward=("each window's upstream spread evenly over the window",),
           symbol="avgpool",
           description="The mean of each kernel_size window of the last two axes, the windows "
                       "`stride` apart (kernel_size by default), the input padded with 0 by "
                       "`padding` (counted in the mean, as torch's default). Backward, each "
                       "window's gradient is spread evenly over its elements, added up where "
                       "windows overlap.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        # ------------------------------------------------------------ activations, clip, where
        Op(name="clip", arity=1, params=(("min", None), ("max", None)),
           forward=_clip, vjps=(_clip_vjp,), shape=_same, kink=_CLIP_KINK,
           expr=_f("clip($u$p)", r"\operatorname{clip}$p\left($u\right)"),
           derivs=(_f("1 if min <= $u <= max else 0",
                      r"[\,\text{min} \le $u \le \text{max}\,]"),),
           symbol="clip",
           description="u held between min and max (None: no bound); the gradient passes "
                       "where u is inside, bounds included (as torch's clamp), and is 0 outside.",
           numpy=("clip",), torch=("clamp", "clip", "clamp_min", "clamp_max"),
           sympy=_sympy_clip, micrograd=()),
        Op(name="leaky_relu", arity=1, params=(("negative_slope", 0.01),),
           forward=_leaky_relu,
           vjps=(lambda g, y, a, negative_slope=0.01: g * np.where(a > 0, 1.0, negative_slope),),
           shape=_same, kink=_LEAKY_KINK,
           expr=_f("leaky_relu($u$p)", r"\operatorname{leaky\_relu}$p\left($u\right)"),
           derivs=(_f("1 if $u > 0 else negative_slope",
                      r"1 \text{ if } $u > 0 \text{ else negative\_slope}"),),
           symbol="leaky relu",
           description="u where u > 0, else negative_slope * u (0.01 unless given); the slope "
                       "at 0 is negative_slope, as torch's.",
           numpy=(), torch=(),  # F.leaky_relu: readers/pytorch.py reads its slope
           sympy=lambda sp, a, negative_slope=0.01: sp.Piecewise((a, a > 0),
                                                                 (negative_slope * a, True)),
           micrograd=()),
        Op(name="elu", arity=1, params=(("alpha", 1.0),),
           forward=_elu, vjps=(_elu_vjp,), shape=_same, kink=_ELU_KINK,
           expr=_f("elu($u$p)", r"\operatorname{elu}$p\left($u\right)"),
           derivs=(_f("1 if $u > 0 else alpha * exp($u)",
                      r"1 \text{ if } $u > 0 \text{ else } \alpha e^{$u}"),),
           symbol="elu",
           description="u where u > 0, else alpha * (exp(u) - 1) (alpha 1 unless given).",
           numpy=(), torch=(),  # F.elu: readers/pytorch.py reads its alpha
           sympy=lambda sp, a, alpha=1.0: sp.Piecewise((a, a > 0),
                                                       (alpha * (sp.exp(a) - 1), True)),
           micrograd=()),
        Op(name="erf", arity=1,
           forward=_erf, vjps=(lambda g, y, a: g * (2 / math.sqrt(math.pi)) * np.exp(-a * a),),
           shape=_same,
           expr=_f("erf($u)", r"\operatorname{erf}\left($u\right)"),
           derivs=(_f("2/sqrt(pi) * exp(-$u^2)", r"\frac{2}{\sqrt{\pi}} e^{-$u^{2}}"),),
           symbol="erf", description="The error function (2/sqrt(pi)) * integral of "
                                     "exp(-t^2) from 0 to u; exact GELU uses it.",
           numpy=(), torch=("erf",), sympy=lambda sp, a: sp.erf(a), micrograd=()),
        # The condition is data: its gradient is 0 (the plan never sweeps a constant).
        Op(name="where", arity=3, data=(0,),
           forward=_where,
           vjps=(lambda g, y, c, a, b: np.zeros(np.shape(y)),
                 lambda g, y, c, a, b: g * (c != 0), lambda g, y, c, a, b: g * (c == 0)),
           shape=_broadcast3,
           expr=_f("where($u, $v, $w)", r"\operatorname{where}\left($u, $v, $w\right)"),
           derivs=(_f("0 (a condition: data)", "0"),
                   _f("1 where $u is true (not 0), else 0", r"[\,$u \neq 0\,]"),
                   _f("1 where $u is false (0), else 0", r"[\,$u = 0\,]")),
           symbol="where",
           description="v where the condition u holds (is not 0), else w; the gradient goes "
                       "to the one picked, and none to the condition.",
           numpy=("where",), torch=("where",),
           sympy=lambda sp, c, a, b: sp.Piecewise((b, sp.Eq(c, 0)), (a, True)), micrograd=()),
        # ------------------------------------------------------------ writes into arrays, pad
        # x[key] = v as a new array (JAX's x.at[key].set(v)): trace reads numpy code's writes.
        Op(name="index_set", arity=2, params=(("key", "..."),),
           forward=_index_set,
           vjps=(lambda g, y, x, v, key="...": _overwritten(g, numpy_key(key)),
                 lambda g, y, x, v, key="...": _for_value(v.shape, g[numpy_key(key)])),
           jvps=(lambda t, y, x, v, key="...": _overwritten(t, numpy_key(key)),
                 _index_set_place),
           shape=_index_set_shape, elementwise=False,
           expr=_f("$u.at[$p].set($v)", r"$u.\operatorname{at}[$p].\operatorname{set}($v)"),
           derivs=(_f("1 where $u is kept, 0 where it is overwritten",
                      r"\mathbf{1}_{\text{kept}}"),
                   _f("1 at each place written (added up where $v broadcast)",
                      r"\mathbf{1}_{\text{written}}")),
           symbol="[ ]=",
           description="u with v written at the places a basic index names (`x[0] = v`, "
                       "`out[:, t, :] = h`), as a new array: numpy's assignment read as a "
                       "functional update, as JAX's x.at[key].set(v). The gradient of u is the "
                       "upstream with zeros where u was overwritten; v's is the upstream at the "
                       "places written, summed back over the axes v was broadcast along.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        # v holds the index arrays (data, as gather's); w is the value written.
        Op(name="scatter_set", arity=3, params=(("key", "@"),), data=(1,),
           forward=_scatter_set,
           vjps=(_scatter_set_vjp_x, lambda g, y, x, i, v, key="@": np.zeros(i.shape),
                 _scatter_set_vjp_v),
           jvps=(lambda t, y, x, i, v, key="@": t * (_winners(x.shape, key, i)[0] < 0),
                 lambda t, y, x, i, v, key="@": np.zeros(y.shape), _scatter_set_jvp_v),
           shape=_scatter_set_shape, elementwise=False,
           expr=_f("$u.at[$v].set($w)", r"$u.\operatorname{at}[$v].\operatorname{set}($w)"),
           derivs=(_f("1 where $u is kept, 0 where it is overwritten",
                      r"\mathbf{1}_{\text{kept}}"),
                   _f("0 (indices are data)", "0"),
                   _f("1 at the place each element was written to, if no later write "
                      "overwrote it", r"\mathbf{1}_{\text{written last}}")),
           symbol="[ ]=",
           description="u with w written at the places integer arrays or a mask name "
                       "(`dx[np.arange(N), y] -= 1`, `x[x < 0] = 0`), as a new array (JAX's "
                       "x.at[idx].set(w)); the indices are data. A place named twice keeps the "
                       "last write, as numpy's assignment does. The gradient of u is the "
                       "upstream with zeros where u was overwritten; each element of w gets the "
                       "upstream at the place it was written to, or 0 where a later write won.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        Op(name="pad", arity=1, params=(("pad_width", ()),),
           forward=_pad_zeros, vjps=(_unpad,),
           jvps=(lambda t, y, x, pad_width=(): _pad_zeros(t[None], pad_width)[0],),
           shape=_padded_shape, elementwise=False,
           expr=_f("pad($u$p)", r"\operatorname{pad}$p\left($u\right)"),
           derivs=(_f("1 at the places of $u, the padding cut off",
                      r"\mathbf{1}\text{, the padding cut off}"),),
           symbol="pad",
           description="u with zeros added before and after each axis, pad_width giving a "
                       "(before, after) pair per axis (np.pad in its constant mode, with "
                       "zeros); the gradient is the upstream with the padding cut off.",
           numpy=("pad",), torch=(), sympy=None, micrograd=()),
        # ------------------------------------------------------------ backprop ninja: constants
        Op(name="zeros_like", arity=1,
           forward=_zeros_like, vjps=_NINJA_ZERO_VJP, shape=lambda s: s,
           expr=_f("zeros_like($u)", r"\mathbf{0}_{$u}"), derivs=(_f("0"),),
           symbol="0", description="An array of zeros shaped like u (its values are not read); "
                                   "its gradient is 0.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        Op(name="ones_like", arity=1,
           forward=_ones_like, vjps=_NINJA_ZERO_VJP, shape=lambda s: s,
           expr=_f("ones_like($u)", r"\mathbf{1}_{$u}"), derivs=(_f("0"),),
           symbol="1", description="An array of ones shaped like u (its values are not read); "
                                   "its gradient is 0.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        Op(name="onehot", arity=1, params=(("classes", 0),),
           forward=_onehot, vjps=_NINJA_ZERO_VJP, jvps=_NINJA_ZERO_JVP,
           shape=_onehot_shape, elementwise=False,
           expr=_f("onehot($u$p)", r"\operatorname{onehot}$p\left($u\right)"),
           derivs=(_f("0 (indices are piecewise constant)", "0"),),
           symbol="onehot",
           description="For each index k of u, a row of `classes` numbers, 1 at place k and 0 "
                       "elsewhere (torch's F.one_hot, as floats): `onehot(Yb, 27)`; the "
                       "gradient of u is 0.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        Op(name="argmax", arity=1, params=_AXIS,
           forward=_argmax, vjps=_NINJA_ZERO_VJP, jvps=_NINJA_ZERO_JVP,
           shape=_argmax_shape, elementwise=False,
           expr=_f("argmax($u$p)", r"\operatorname{argmax}$p $u"),
           derivs=(_f("0 (an index is piecewise constant)", "0"),),
           symbol="argmax",
           description="The index of the first largest element along `axis` (of the "
                       "flattened array without one), as a number: `onehot(argmax(logits, 1), "
                       "27)` marks where each row's max is; the gradient of u is 0.",
           numpy=(), torch=(), sympy=None, micrograd=()),
        # ---- second order: what the backward graph's kinked local derivatives are made of
        Op(name="sign", arity=1,
           forward=np.sign, vjps=(lambda g, y, a: np.zeros_like(g),), shape=_same,
           expr=_f("sign($u)", r"\operatorname{sign}\left($u\right)"),
           derivs=(_f("0"),),
           symbol="sign",
           description="-1, 0 or 1 as u is negative, 0 or positive (piecewise constant: its "
                       "gradient is 0); abs's, relu's, max's and min's derivatives as nodes of "
                       "a backward graph are written with it.",
           numpy=("sign",), torch=("sign",), sympy=lambda sp, a: sp.sign(a), micrograd=()),
    ]
}

# How Python-like syntax maps onto the table (the parser reads these, and only these).
BINARY_OPERATORS = {"Add": "add", "Sub": "sub", "Mult": "mul", "Div": "div", "Pow": "pow",
                    "MatMult": "matmul"}
FUNCTIONS = {name: op for name, op in OPS.items() if op.syntax == "function"}
# How tightly the operands of a derivative's label d y / d u are written: as a power's base, so
# that d(a + b) brackets its operand and d sin(a) does not.
PARTIAL = OPS["pow"].precedence

