"""The op table: every entry's VJPs checked against finite differences, automatically.

A new op is tested by being added to the table: it needs only a domain (below) if its inputs
must avoid some values.
"""

from __future__ import annotations

import string

import numpy as np
import pytest
from chainrule.core.ops import OPS, Op, unbroadcast

from .oracles import central_difference

# Inputs inside each op's domain (default: anywhere in [-2, 2], away from kinks at 0).
DOMAINS = {"asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "log": (0.2, 3.0), "sqrt": (0.2, 3.0),
           "log1p": (-0.5, 3.0), "pow": (0.3, 2.0)}
SHAPES = {"matmul": [((3, 2), (2, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,))],
          "logsumexp_rows": [((3,),), ((2, 3),), ((2, 2, 3),)],
          "reshape": [((2, 3), (6,)), ((6,), (3, 2)), ((3,), (3, 1)), ((2, 1), (2,)),
                      ((), (1, 1))]}
ELEMENTWISE_SHAPES = [((),), ((3,),), ((2, 3),)]
BINARY_SHAPES = [((), ()), ((3,), ()), ((2, 3), (3,)), ((2, 1), (1, 3))]


def _sample(op: Op, shape: tuple[int, ...]) -> np.ndarray:
    lo, hi = DOMAINS.get(op.name, (-2.0, 2.0))
    x = np.random.uniform(lo, hi, size=shape)
    if op.name in ("abs", "relu", "max", "min"):
        x = np.where(np.abs(x) < 0.1, 0.5, x)  # keep clear of the kink
    return x


def _cases() -> list[tuple[str, tuple[tuple[int, ...], ...]]]:
    cases = []
    for name, op in OPS.items():
        shapes = SHAPES.get(name) or (BINARY_SHAPES if op.arity == 2 else ELEMENTWISE_SHAPES)
        cases += [(name, s) for s in shapes]
    return cases


@pytest.mark.parametrize(("name", "shapes"), _cases())
def test_vjps_match_finite_differences(name: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    op = OPS[name]
    args = [_sample(op, s) for s in shapes]
    if name in ("max", "min"):
        args[1] = args[0] + np.where(np.random.rand(*args[0].shape) < 0.5, 0.3, -0.3) \
            if shapes[0] == shapes[1] else args[1]
    ans = op.forward(*(a[None] for a in args))[0]
    g = np.random.normal(size=ans.shape)
    for i, arg in enumerate(args):
        def f(x: np.ndarray, i: int = i) -> float:
            batch = [(x if j == i else a)[None] for j, a in enumerate(args)]
            return float(np.sum(g * op.forward(*batch)[0]))

        vjp = unbroadcast(arg.shape, np.asarray(op.vjps[i](g, ans, *args)))
        np.testing.assert_allclose(vjp, central_difference(f, arg), rtol=1e-5, atol=1e-7)


def _args(op: Op, shapes: tuple[tuple[int, ...], ...]) -> list[np.ndarray]:
    args = [_sample(op, s) for s in shapes]
    if op.name in ("max", "min") and shapes[0] == shapes[1]:
        args[1] = args[0] + np.where(np.random.rand(*args[0].shape) < 0.5, 0.3, -0.3)
    return args


@pytest.mark.parametrize(("name", "shapes"), _cases())
def test_jvps_match_finite_differences(name: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    op = OPS[name]
    args = _args(op, shapes)
    ans = op.forward(*(a[None] for a in args))[0]
    h = 1e-6
    for i, arg in enumerate(args):
        t = np.random.normal(size=arg.shape)

        def along(s: float, i: int = i, t: np.ndarray = t) -> np.ndarray:
            return op.forward(*((a + s * t if j == i else a)[None] for j, a in enumerate(args)))[0]

        jvp = np.asarray(op.jvps[i](t, ans, *args))
        assert jvp.shape == ans.shape
        np.testing.assert_allclose(jvp, (along(h) - along(-h)) / (2 * h), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("name", "shapes"), _cases())
def test_jvps_and_vjps_are_transposes(name: str, shapes: tuple[tuple[int, ...], ...]) -> None:
    op = OPS[name]
    args = _args(op, shapes)
    ans = op.forward(*(a[None] for a in args))[0]
    g = np.random.normal(size=ans.shape)
    for i, arg in enumerate(args):
        t = np.random.normal(size=arg.shape)
        vjp = unbroadcast(arg.shape, np.asarray(op.vjps[i](g, ans, *args)))
        np.testing.assert_allclose(np.sum(vjp * t), np.sum(g * op.jvps[i](t, ans, *args)),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(OPS))
def test_every_entry_is_complete(name: str) -> None:
    op = OPS[name]
    assert len(op.vjps) == op.arity == len(op.derivs) == len(op.jvps)
    used = {"$" + c for c in string.ascii_letters if "$" + c in op.expr.plain + op.expr.latex}
    assert used <= {"$u", "$v"} and "$u" in op.expr.plain
    assert op.description


def test_unbroadcast_sums_stretched_axes() -> None:
    g = np.ones((2, 3))
    assert unbroadcast((3,), g).tolist() == [2.0, 2.0, 2.0]
    assert unbroadcast((2, 1), g).tolist() == [[3.0], [3.0]]
    assert unbroadcast((), g) == 6.0


def test_power_with_zero_base_or_zero_exponent_has_finite_slopes() -> None:
    pow_ = OPS["pow"]
    a, b = np.array([0.0, 0.0, 2.0]), np.array([0.0, 2.0, 0.0])
    ans, g = a**b, np.ones(3)
    assert pow_.vjps[0](g, ans, a, b).tolist() == [0.0, 0.0, 0.0]  # d(x**0)/dx = 0, at 0 too
    assert pow_.vjps[1](g, ans, a, b).tolist() == [0.0, 0.0, np.log(2.0)]  # d(0**y)/dy = 0
