"""Newton's method beside gradient descent: x -= H⁻¹ g, the Hessian by Hessian-vector
products through the backward graph. On a quadratic it lands on numpy's solve of A x = b in
one step; on Rosenbrock it reaches (1, 1) where gradient descent is still far; each iterate's
Hessian is sympy's there; where H is not positive definite the step is shifted, as it says."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from chainrule.answer.schemas import OptimizeResponse
from chainrule.core.numbers import decode
from chainrule.errors import ChainruleError
from chainrule.examples import EXAMPLES
from chainrule.optimize import optimize
from fastapi.testclient import TestClient

from .oracles import assert_close

X, Y = sp.symbols("x y", real=True)
ROSENBROCK = "(1 - x)**2 + 100*(y - x**2)**2"
ROSENBROCK_SYMPY = (1 - X) ** 2 + 100 * (Y - X ** 2) ** 2


def _quadratic(seed: int, n: int) -> tuple[str, np.ndarray, np.ndarray, float]:
    """f = ½ xᵀAx − bᵀx + c, A symmetric positive definite, as the language's text."""
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    a = m @ m.T + n * np.eye(n)
    b, c = rng.normal(size=n), float(rng.normal())
    source = (f"A = {a.tolist()}\nb = {b.tolist()}\n"
              f"f = 0.5 * sum(x * (A @ x)) - sum(b * x) + {c!r}")
    return source, a, b, c


def _sympy_hessian(expr: sp.Expr, at: dict[str, float]) -> np.ndarray:
    point = {X: at["x"], Y: at["y"]}
    return np.array(sp.hessian(expr, (X, Y)).subs(point).evalf(30), dtype=float)


@pytest.mark.parametrize("seed", range(3))
def test_newton_solves_a_quadratic_in_one_step(seed: int) -> None:
    source, a, b, _ = _quadratic(seed, 4)
    start = {"x": [2.0, -1.0, 0.5, 3.0]}
    result = optimize(source, start, inputs=["x"], method="newton", steps=3)
    assert_close(decode(result.iterations[1].values["x"]), np.linalg.solve(a, b), rtol=1e-9)
    for it in result.iterations:
        assert_close(decode(it.hessian), a, rtol=1e-9)  # ½xᵀAx's Hessian is A everywhere
        assert it.safeguarded is False and it.shift == 0.0
    gd = optimize(source, start, inputs=["x"], method="sgd", learning_rate=0.02, steps=3)
    far = np.linalg.norm(decode(gd.iterations[-1].values["x"]) - np.linalg.solve(a, b))
    assert far > 0.1


def test_newton_reaches_rosenbrocks_minimum_where_sgd_is_still_far() -> None:
    start = {"x": -1.2, "y": 1.0}
    newton = optimize(ROSENBROCK, start, method="newton", steps=25)
    last = newton.iterations[-1]
    assert_close([last.values["x"], last.values["y"]], [1.0, 1.0], rtol=1e-9)
    assert float(last.output) < 1e-20  # type: ignore[arg-type]
    # the largest curvature at the start is about 1530: 1e-3 is a stable rate
    sgd = optimize(ROSENBROCK, start, method="sgd", learning_rate=1e-3, steps=25)
    x, y = (float(sgd.iterations[-1].values[n]) for n in ("x", "y"))  # type: ignore[arg-type]
    assert np.hypot(x - 1, y - 1) > 1.0
    assert np.isfinite(x) and np.isfinite(y)


def test_each_hessian_and_gradient_is_sympys_at_the_iterate() -> None:
    result = optimize(ROSENBROCK, {"x": -1.2, "y": 1.0}, method="newton", steps=8)
    grad = [sp.diff(ROSENBROCK_SYMPY, s) for s in (X, Y)]
    for it in result.iterations:
        at = {n: float(it.values[n]) for n in ("x", "y")}  # type: ignore[arg-type]
        expected = _sympy_hessian(ROSENBROCK_SYMPY, at)
        assert_close(decode(it.hessian), expected, rtol=1e-9, atol=1e-9)
        g = [float(d.subs({X: at["x"], Y: at["y"]})) for d in grad]
        assert_close([it.gradients["x"], it.gradients["y"]], g, rtol=1e-9, atol=1e-9)


def test_each_step_is_the_newton_step_of_the_shifted_hessian() -> None:
    """x² − y² + y⁴ from (1, 0.1): a saddle's neighbourhood, H not positive definite there.
    The safeguard is used exactly where sympy's Hessian has an eigenvalue ≤ 0, the step is
    -(H + λI)⁻¹g with the λ reported, and the path reaches the minimum (0, 1/√2)."""
    expr = X ** 2 - Y ** 2 + Y ** 4
    result = optimize("x**2 - y**2 + y**4", {"x": 1.0, "y": 0.1}, method="newton", steps=12)
    assert result.safeguard is not None and "λ" in result.safeguard
    used = []
    for it, after in zip(result.iterations, result.iterations[1:]):
        at = {n: float(it.values[n]) for n in ("x", "y")}  # type: ignore[arg-type]
        h = _sympy_hessian(expr, at)
        assert it.safeguarded == bool(np.linalg.eigvalsh(h).min() <= 0)
        assert it.safeguarded == (it.shift is not None and it.shift > 0)
        g = np.array([float(sp.diff(expr, s).subs({X: at["x"], Y: at["y"]})) for s in (X, Y)])
        assert it.shift is not None
        step = np.linalg.solve(h + it.shift * np.eye(2), g)
        assert_close([after.values["x"], after.values["y"]],
                     [at["x"] - step[0], at["y"] - step[1]], rtol=1e-9, atol=1e-12)
        used.append(it.safeguarded)
    assert used[0] is True and not all(used)
    last = result.iterations[-1]
    assert_close([last.values["x"], last.values["y"]], [0.0, 2 ** -0.5], rtol=1e-9, atol=1e-12)


