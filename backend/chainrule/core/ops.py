"""The table of primitive operations: the heart of chainrule.

Each entry declares one primitive once: its forward function, one vector-Jacobian product (VJP) per
input, one Jacobian-vector product (JVP) per input for forward mode, the rule for its output shape,
formula templates (plain text and LaTeX) for the node and for its local derivative with respect
to each input, and the texts a reader sees, as data: the node's short symbol (`+`, `×`, `max`,
`σ`) and a one-line description. The parser, the engine, the forward-mode stepper, the API's
`/ops` and the docs all read this table; nothing else knows op names (nor cuts their formulas
into pieces). Adding an op is adding an entry.

Conventions, after HIPS autograd:
- `forward(*args)` sees every argument with a leading batch axis (row b is one evaluation of the
  whole function), so that the finite-difference check runs its 2N evaluations in one pass.
- `vjps[i](g, ans, *args)` gets the upstream gradient `g` (shaped like the output), the op's own
  output `ans` and the inputs, without the batch axis, and returns the contribution to input i
  before broadcasting is undone (`unbroadcast` does that once, for every op).
- `jvps[i](t, ans, *args)` gets the tangent `t` of input i (shaped like that input) and returns its
  contribution to the output's tangent, shaped like the output. An elementwise op's Jacobian is
  diagonal, so its JVP is derived once from its VJP: jvp_i(t) = vjp_i(broadcast_to(t, out_shape));
  only the other ops (matmul, transpose, sum, mean, softmax, logsumexp) declare their own.
- Templates use `$u`, `$v` for the inputs and `$y` for the output (filled by templates.fill, which adds
  only the parentheses precedence needs).
  For a scalar node, the local derivative shown is the VJP applied to g = 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

Shape = tuple[int, ...]
Array = np.ndarray
Vjp = Callable[..., Array]
Jvp = Callable[..., Array]


class Formula(NamedTuple):
    """One formula in two notations: plain text and LaTeX (a named tuple: tens of thousands are
    made for a big graph's records, and a tuple is the quickest to make)."""

    plain: str
    latex: str


@dataclass(frozen=True)
class Kink:
    """Where an op is not differentiable, and the convention its VJPs follow there.

    `where(ans, *args)` marks the elements at the kink. Per input: `rules`, the local
    derivative the VJP takes there, as a formula; `taken`, its value; `left` and `right`, the
    one-sided derivatives it sits between (the input decreasing to, or increasing from, the
    point). `point` says where the kink is, in words.
    """

    where: Callable[..., Array]
    rules: tuple[Formula, ...]
    taken: tuple[float, ...]
    left: tuple[float, ...]
    right: tuple[float, ...]
    point: str


@dataclass(frozen=True)
class Defined:
    """Where a program defined an op of its own: a function with the learner's own derivative
    rule (primitives.py makes its entry)."""

    params: tuple[str, ...]  # the function's parameters, one per operand
    span: tuple[int, int]  # its def, through the end of its return expression
    decorator: tuple[int, int]  # its `@derivative(lambda ...: ...)` line


@dataclass(frozen=True)
class Op:
    """One primitive operation: what it computes, how it differentiates, how it is written."""

    name: str
    arity: int
    forward: Callable[..., Array]
    vjps: tuple[Vjp, ...]
    shape: Callable[..., Shape]
    expr: Formula  # the node itself, e.g. sin($u)
    derivs: tuple[Formula, ...]  # local derivative d y / d input, one per input
    description: str
    symbol: str  # the short label of a node of this op: `+`, `×`, `max`, `σ`
    elementwise: bool = True  # output element i depends only on input element i (after broadcast)
    syntax: str = "function"  # function | infix | prefix | postfix
    jvps: tuple[Jvp, ...] = ()  # forward mode; derived from the VJPs when the op is elementwise
    # The numpy functions that compute this op, for tracing a user's Python function (np.sin,
    # np.maximum, ...); by default the forward's own name when the forward is a numpy ufunc.
    numpy: tuple[str, ...] = ()
    # The torch functions, Tensor methods and operators (reflected dunders swap the operands)
    # that compute it, for reading a PyTorch model (torch_reader.py): `torch.tanh`, `x.tanh()`.
    torch: tuple[str, ...] = ()
    kink: Kink | None = None  # where the derivative is undefined, and the convention there
    # Its symbolic counterpart for the three-ways comparison (methods.py): a function of the
    # sympy module and the operands, or None where it has none (array ops).
    sympy: Callable[..., object] | None = None
    # For an op a program defined (a function with its own @derivative rule); None in the table.
    defined: Defined | None = None
    # Operations applied per element of its output by one forward and one backward step: 1 for
    # the table's ops; a program's primitive runs its body and its rule (graph.py counts it).
    work: int = 1

    def __post_init__(self) -> None:
        if not self.jvps:
            if not self.elementwise:
                raise ValueError(f"{self.name} is not elementwise: declare its JVPs")
            object.__setattr__(self, "jvps", tuple(_diagonal_jvp(v) for v in self.vjps))
        if not self.numpy and isinstance(self.forward, np.ufunc):
            object.__setattr__(self, "numpy", (self.forward.__name__,))


# ---------------------------------------------------------------- helpers shared by every entry


def _diagonal_jvp(vjp: Vjp) -> Jvp:
    """An elementwise op's JVP from its VJP: with a diagonal Jacobian, J t = J^T t."""
    def jvp(t: Array, ans: Array, *args: Array) -> Array:
        out = np.shape(ans)
        return np.array(np.broadcast_to(vjp(np.broadcast_to(t, out), ans, *args), out))
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
    a_vec, b_vec = a.ndim == 2, b.ndim == 2
    out = (a[:, None, :] if a_vec else a) @ (b[:, :, None] if b_vec else b)
    if b_vec:
        out = out[..., 0]
    if a_vec:
        out = out[:, 0]
    return out


def _transpose(x: Array) -> Array:
    return x.transpose((0, *range(x.ndim - 1, 0, -1)))


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
    if b.ndim == 1:
        return np.multiply.outer(g, b) if a.ndim == 2 else g * b
    return g @ b.T if a.ndim == 2 else b @ g


def _matmul_vjp_b(g: Array, ans: Array, a: Array, b: Array) -> Array:
    if a.ndim == 1:
        return np.multiply.outer(a, g) if b.ndim == 2 else g * a
    return a.T @ g


# ---------------------------------------------------------------------- shape rules


def _same(s: Shape) -> Shape:
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
    if not (1 <= len(a) <= 2 and 1 <= len(b) <= 2):
        raise ValueError(
            f"@ needs vectors or matrices, got shapes {list(a)} and {list(b)} (use * for scalars)"
        )
    if a[-1] != b[0]:
        raise ValueError(
            f"@ needs the inner dimensions to agree: {list(a)} @ {list(b)} pairs {a[-1]} with {b[0]}"
        )
    return a[:-1] + b[1:]


def _reduced(s: Shape) -> Shape:
    return ()


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


# ---------------------------------------------------------------------- the table


def _f(plain: str, latex: str | None = None) -> Formula:
    return Formula(plain, plain if latex is None else latex)


def _unary(
    name: str, forward: Callable[[Array], Array], vjp: Vjp, deriv: Formula, description: str,
    latex_name: str | None = None, symbol: str | None = None, kink: Kink | None = None,
    sympy: Callable[..., object] | None = None, torch: tuple[str, ...] | None = None,
) -> Op:
    fn = latex_name or rf"\operatorname{{{name}}}"
    return Op(name, 1, forward, (vjp,), _same, _f(f"{name}($u)", rf"{fn}\left($u\right)"),
              (deriv,), description, symbol or name, kink=kink,
              sympy=sympy or (lambda sp, a: getattr(sp, name)(a)),
              torch=(name,) if torch is None else torch)


def _kink_at_zero(taken: float, left: float, right: float) -> Kink:
    """A one-input op whose derivative jumps at 0 (abs, relu)."""
    return Kink(lambda ans, a: a == 0, (_f(format(taken, "g")),), (taken,), (left,), (right,),
                "at 0")


# max and min at a tie u = v: the gradient is split in half (what a central difference sees).
# For max, raising one input from the tie makes it the maximum (slope 1), lowering it leaves
# the other (slope 0); min the other way round.
_HALF = _f("1/2", r"\tfrac{1}{2}")
_MAX_TIE = Kink(lambda ans, a, b: np.broadcast_to(a == b, np.shape(ans)), (_HALF, _HALF),
                (0.5, 0.5), (0.0, 0.0), (1.0, 1.0), "at a tie")
_MIN_TIE = Kink(lambda ans, a, b: np.broadcast_to(a == b, np.shape(ans)), (_HALF, _HALF),
                (0.5, 0.5), (1.0, 1.0), (0.0, 0.0), "at a tie")


OPS: dict[str, Op] = {
    op.name: op
    for op in [
        Op("add", 2, _binary(np.add), (lambda g, y, a, b: g, lambda g, y, a, b: g), _broadcast,
           _f("$u + $v"), (_f("1"), _f("1")), "Sum of two values.", "+", syntax="infix",
           sympy=lambda sp, a, b: a + b,
           numpy=("add",), torch=("add", "__add__", "__radd__")),
        Op("sub", 2, _binary(np.subtract), (lambda g, y, a, b: g, lambda g, y, a, b: -g),
           _broadcast, _f("$u - $v"), (_f("1"), _f("-1")), "Difference.", "−", syntax="infix",
           sympy=lambda sp, a, b: a - b,
           numpy=("subtract",), torch=("sub", "subtract", "__sub__", "__rsub__")),
        Op("mul", 2, _binary(np.multiply), (lambda g, y, a, b: g * b, lambda g, y, a, b: g * a),
           _broadcast, _f("$u * $v", r"$u \cdot $v"), (_f("$v"), _f("$u")),
           "Product (elementwise for arrays).", "×", syntax="infix",
           sympy=lambda sp, a, b: a * b, numpy=("multiply",),
           torch=("mul", "multiply", "__mul__", "__rmul__")),
        Op("div", 2, _binary(np.divide),
           (lambda g, y, a, b: g / b, lambda g, y, a, b: -g * a / b**2), _broadcast,
           _f("$u / $v", r"\frac{$u}{$v}"),
           (_f("1/$v", r"\frac{1}{$v}"), _f("-$u/$v^2", r"-\frac{$u}{$v^{2}}")),
           "Quotient.", "÷", syntax="infix",
           sympy=lambda sp, a, b: a / b, numpy=("divide",),
           torch=("div", "divide", "true_divide", "__truediv__", "__rtruediv__")),
        Op("pow", 2, _binary(np.power),
           (_pow_vjp_base, _pow_vjp_exponent),
           _broadcast, _f("$u ** $v", "$u^{$v}"),
           (_f("$v * $u ** ($v - 1)", r"$v \cdot $u^{$v - 1}"),
            _f("$u ** $v * log($u)", r"$u^{$v} \ln $u")),
           "Power (`**`, or `^` as people type it).", "^", syntax="infix",
           sympy=lambda sp, a, b: a**b,
           numpy=("power",), torch=("pow", "__pow__", "__rpow__")),
        Op("matmul", 2, _bmatmul, (_matmul_vjp_a, _matmul_vjp_b), _matmul_shape,
           _f("$u @ $v", r"$u \, $v"), (_f("$v.T", "$v^{\\top}"), _f("$u.T", "$u^{\\top}")),
           "Matrix product of vectors and matrices; upstream gradients flow as g @ v.T and u.T @ g.",
           "@", elementwise=False, syntax="infix", numpy=("matmul", "dot"),
           torch=("matmul", "__matmul__", "__rmatmul__", "mm", "mv", "dot"),
           jvps=(lambda t, y, a, b: np.matmul(t, b), lambda t, y, a, b: np.matmul(a, t))),
        Op("neg", 1, np.negative, (lambda g, y, a: -g,), _same, _f("-$u"), (_f("-1"),),
           "Negation.", "−", syntax="prefix",
           sympy=lambda sp, a: -a, torch=("neg", "negative", "__neg__")),
        Op("transpose", 1, _transpose, (lambda g, y, a: g.T,), _reversed,
           _f("$u.T", "$u^{\\top}"), (_f("transpose", r"\top"),),
           "Transpose (reverses the axes); the gradient is transposed back.", "ᵀ",
           elementwise=False, syntax="postfix", numpy=("transpose",), torch=("transpose", "t", "T"),
           jvps=(lambda t, y, a: t.T,)),
        _unary("sin", np.sin, lambda g, y, a: g * np.cos(a), _f("cos($u)", r"\cos $u"),
               "Sine.", r"\sin"),
        _unary("cos", np.cos, lambda g, y, a: -g * np.sin(a), _f("-sin($u)", r"-\sin $u"),
               "Cosine.", r"\cos"),
        _unary("tan", np.tan, lambda g, y, a: g / np.cos(a) ** 2,
               _f("1/cos($u)^2", r"\frac{1}{\cos^{2} $u}"), "Tangent.", r"\tan"),
        _unary("asin", np.arcsin, lambda g, y, a: g / np.sqrt(1 - a**2),
               _f("1/sqrt(1 - $u^2)", r"\frac{1}{\sqrt{1 - $u^{2}}}"), "Arcsine.", r"\arcsin"),
        _unary("acos", np.arccos, lambda g, y, a: -g / np.sqrt(1 - a**2),
               _f("-1/sqrt(1 - $u^2)", r"-\frac{1}{\sqrt{1 - $u^{2}}}"), "Arccosine.",
               r"\arccos"),
        _unary("atan", np.arctan, lambda g, y, a: g / (1 + a**2),
               _f("1/(1 + $u^2)", r"\frac{1}{1 + $u^{2}}"), "Arctangent.", r"\arctan"),
        _unary("sinh", np.sinh, lambda g, y, a: g * np.cosh(a), _f("cosh($u)", r"\cosh $u"),
               "Hyperbolic sine.", r"\sinh"),
        _unary("cosh", np.cosh, lambda g, y, a: g * np.sinh(a), _f("sinh($u)", r"\sinh $u"),
               "Hyperbolic cosine.", r"\cosh"),
        _unary("tanh", np.tanh, lambda g, y, a: g * (1 - y**2),
               _f("1 - tanh($u)^2", r"1 - \tanh^{2} $u"), "Hyperbolic tangent.", r"\tanh"),
        _unary("exp", np.exp, lambda g, y, a: g * y, _f("exp($u)", r"e^{$u}"),
               "Exponential.", r"\exp"),
        _unary("log", np.log, lambda g, y, a: g / a, _f("1/$u", r"\frac{1}{$u}"),
               "Natural logarithm.", r"\ln"),
        _unary("log1p", np.log1p, lambda g, y, a: g / (1 + a),
               _f("1/(1 + $u)", r"\frac{1}{1 + $u}"), "log(1 + u), accurate near 0.",
               sympy=lambda sp, a: sp.log(1 + a)),
        _unary("sqrt", np.sqrt, lambda g, y, a: g / (2 * y),
               _f("1/(2*sqrt($u))", r"\frac{1}{2\sqrt{$u}}"), "Square root.", symbol="√"),
        _unary("abs", np.abs, lambda g, y, a: g * np.sign(a), _f("sign($u)", r"\operatorname{sign} $u"),
               "Absolute value (derivative 0 at 0).", kink=_kink_at_zero(0.0, -1.0, 1.0),
               sympy=lambda sp, a: sp.Abs(a)),
        _unary("sigmoid", _sigmoid, lambda g, y, a: g * y * (1 - y),
               _f("sigmoid($u) * (1 - sigmoid($u))", r"\sigma($u)\,(1 - \sigma($u))"),
               "Logistic sigmoid 1/(1 + exp(-u)).", r"\sigma", "σ",
               sympy=lambda sp, a: 1 / (1 + sp.exp(-a))),
        _unary("relu", lambda a: np.maximum(a, 0.0), lambda g, y, a: g * (a > 0),
               _f("1 if $u > 0 else 0", r"[\,$u > 0\,]"), "max(u, 0) (derivative 0 at 0).",
               kink=_kink_at_zero(0.0, 0.0, 1.0), sympy=lambda sp, a: sp.Max(a, 0)),
        _unary("softplus", lambda a: np.logaddexp(0.0, a), lambda g, y, a: g * _sigmoid(a),
               _f("sigmoid($u)", r"\sigma($u)"), "log(1 + exp(u)), a smooth relu.",
               sympy=lambda sp, a: sp.log(1 + sp.exp(a)),
               torch=()),  # torch's softplus turns linear past a threshold: not this op
        Op("max", 2, _binary(np.maximum),
           (lambda g, y, a, b: g * _tie_share(a, b, y), lambda g, y, a, b: g * _tie_share(b, a, y)),
           _broadcast, _f("max($u, $v)", r"\max($u, $v)"),
           (_f("1 if $u > $v else 0", r"[\,$u > $v\,]"), _f("1 if $v > $u else 0", r"[\,$v > $u\,]")),
           "Elementwise maximum; a tie splits the gradient in half.", "max", numpy=("maximum",),
           torch=("maximum",),
           kink=_MAX_TIE, sympy=lambda sp, a, b: sp.Max(a, b)),
        Op("min", 2, _binary(np.minimum),
           (lambda g, y, a, b: g * _tie_share(a, b, y), lambda g, y, a, b: g * _tie_share(b, a, y)),
           _broadcast, _f("min($u, $v)", r"\min($u, $v)"),
           (_f("1 if $u < $v else 0", r"[\,$u < $v\,]"), _f("1 if $v < $u else 0", r"[\,$v < $u\,]")),
           "Elementwise minimum; a tie splits the gradient in half.", "min", numpy=("minimum",),
           torch=("minimum",),
           kink=_MIN_TIE, sympy=lambda sp, a, b: sp.Min(a, b)),
        Op("sum", 1, lambda a: np.sum(a, axis=_core_axes(a)),
           (lambda g, y, a: np.full(a.shape, g),), _reduced, _f("sum($u)", r"\sum $u"),
           (_f("1 (for every element)", r"\mathbf{1}"),),
           "Sum of all elements; the gradient is copied to every element.", "Σ", elementwise=False,
           numpy=("sum",), torch=("sum",),
           jvps=(lambda t, y, a: np.asarray(np.sum(t)),)),
        Op("mean", 1, lambda a: np.mean(a, axis=_core_axes(a)),
           (lambda g, y, a: np.full(a.shape, g / max(a.size, 1)),), _reduced,
           _f("mean($u)", r"\operatorname{mean} $u"), (_f("1/n (for every element)", r"\frac{1}{n}\mathbf{1}"),),
           "Mean of all elements.", "mean", elementwise=False, numpy=("mean",), torch=("mean",),
           jvps=(lambda t, y, a: np.asarray(np.mean(t)),)),
        Op("softmax", 1, _softmax, (lambda g, y, a: y * (g - np.sum(g * y)),), _same,
           _f("softmax($u)", r"\operatorname{softmax}($u)"),
           (_f("diag(y) - y y.T", r"\operatorname{diag}(y) - y\,y^{\top}"),),
           "exp(u) / sum(exp(u)) over all elements.", "softmax", elementwise=False,
           jvps=(lambda t, y, a: y * (t - np.sum(t * y)),)),
        Op("logsumexp", 1, _logsumexp, (lambda g, y, a: g * np.exp(a - y),), _reduced,
           _f("logsumexp($u)", r"\log\sum e^{$u}"),
           (_f("softmax($u)", r"\operatorname{softmax}($u)"),),
           "log(sum(exp(u))) over all elements, computed stably.", "logsumexp",
           elementwise=False,
           jvps=(lambda t, y, a: np.sum(t * np.exp(a - y)),)),
        # Along the last axis: a row of a matrix at a time (torch's dim=-1). log_softmax is
        # u - logsumexp_rows(u), softmax its exp (torch_reader reads them as these parts).
        Op("logsumexp_rows", 1, _logsumexp_rows, (lambda g, y, a: g * np.exp(a - y),),
           _row_reduced, _f("logsumexp_rows($u)", r"\log\sum_{\text{row}} e^{$u}"),
           (_f("softmax($u) along each row", r"\operatorname{softmax}($u)\text{ by row}"),),
           "log(sum(exp(u))) along the last axis (each row of a matrix), computed stably; the "
           "axis is kept with length 1, so that u - logsumexp_rows(u) is log-softmax by row.",
           "logsumexp/row", elementwise=False,
           jvps=(lambda t, y, a: np.sum(t * np.exp(a - y), axis=-1, keepdims=True),)),
        # v lends only its shape (torch's reshape_as): every reshape, view, flatten, squeeze
        # and unsqueeze of a torch model that changes the shape is this op with a constant of
        # the new shape (torch_reader's RESHAPES names them: the same names keep the shape).
        Op("reshape", 2, _reshape_as,
           (lambda g, y, a, b: g.reshape(a.shape), lambda g, y, a, b: np.zeros(b.shape)),
           _reshaped, _f("reshape($u, $v.shape)", r"\operatorname{reshape}($u, \operatorname{shape} $v)"),
           (_f("1 for each element, at its place in $u", r"\mathbf{1}\text{, reshaped back}"),
            _f("0 (only its shape is read)", "0")),
           "The elements of u, in order, in the shape of v (v's values are not read); the "
           "gradient is reshaped back to u's shape.", "reshape", elementwise=False,
           jvps=(lambda t, y, a, b: t.reshape(y.shape), lambda t, y, a, b: np.zeros(y.shape))),
    ]
}

# How Python-like syntax maps onto the table (the parser reads these, and only these).
BINARY_OPERATORS = {"Add": "add", "Sub": "sub", "Mult": "mul", "Div": "div", "Pow": "pow",
                    "MatMult": "matmul"}
FUNCTIONS = {name: op for name, op in OPS.items() if op.syntax == "function"}
# How tightly each operator binds, for writing formulas with only the parentheses they need.
ATOM = 9  # names, numbers, function calls
PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "matmul": 2, "neg": 3, "pow": 4,
              "transpose": 5}
# Operands that need parentheses even at equal precedence: a - (b - c), a / (b * c), (a ** b) ** c.
TIGHT_OPERAND = {"sub": "v", "div": "v", "matmul": "v", "pow": "u"}
