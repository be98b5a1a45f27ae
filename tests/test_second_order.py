"""Second order (issue 30): `grad(L, x)` built as nodes and differentiated again; Hessian-vector
products forward over reverse and reverse over reverse; the Hessian by N of them. Oracles:
sympy's derivatives and central differences of the gradient."""

from __future__ import annotations

import random
from collections.abc import Callable

import chainrule
import numpy as np
import pytest
import sympy as sp
from chainrule import ChainruleError
from chainrule.differentiate import compact_data
from fastapi.testclient import TestClient

X, Y, Z = sp.symbols("x y z")
POINT = {"x": 0.7, "y": -1.3, "z": 0.4}


def _close(got: object, want: object, rel: float = 1e-9) -> None:
    got_a, want_a = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = np.maximum(1.0, np.abs(want_a))
    assert np.all(np.abs(got_a - want_a) <= rel * scale), (got_a, want_a)


# A random corpus of scalar expressions: (the language's text, sympy's expression), over
# functions defined everywhere near the point (log and sqrt of squares plus one).
_UNARY = [("sin({})", sp.sin), ("cos({})", sp.cos), ("tanh({})", sp.tanh), ("exp({})", sp.exp),
          ("sigmoid({})", lambda a: 1 / (1 + sp.exp(-a))), ("atan({})", sp.atan),
          ("log(1 + ({})**2)", lambda a: sp.log(1 + a**2)),
          ("sqrt(2 + ({})**2)", lambda a: sp.sqrt(2 + a**2)), ("softplus({})",
                                                                 lambda a: sp.log(1 + sp.exp(a)))]
_BINARY = [("({}) + ({})", lambda a, b: a + b), ("({}) - ({})", lambda a, b: a - b),
           ("({}) * ({})", lambda a, b: a * b), ("({}) / (2 + ({})**2)",
                                                 lambda a, b: a / (2 + b**2))]


def _random_expr(rng: random.Random, depth: int) -> tuple[str, sp.Expr]:
    if depth == 0 or rng.random() < 0.2:
        name = rng.choice("xyz")
        return name, {"x": X, "y": Y, "z": Z}[name]
    if rng.random() < 0.45:
        text, f = rng.choice(_UNARY)
        a_text, a = _random_expr(rng, depth - 1)
        return text.format(a_text), f(a)
    text, g = rng.choice(_BINARY)
    (a_text, a), (b_text, b) = _random_expr(rng, depth - 1), _random_expr(rng, depth - 1)
    return text.format(a_text, b_text), g(a, b)


def _sympy_hessian(expr: sp.Expr, symbols: list[sp.Symbol], at: dict[str, float]) -> np.ndarray:
    subs = {s: at[str(s)] for s in symbols}
    return np.array([[float(sp.diff(expr, a, b).evalf(30, subs=subs)) for b in symbols]
                     for a in symbols])


@pytest.mark.parametrize("seed", range(12))
def test_hessians_of_random_expressions_equal_sympys(seed: int) -> None:
    text, expr = _random_expr(random.Random(seed), 4)
    text = f"{text} + x * y * z"  # every input used
    got = chainrule.hessian(text, POINT, wrt=["x", "y", "z"])
    _close(got["hessian"], _sympy_hessian(expr + X * Y * Z, [X, Y, Z], POINT))
    for column in got["columns"]:
        _close(column["forward_over_reverse"], column["reverse_over_reverse"], 1e-12)


def test_second_derivative_by_grad_lines_equals_sympys() -> None:
    source = "L = sin(x * y) + x**2\ng = grad(L, x)\nh = grad(g, x)"
    answer = chainrule.backprop(source, x=0.7, y=1.3)
    f = sp.sin(X * Y) + X**2
    at = {X: 0.7, Y: 1.3}
    _close(answer.output.value, float(sp.diff(f, X, X).evalf(30, subs=at)))
    # The output is a grad line: its own gradients are third derivatives.
    _close(answer.gradients["x"], float(sp.diff(f, X, X, X).evalf(30, subs=at)))
    _close(answer.gradients["y"], float(sp.diff(f, X, X, Y).evalf(30, subs=at)))


def test_nested_grad_in_one_expression_equals_sympys() -> None:
    answer = chainrule.backprop("grad(grad(sin(x*y) + x**2, x), x)", x=-0.4, y=2.1)
    f = sp.sin(X * Y) + X**2
    _close(answer.output.value, float(sp.diff(f, X, X).evalf(30, subs={X: -0.4, Y: 2.1})))