def test_other_methods_carry_no_hessian() -> None:
    result = optimize(ROSENBROCK, {"x": -1.2, "y": 1.0}, method="momentum",
                      learning_rate=1e-4, steps=3)
    assert all(it.hessian is None and it.safeguarded is None for it in result.iterations)
    assert result.safeguard is None


def test_newton_over_several_inputs_flattens_them_in_order() -> None:
    """inputs [w, t]: H over (w0, w1, t), the other input held; sympy as the oracle."""
    w0, w1, t, c = sp.symbols("w0 w1 t c", real=True)
    expr = sp.exp(w0 * t) + (w1 - c) ** 2 * t ** 2 + w0 ** 2
    source = "exp(w[0] * t) + (w[1] - c)**2 * t**2 + w[0]**2"
    result = optimize(source, {"w": [0.3, -0.2], "t": 0.8, "c": 1.5}, inputs=["w", "t"],
                      method="newton", steps=2)
    for it in result.iterations:
        wv = decode(it.values["w"])
        point = {w0: wv[0], w1: wv[1], t: float(it.values["t"]), c: 1.5}  # type: ignore[arg-type]
        expected = np.array(sp.hessian(expr, (w0, w1, t)).subs(point).evalf(30), dtype=float)
        assert_close(decode(it.hessian), expected, rtol=1e-9, atol=1e-12)


def test_api_newton(client: TestClient) -> None:
    r = client.post("/api/v1/optimize", json={"source": ROSENBROCK,
                                              "values": {"x": -1.2, "y": 1.0},
                                              "method": "newton", "steps": 10})
    assert r.status_code == 200
    body = r.json()
    assert body["method"] == "newton" and "full step" in body["note"]
    assert np.shape(body["iterations"][0]["hessian"]) == (2, 2)
    assert {"shift", "safeguarded"} <= body["iterations"][0].keys()
    assert np.shape(body["contour"]["z"]) == (40, 40)
    assert OptimizeResponse.model_validate(body).model_dump(mode="json", by_alias=True) == body


@pytest.mark.parametrize(("body", "kind", "words"), [
    ({"source": "sum(w**2)", "values": {"w": [1.0] * 17}, "method": "newton"}, "limit", "16"),
    ({"source": "sum(w**2) + x**2", "values": {"w": [1.0] * 16, "x": 1.0},
      "method": "newton"}, "limit", "17"),
    ({"source": "sum(w) * x", "values": {"w": [1.0, 2.0], "x": 1.0}, "method": "newton",
      "inputs": ["v"]}, "unknown_name", "'v'"),
    ({"source": "x**2", "values": {"x": 1.0}, "method": "Newton"}, "request", ""),
    ({"source": "x**2", "values": {"x": [1.0, 2.0]}, "method": "newton"}, "shape", "scalar"),
])
def test_api_newton_refuses_bad_use(client: TestClient, body: dict, kind: str,
                                    words: str) -> None:
    r = client.post("/api/v1/optimize", json=body)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["kind"] == kind and words in error["message"]


def test_python_api_refuses_an_unknown_method() -> None:
    with pytest.raises(ChainruleError, match="newton"):
        optimize("x**2", {"x": 1.0}, method="bfgs")


def test_the_gallery_example_runs_as_its_preset_says() -> None:
    example = next(e for e in EXAMPLES if e["title"] == "Newton vs gradient descent")
    preset = dict(example["optimize"])  # type: ignore[call-overload]
    compare = preset.pop("compare")
    values = example["values"]
    newton = optimize(str(example["source"]), values, **preset)  # type: ignore[arg-type]
    sgd = optimize(str(example["source"]), values, **{**preset, **compare})  # type: ignore[arg-type]
    a = np.array([[2.0, 1.0], [1.0, 20.0]])  # the quadratic's Hessian
    minimum = np.linalg.solve(a, [2.0, -40.0])  # ∇L = A (x, y) - (2, -40) = 0
    first = newton.iterations[1]
    assert_close([first.values["x"], first.values["y"]], minimum, rtol=1e-9)
    second = sgd.iterations[1]
    assert np.hypot(float(second.values["x"]) - minimum[0],  # type: ignore[arg-type]
                    float(second.values["y"]) - minimum[1]) > 0.5  # type: ignore[arg-type]
