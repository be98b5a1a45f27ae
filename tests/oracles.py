"""Independent oracles for gradients: sympy (exact symbolic derivatives), finite differences and
torch autograd."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

SYMPY_FUNCTIONS = {
    "sigmoid": lambda u: 1 / (1 + sp.exp(-u)),
    "relu": lambda u: (u + sp.Abs(u)) / 2,
    "softplus": lambda u: sp.log(1 + sp.exp(u)),
    "log1p": lambda u: sp.log(1 + u),
    "abs": sp.Abs,
    "max": lambda a, b: (a + b + sp.Abs(a - b)) / 2,
    "min": lambda a, b: (a + b - sp.Abs(a - b)) / 2,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
}
TRANSFORMS = (*standard_transformations, convert_xor)


def sympy_gradients(source: str, values: dict[str, float]) -> dict[str, float]:
    """Gradients of a scalar program (lines `name = expr`, last line the output) by sympy."""
    symbols = {name: sp.Symbol(name, real=True) for name in values}
    env: dict[str, object] = {**SYMPY_FUNCTIONS, **symbols}
    expr = None
    for line in filter(None, (ln.strip() for ln in source.replace(";", "\n").splitlines())):
        target, _, rhs = line.rpartition("=") if "=" in line else ("", "", line)
        expr = parse_expr(rhs, local_dict=dict(env), transformations=TRANSFORMS)
        if target.strip():
            env[target.strip()] = expr
    assert expr is not None
    # Exact derivatives, evaluated with 30 digits by mpmath: sympy's own evalf raises its
    # precision adaptively and can take minutes on terms such as Abs(a - b) near a tie.
    names = list(symbols)
    derivatives = [sp.diff(expr, symbols[n]) for n in names]
    with mpmath.workdps(30):
        point = [mpmath.mpf(repr(float(values[n]))) for n in names]
        return {n: float(sp.lambdify([symbols[m] for m in names], d, "mpmath")(*point))
                for n, d in zip(names, derivatives, strict=True)}


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, element by element (f: array -> float)."""
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = h
        e = e.reshape(x.shape)
        grad.reshape(-1)[k] = (f(x + e) - f(x - e)) / (2 * h)
    return grad


def assert_close(actual, expected, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Relative error within rtol (atol guards exact zeros)."""
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=rtol, atol=atol)


# micrograd's own test_more_ops (karpathy/micrograd, test/test_engine.py), as a user pastes it
# into chainrule: the program unchanged but for its Value(...) wrappers.
MORE_OPS_SOURCE = """a = -4.0
b = 2.0
c = a + b
d = a * b + b**3
c += c + 1
c += 1 + c + (-a)
d += d * 2 + (b + a).relu()
d += 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g += 10.0 / f
"""


def more_ops_values() -> tuple[Any, Any, Any]:
    """micrograd's test_more_ops (test/test_engine.py) built with micrograd's own Value: its
    inputs a, b and its output g, before any backward pass."""
    from micrograd.engine import Value

    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return a, b, g


def more_ops_by_micrograd() -> tuple[float, dict[str, float]]:
    """test_more_ops run by micrograd itself: the output g and the gradients of a and b."""
    a, b, g = more_ops_values()
    g.backward()
    return g.data, {"a": a.grad, "b": b.grad}


def torch_autograd(loss_fn: Callable[[], Any], tensors: dict[str, Any]
                   ) -> tuple[float, dict[str, np.ndarray]]:
    """torch's own loss and gradients: `loss.backward()`, then each tensor's `.grad` (the
    tensors' old gradients cleared first)."""
    for tensor in tensors.values():
        tensor.grad = None
    loss = loss_fn()
    loss.backward()
    return float(loss.detach()), {name: t.grad.numpy().copy() for name, t in tensors.items()
                                  if t.grad is not None}