def test_grad_of_several_inputs_stacks_them() -> None:
    answer = chainrule.backprop("L = x**3 * y\ng = grad(L, [x, y])\nsum(g * g)", x=1.5, y=-2)
    f = X**3 * Y
    gx, gy = sp.diff(f, X), sp.diff(f, Y)
    at = {X: 1.5, Y: -2}
    _close(answer.output.value, float((gx**2 + gy**2).subs(at)))
    _close(answer.gradients["x"], float(sp.diff(gx**2 + gy**2, X).subs(at)))


# Programs of arrays: (source, values, sympy's L from symbols by name).
def _mat(name: str, rows: int, cols: int) -> sp.Matrix:
    return sp.Matrix(rows, cols, lambda i, j: sp.Symbol(f"{name}_{i}{j}"))


def _vec(name: str, n: int) -> sp.Matrix:
    return sp.Matrix(n, 1, lambda i, _: sp.Symbol(f"{name}_{i}"))


W0 = [[0.3, -0.8], [1.1, 0.5]]
X0 = [0.4, -0.9]
M0 = [[0.2, -0.5, 0.9], [1.2, 0.3, -0.7]]


def _flat_symbols(m: sp.Matrix) -> list[sp.Symbol]:
    return list(m)  # row-major, as chainrule orders an array's elements


def _array_cases() -> list[tuple[str, dict[str, object], list[str], sp.Expr, list[sp.Symbol],
                                 dict[sp.Symbol, float]]]:
    W, x, M = _mat("W", 2, 2), _vec("x", 2), _mat("M", 2, 3)
    at = {**{s: v for s, v in zip(W, np.ravel(W0))}, **{s: v for s, v in zip(x, X0)},
          **{s: v for s, v in zip(M, np.ravel(M0))}}
    h = W * x
    tanh_sum = sum(sp.tanh(e) for e in h) + sum(e**2 for e in x) / 2
    gram = M.T * M
    col_sums = [sum(M[i, j] for i in range(2)) for j in range(3)]
    row_means = [sum(M[i, j] for j in range(3)) / 3 for i in range(2)]
    exps = [sp.exp(e) for e in M]
    lse = sp.log(sum(exps))
    soft = [e / sum(exps) for e in exps]
    weights = [0.5, -1.0, 2.0, 0.3, 0.7, -0.2]
    return [
        ("h = W @ x\nL = sum(tanh(h)) + mean(x**2)", {"W": W0, "x": X0}, ["W", "x"], tanh_sum,
         [*_flat_symbols(W), *x], at),
        ("G = M.T @ M\nL = sum(G * G) / 10", {"M": M0}, ["M"], sum(e**2 for e in gram) / 10,
         _flat_symbols(M), at),
        ("L = sum(sum(M, axis=0) ** 2) + sum(sin(mean(M, axis=1)))", {"M": M0}, ["M"],
         sum(c**2 for c in col_sums) + sum(sp.sin(m) for m in row_means), _flat_symbols(M), at),
        ("L = logsumexp(M) + sum(softmax(M) * c)", {"M": M0, "c": [weights[:3], weights[3:]]},
         ["M"], lse + sum(s * w for s, w in zip(soft, weights)), _flat_symbols(M), at),
        ("L = sum(x @ W) * sum(W @ x)", {"W": W0, "x": X0}, ["W", "x"],
         sum(x.T * W) * sum(W * x), [*_flat_symbols(W), *x], at),
        ("L = sum(exp(M[0]) * M[1]) + sum(M.T[1] ** 3)", {"M": M0}, ["M"],
         sum(sp.exp(M[0, j]) * M[1, j] for j in range(3)) + sum(M[i, 1] ** 3 for i in range(2)),
         _flat_symbols(M), at),
        # a cross entropy's rows: logsumexp along an axis, kept and dropped
        ("L = sum(logsumexp(M, axis=1) * c) + sum(logsumexp(M, axis=0, keepdims=True) ** 2)",
         {"M": M0, "c": weights[:2]}, ["M"],
         sum(sp.log(sum(sp.exp(M[i, j]) for j in range(3))) * weights[i] for i in range(2))
         + sum(sp.log(sum(sp.exp(M[i, j]) for i in range(2))) ** 2 for j in range(3)),
         _flat_symbols(M), at),
    ]


@pytest.mark.parametrize("case", range(7))
def test_hessians_of_array_programs_equal_sympys(case: int) -> None:
    source, values, wrt, expr, symbols, at = _array_cases()[case]
    got = chainrule.hessian(source, values, wrt=wrt)
    want = np.array([[float(sp.diff(expr, a, b).evalf(30, subs=at)) for b in symbols]
                     for a in symbols])
    _close(got["hessian"], want)
    assert got["symmetric"]


def test_kinked_ops_second_derivatives_away_from_the_kink() -> None:
    # relu's, abs's, max's second derivatives are 0 away from their kinks: only the smooth
    # factor's remain.
    source = "L = relu(x) * x**2 + abs(y) * y**2 + max(x, y) * y"
    xr, yr = sp.symbols("x y", real=True)
    f = sp.Max(xr, 0) * xr**2 + sp.Abs(yr) * yr**2 + sp.Max(xr, yr) * yr
    for x0, y0 in [(0.8, -0.6), (-0.8, 0.6), (0.3, 1.2)]:
        got = chainrule.hessian(source, {"x": x0, "y": y0}, wrt=["x", "y"])
        want = [[float(sp.diff(f, a, b).subs({xr: x0, yr: y0})) for b in (xr, yr)]
                for a in (xr, yr)]
        _close(got["hessian"], want)
    second = chainrule.backprop("grad(grad(relu(x), x), x)", x=0.5)
    assert second.output.value == 0.0


def _flat_gradient(source: str, values: dict[str, object]
                   ) -> tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]:
    """The program's gradient as a function of all its inputs' elements in one flat vector
    (the inputs in the order of `values`), and that vector at `values`: for central
    differences of the gradient."""
    names = list(values)
    sizes = [int(np.size(values[n])) for n in names]

    def gradient(at: np.ndarray) -> np.ndarray:
        parts, start = {}, 0
        for name, size in zip(names, sizes):
            parts[name] = at[start:start + size].reshape(np.shape(values[name]))
            start += size
        answer = chainrule.backprop(source, parts, check=False)
        return np.concatenate([np.ravel(answer.gradients[n]) for n in names])

    return gradient, np.concatenate([np.ravel(values[n]) for n in names])


@pytest.mark.parametrize("source,values", [
    ("sin(x*y) + x**2 * exp(y / 3)", {"x": 0.7, "y": 1.3}),
    ("h = W @ x\nL = sum(tanh(h) ** 2)", {"W": W0, "x": X0}),
])
def test_hvps_both_ways_equal_central_differences_of_the_gradient(source: str,
                                                                  values: dict[str, object]) -> None:
    gradient, x0 = _flat_gradient(source, values)
    v = np.random.default_rng(0).normal(size=x0.size)
    got = chainrule.hvp(source, values, v=v, wrt=list(values))
    _close(got["forward_over_reverse"], got["reverse_over_reverse"], 1e-12)

    h = 1e-5
    central = (gradient(x0 + h * v) - gradient(x0 - h * v)) / (2 * h)
    _close(got["forward_over_reverse"], central, 1e-6)
    cost = got["cost"]
    assert cost["forward_over_reverse"]["passes"] == 1
    assert cost["reverse_over_reverse"]["passes"] == 2
    assert cost["forward_over_reverse"]["peak_alive"] > 0


def test_hvp_line_is_reverse_over_reverse() -> None:
    answer = chainrule.backprop("L = x**3 + x * y\nhv = hvp(L, x, 2)", x=1.5, y=0.5)
    _close(answer.output.value, 6 * 1.5 * 2)


def test_backward_nodes_are_marked_and_grouped() -> None:
    data = compact_data("L = sin(x * y) + x**2\ng = grad(L, x)", {"x": 0.7, "y": 1.3})
    nodes, groups = data["columns"]["nodes"], data["groups"]  # type: ignore[index]
    stands_for = nodes["stands_for"]
    assert "backward" in groups["kind"]
    roles = {entry["role"] for entry in stands_for.values()}
    assert {"seed", "local", "product", "gradient"} <= roles
    group = groups["kind"].index("backward")
    assert groups["name"][group] == "grad(L, x)"
    for key, entry in stands_for.items():
        assert int(entry["of"]) < int(key)  # a forward node, made before it
    names = [n for n in nodes["name"] if n]
    assert "g" in names


@pytest.mark.parametrize("source,needle", [
    ("L = x**2\ng = grad(L, 3)", "not a number"),
    ("L = x * y\ng = grad(L, x + y)", "not an expression"),
    ("v = x * y\ng = grad(v * x, q)", "unknown name 'q'"),
    ("L = x * x\ng = grad(L)", "arguments"),
])
def test_bad_grads_are_refused_with_a_span(source: str, needle: str) -> None:
    with pytest.raises(ChainruleError) as err:
        chainrule.backprop(source, x=1.0, y=2.0)
    assert needle in str(err.value)
    assert err.value.span is not None


def test_grad_of_an_array_needs_a_seed() -> None:
    with pytest.raises(ChainruleError) as err:
        chainrule.backprop("v = x * 2\ng = grad(v, x)\nsum(g)", x=[1.0, 2.0])
    assert "seed" in str(err.value) and err.value.span is not None
    seeded = chainrule.backprop("v = x * x\ng = grad(v, x, v)\nsum(g)", x=[1.0, 2.0])
    _close(seeded.output.value, 2 * 1 * 1 + 2 * 2 * 4)  # sum(v * 2x)


def test_unwritable_backward_is_refused_naming_the_op() -> None:
    with pytest.raises(ChainruleError) as err:
        chainrule.backprop("L = sum(amax(x, axis=0))\ng = grad(L, x)\nsum(g)",
                           x=[[1.0, 2.0], [3.0, 0.5]])
    assert "amax" in str(err.value) and err.value.span is not None


def test_hessian_endpoint(client: TestClient) -> None:
    reply = client.post("/api/v1/hessian", json={"source": "sin(x*y) + x**2",
                                                 "values": {"x": 0.7, "y": 1.3}, "v": [1.0, 2.0]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    f = sp.sin(X * Y) + X**2
    want = _sympy_hessian(f, [X, Y], {"x": 0.7, "y": 1.3})
    _close(body["hessian"], want)
    _close(body["hvp"]["reverse_over_reverse"], want @ np.array([1.0, 2.0]))
    assert [c["index"] for c in body["columns"]] == [0, 1]


def test_gallery_examples_build_and_answer(client: TestClient) -> None:
    examples = {e["title"]: e for e in client.get("/api/v1/examples").json()}
    second = examples["Second derivative"]
    answer = chainrule.backprop(second["source"], second["values"])
    f, at = sp.sin(X * Y) + X**2, {X: 0.7, Y: 1.3}
    _close(answer.output.value, float(sp.diff(f, X, X).evalf(30, subs=at)))
    two_ways = examples["Hessian-vector product, two ways"]
    reply = client.post("/api/v1/hessian", json={"source": two_ways["source"],
                                                 "values": two_ways["values"],
                                                 **two_ways["hessian"]})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    g = X**2 * Y + sp.sin(X * Y)
    want = _sympy_hessian(g, [X, Y], {"x": 0.7, "y": 1.3})
    _close(body["hessian"], want)
    _close(body["hvp"]["forward_over_reverse"], want @ np.array([1.0, 2.0]))


def test_a_hessian_names_the_kinks_where_second_derivatives_jump() -> None:
    at_kink = chainrule.hessian("relu(x) * x + max(x, y) * y", {"x": 0.0, "y": 0.0})
    assert {k["op"] for k in at_kink["kinks"]} == {"relu", "max"}
    assert chainrule.hessian("relu(x) * x", {"x": 0.5})["kinks"] == []


@pytest.mark.parametrize("source,values", [
    ("sum(var(M, axis=0, ddof=1) * sin(M[0]))", {"M": [[0.2, 0.5], [1.0, -0.3], [0.4, 0.1]]}),
    ("sum(var(M, axis=1, keepdims=True) * M)", {"M": [[0.2, 0.5], [1.0, -0.3]]}),
    ("sum(leaky_relu(x, 0.2) * x**2) + sum(elu(x, 0.7) * x**3)", {"x": [0.3, -0.6]}),
    ("sum(onehot(argmax(x), 2) * x**2)", {"x": [0.3, -0.6]}),
])
def test_hessians_equal_central_differences_of_the_gradient(source: str,
                                                            values: dict[str, object]) -> None:
    got = chainrule.hessian(source, values)

    gradient, x0 = _flat_gradient(source, values)
    h = 1e-5
    central = np.array([(gradient(x0 + h * e) - gradient(x0 - h * e)) / (2 * h)
                        for e in np.eye(x0.size)]).T
    _close(got["hessian"], central, 1e-6)
