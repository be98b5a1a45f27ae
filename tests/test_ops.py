"""The op table, tested from its entries: every entry's VJPs and JVPs checked against finite
differences, its templates written out with operands, its foreign names looked up and its
sympy counterpart evaluated.

A new op is tested by being added to the table: it needs only a domain (below) if its inputs
must avoid some values. An op with static params (a reduction's axis, keepdims, ddof; a
convolution's or a pooling's stride, padding, kernel_size) is tested with each set `_param_sets`
makes from the names it declares.
"""

from __future__ import annotations

import re
import string

import numpy as np
import pytest
from chainrule.core.ops import (
    ATOM,
    OPS,
    Formula,
    Op,
    check_params,
    unbroadcast,
)
from chainrule.core.templates import Operand, fill, params_operand
from chainrule.readers.micrograd import MICROGRAD_OPS

from .oracles import central_difference

# Inputs inside each op's domain (default: anywhere in [-2, 2], away from kinks at 0).
DOMAINS = {"asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "log": (0.2, 3.0), "sqrt": (0.2, 3.0),
           "log1p": (-0.5, 3.0), "pow": (0.3, 2.0)}
SHAPES = {"matmul": [((3, 2), (2, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)),
                     ((2, 3, 2), (2, 2, 4)), ((2, 3, 2), (2, 4)), ((3, 2), (2, 2, 4)),
                     ((2, 3, 2), (2,)), ((3,), (2, 3, 4)), ((2, 1, 3, 2), (4, 2, 1))],
          "logsumexp_rows": [((3,),), ((2, 3),), ((2, 2, 3),)],
          "reshape": [((2, 3), (6,)), ((6,), (3, 2)), ((3,), (3, 1)), ((2, 1), (2,)),
                      ((), (1, 1))],
          "index": [((2, 3),), ((4,),), ((2, 2, 3),)],
          # gather's second operand: its index arrays, one per `@` of the key, stacked.
          "gather": [((5, 3), (4,)), ((5, 3), (2, 2)), ((4, 5), (2, 4)), ((3, 4), (2,)),
                     ((2, 3, 4), (2, 2))],
          # convolution and pooling: batched (N, C, ...) and unbatched inputs
          "conv2d": [((2, 3, 6, 5), (4, 3, 3, 2)), ((2, 5, 5), (3, 2, 3, 3))],
          "conv1d": [((2, 3, 7), (4, 3, 3)), ((2, 6), (3, 2, 2))],
          "max_pool2d": [((2, 3, 6, 5),), ((2, 5, 7),)],
          "avg_pool2d": [((2, 3, 6, 5),), ((2, 5, 7),)],
          "where": [((), (), ()), ((3,), (3,), ()), ((2, 3), (3,), (2, 1)), ((2, 1), (), (3,))],
          "permute": [((3,),), ((2, 3),), ((2, 3, 4),), ((2, 1, 3, 2),)],
          "concatenate": [((3,), (2,)), ((2, 3), (1, 3)), ((2, 3), (2, 4)), ((2, 2, 3), (2, 1, 3)),
                          ((2, 2), (2, 2)), ((), ())],
          # writes: the array and the value (a scalar, broadcast, with a leading axis of 1);
          # scatter_set's index arrays between them (0s and 1s: places written twice).
          "index_set": [((2, 3), (3,)), ((2, 3), ()), ((2, 3), (2,)), ((2, 3), (1, 3)),
                        ((4,), (2,)), ((2, 2, 3), (2, 1)), ((2, 2, 3), (3,))],
          "scatter_set": [((5, 3), (4,), (4, 3)), ((5, 3), (4,), (3,)), ((4, 5), (2, 4), (4,)),
                          ((4, 5), (2, 4), ()), ((3, 4), (2,), (3, 2)),
                          ((2, 3, 4), (2, 2), (2,)), ((2, 3, 4), (2, 2), (1, 2, 2, 2, 4))]}
# Index keys that fit each shape above (core/indexing.py), and the gather keys by their shapes.
KEYS = {(2, 3): ["0", "-1, 1:", ":, ::2", "None, :, 1"], (4,): ["1:3", "::-1", "None"],
        (2, 2, 3): ["..., 0", "1, ..., :2", ":, None, 1"]}
GATHER_KEYS = {((5, 3), (4,)): ["@"], ((5, 3), (2, 2)): ["@"], ((4, 5), (2, 4)): ["@, @"],
               ((3, 4), (2,)): [":, @"], ((2, 3, 4), (2, 2)): [":, 1, @", "@, 1:"]}
# concatenate's axes by its operands' shapes (None: both flattened, whatever their shapes).
JOIN_AXES = {((3,), (2,)): [{}, {"axis": -1}, {"axis": None}], ((2, 3), (1, 3)): [{}, {"axis": -2}],
             ((2, 3), (2, 4)): [{"axis": 1}, {"axis": -1}, {"axis": None}],
             ((2, 2, 3), (2, 1, 3)): [{"axis": 1}, {"axis": -2}],
             ((2, 2), (2, 2)): [{}, {"axis": 1}], ((), ()): [{"axis": None}]}
SET_KEYS = {((2, 3), (3,)): ["0", "-1"], ((2, 3), ()): ["0", ":, ::2", "None, :, 1"],
            ((2, 3), (2,)): ["-1, 1:", ":, ::2"], ((2, 3), (1, 3)): ["0"],
            ((4,), (2,)): ["1:3", "::2"], ((2, 2, 3), (2, 1)): ["..., 0"],
            ((2, 2, 3), (3,)): [":, 1"]}
SCATTER_KEYS = {((5, 3), (4,), (4, 3)): ["@"], ((5, 3), (4,), (3,)): ["@"],
                ((4, 5), (2, 4), (4,)): ["@, @"], ((4, 5), (2, 4), ()): ["@, @"],
                ((3, 4), (2,), (3, 2)): [":, @"], ((2, 3, 4), (2, 2), (2,)): [":, 1, @"],
                ((2, 3, 4), (2, 2), (1, 2, 2, 2, 4)): ["@, 1:"]}
# permute's new orders of the axes, by its operand's shape.
PERMUTATIONS = {((3,),): [{"axes": (0,)}], ((2, 3),): [{"axes": (1, 0)}],
                ((2, 3, 4),): [{"axes": (0, 2, 1)}, {"axes": (2, 0, 1)}, {"axes": (1, 0, 2)}],
                ((2, 1, 3, 2),): [{"axes": (3, 1, 0, 2)}]}
KEYED = {"gather": GATHER_KEYS, "index_set": SET_KEYS, "scatter_set": SCATTER_KEYS}
ELEMENTWISE_SHAPES = [((),), ((3,),), ((2, 3),)]
BINARY_SHAPES = [((), ()), ((3,), ()), ((2, 3), (3,)), ((2, 1), (1, 3))]


def _sample(op: Op, shape: tuple[int, ...]) -> np.ndarray:
    lo, hi = DOMAINS.get(op.name, (-2.0, 2.0))
    x = np.random.uniform(lo, hi, size=shape)
    if op.name in ("abs", "relu", "max", "min", "leaky_relu", "elu"):
        x = np.where(np.abs(x) < 0.1, 0.5, x)  # keep clear of the kink
    return x


REDUCED_SHAPES = [((),), ((3,),), ((2, 3),), ((2, 2, 3),)]
Params = dict[str, object]


def _param_sets(op: Op, shape: tuple[int, ...]) -> list[Params]:
    """The params an op is checked with on an input of `shape`: the defaults, then each of its
    params at other values (every axis, a negative one, several, keepdims, ddof)."""
    names = dict(op.params)
    if op.name == "index":
        return [{"key": k} for k in KEYS[shape]]
    if "stride" in names:
        return _window_param_sets(op, "kernel_size" in names)
    if "classes" in names:  # onehot: its number of classes has no default
        return [{"classes": 3}, {"classes": 1}]
    sets: list[Params] = [{}]
    if "axis" in names:
        sets += [{"axis": a} for a in range(len(shape))]
        if shape:
            sets.append({"axis": -1, "keepdims": True})
        if len(shape) == 3:
            sets.append({"axis": (0, 2)})
    if "keepdims" in names:
        sets.append({"keepdims": True})
    if "ddof" in names:
        sets += [{**p, "ddof": 1} for p in sets if _count(shape, p.get("axis")) > 1]
    sets += [{name: value} for name, value in _REAL_PARAMS if name in names]
    if "min" in names:
        sets.append({"min": -1, "max": 0.5})
    if op.name == "argmax":  # one axis, or None
        sets = [p for p in sets if not isinstance(p.get("axis"), tuple)]
    if "pad_width" in names and shape:
        sets += [{"pad_width": ((1, 1),) * len(shape)},
                 {"pad_width": tuple((k % 2, 2 - k % 2) for k in range(len(shape)))}]
    return sets


def _window_param_sets(op: Op, pooling: bool) -> list[Params]:
    """A convolution's or a pooling's params: stride 1 and 2, padding 0 and 1, a pair for
    each in 2-D (a pooling's kernel_size has no default: each set names one)."""
    sets: list[Params] = [{}, {"stride": 2}, {"padding": 1}, {"stride": 2, "padding": 1}]
    if op.name.endswith("2d"):
        sets.append({"stride": (2, 1), "padding": (0, 1)})
    if pooling:
        sets = [{"kernel_size": 2}, *({"kernel_size": 3, **p} for p in sets[1:])]
        sets.append({"kernel_size": (2, 3), "stride": 1})
    return sets


# Real-valued params (an activation's slope, clip's bounds) at values other than the default,
# away from the points sampled (clip's bounds are not within 1e-3 of a sample, see _args).
_REAL_PARAMS = [("negative_slope", 0.2), ("negative_slope", -1.5), ("alpha", 0.5),
                ("alpha", 2.0), ("min", -0.5), ("max", 0.25)]


def _count(shape: tuple[int, ...], axis: object) -> int:
    if axis is None:
        return int(np.prod(shape))
    axes = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axes]))  # type: ignore[union-attr]


def _cases() -> list[object]:
    cases: list[object] = []
    for name, op in OPS.items():
        shapes = SHAPES.get(name) or (REDUCED_SHAPES if op.params else BINARY_SHAPES
                                      if op.arity == 2 else ELEMENTWISE_SHAPES)
        for s in shapes:
            sets = [{"key": k} for k in KEYED[name][s]] if name in KEYED else JOIN_AXES[
                s] if name == "concatenate" else PERMUTATIONS[s] if name == "permute" else \
                _param_sets(op, s[0])
            cases += [pytest.param(name, s, p, id=f"{name}-{s}-{p}" if p else f"{name}-{s}")
                      for p in sets]
    return cases


def _args(op: Op, shapes: tuple[tuple[int, ...], ...]) -> list[np.ndarray]:
    """Inputs of these shapes; max and min's apart by 0.3, away from a tie; clip's away from
    its bounds."""
    args = [_sample(op, s) for s in shapes]
    for i in op.data:  # indices: integers in range of the axes they index (the first's length)
        args[i] = np.random.randint(0, 2, size=shapes[i]).astype(float)
    if op.name == "clip":
        args[0] = np.where(np.min(np.abs(args[0][..., None] - [-1, -0.5, 0.25, 0.5]), axis=-1)
                           < 1e-3, 1.7, args[0])
    if op.name in ("max", "min") and shapes[0] == shapes[1]:
        args[1] = args[0] + np.where(np.random.rand(*args[0].shape) < 0.5, 0.3, -0.3)
    return args


@pytest.mark.parametrize(("name", "shapes", "params"), _cases())
def test_vjps_match_finite_differences(name: str, shapes: tuple[tuple[int, ...], ...],
                                       params: Params) -> None:
    op = OPS[name]
    args = _args(op, shapes)
    ans = op.forward(*(a[None] for a in args), **params)[0]
    assert ans.shape == op.shape(*shapes, **params)
    g = np.random.normal(size=ans.shape)
    for i, arg in enumerate(args):
        if i in op.data:  # indices say where, not how much: never differentiated
            assert not np.any(op.vjps[i](g, ans, *args, **params))
            continue

        def f(x: np.ndarray, i: int = i) -> float:
            batch = [(x if j == i else a)[None] for j, a in enumerate(args)]
            return float(np.sum(g * op.forward(*batch, **params)[0]))

        vjp = unbroadcast(arg.shape, np.asarray(op.vjps[i](g, ans, *args, **params)))
        np.testing.assert_allclose(vjp, central_difference(f, arg), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("name", "shapes", "params"), _cases())
def test_jvps_match_finite_differences(name: str, shapes: tuple[tuple[int, ...], ...],
                                       params: Params) -> None:
    op = OPS[name]
    args = _args(op, shapes)
    ans = op.forward(*(a[None] for a in args), **params)[0]
    h = 1e-6
    for i, arg in enumerate(args):
        if i in op.data:
            continue
        t = np.random.normal(size=arg.shape)

        def along(s: float, i: int = i, t: np.ndarray = t) -> np.ndarray:
            return op.forward(*((a + s * t if j == i else a)[None] for j, a in enumerate(args)),
                              **params)[0]

        jvp = np.asarray(op.jvps[i](t, ans, *args, **params))
        assert jvp.shape == ans.shape
        np.testing.assert_allclose(jvp, (along(h) - along(-h)) / (2 * h), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(("name", "shapes", "params"), _cases())
def test_jvps_and_vjps_are_transposes(name: str, shapes: tuple[tuple[int, ...], ...],
                                      params: Params) -> None:
    op = OPS[name]
    args = _args(op, shapes)
    ans = op.forward(*(a[None] for a in args), **params)[0]
    g = np.random.normal(size=ans.shape)
    for i, arg in enumerate(args):
        t = np.random.normal(size=arg.shape)
        vjp = unbroadcast(arg.shape, np.asarray(op.vjps[i](g, ans, *args, **params)))
        np.testing.assert_allclose(np.sum(vjp * t),
                                   np.sum(g * op.jvps[i](t, ans, *args, **params)),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(OPS))
def test_every_entry_has_what_a_newcomer_looks_for(name: str) -> None:
    op = OPS[name]
    assert len(op.vjps) == op.arity == len(op.derivs) == len(op.jvps)
    used = {"$" + c for c in string.ascii_letters if "$" + c in op.expr.plain + op.expr.latex}
    assert used <= {"$u", "$v", "$w", "$p"} and "$u" in op.expr.plain
    # An op with params writes them in its node's formula ($p), and only there (gather's key
    # is written by its data operand, the index arrays in their place: `p[arange(n), y]`).
    assert ("$p" in op.expr.plain and "$p" in op.expr.latex) == bool(op.params and not op.data)
    assert not any("$p" in d.plain + d.latex for d in op.derivs)
    assert op.description.endswith(".") and op.symbol
    for template in (op.expr, *op.derivs):
        assert template.plain and template.latex
    # Its foreign names: a tuple of names (empty where the library has none), and sympy's
    # counterpart or an explicit None.
    for names in (op.numpy, op.torch, op.micrograd):
        assert isinstance(names, tuple) and all(isinstance(n, str) and n for n in names)
    assert op.sympy is None or callable(op.sympy)
    assert op.defined is None and op.work == 1


@pytest.mark.parametrize("name", list(OPS))
def test_notation_follows_syntax(name: str) -> None:
    op = OPS[name]
    assert op.syntax in ("function", "infix", "prefix", "postfix")
    assert (op.precedence == ATOM) == (op.syntax == "function")
    assert op.tight is None or (op.syntax == "infix" and op.tight in ("u", "v"))


def test_a_foreign_name_names_one_entry() -> None:
    for field in ("numpy", "torch", "micrograd"):
        names = [n for op in OPS.values() for n in getattr(op, field)]
        assert len(names) == len(set(names)), field
    assert MICROGRAD_OPS == {"+": "add", "*": "mul", "ReLU": "relu", "tanh": "tanh", "exp": "exp"}


@pytest.mark.parametrize("name", [name for name, op in OPS.items() if op.numpy])
def test_numpy_names_are_numpy_functions(name: str) -> None:
    assert all(callable(getattr(np, n, None)) for n in OPS[name].numpy)


@pytest.mark.parametrize("name", [name for name, op in OPS.items() if op.torch])
def test_torch_names_are_torch_functions_or_tensor_methods(name: str) -> None:
    import torch  # installed by make test (requirements-dev.txt): missing, this fails
    assert all(hasattr(torch, n) or hasattr(torch.Tensor, n) for n in OPS[name].torch)


@pytest.mark.parametrize("name", [name for name, op in OPS.items() if op.sympy is not None])
def test_sympy_counterpart_computes_the_forward(name: str) -> None:
    import sympy as sp  # a dependency of chainrule itself
    op = OPS[name]
    assert op.sympy is not None
    symbols = sp.symbols("a b c")[:op.arity]
    args = [_sample(op, ()) for _ in symbols]
    expr = op.sympy(sp, *symbols)
    value = float(expr.subs(dict(zip(symbols, args))))  # type: ignore[attr-defined]
    assert value == pytest.approx(float(op.forward(*(np.array([a]) for a in args))[0]), rel=1e-12)


# Operands to write templates with: names, a subscripted name (braces in LaTeX) and compound
# formulas that bind loosely (a sum) and tightly (a power).
OPERANDS = [pytest.param(Formula("x", "x"), ATOM, id="name"),
            pytest.param(Formula("w1", "w_{1}"), ATOM, id="subscripted"),
            pytest.param(Formula("a + b", "a + b"), OPS["add"].precedence, id="sum"),
            pytest.param(Formula("a ** 2", "a^{2}"), OPS["pow"].precedence, id="power")]


def _balanced(text: str, pairs: tuple[tuple[str, str], ...]) -> bool:
    for opening, closing in pairs:
        depth = 0
        for piece in re.findall("|".join(re.escape(p) for p in (opening, closing)), text):
            depth += 1 if piece == opening else -1
            if depth < 0:
                return False
        if depth:
            return False
    return True


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize(("operand", "precedence"), OPERANDS)
def test_templates_render_with_any_operand(name: str, operand: Formula, precedence: int) -> None:
    op = OPS[name]
    refs = {slot: Operand(*operand, precedence) for slot in "uvw"[:op.arity]}
    for template, of in ((op.expr, op), *((d, None) for d in op.derivs)):
        filled = fill(template, refs, of)
        for text in filled:
            assert "$" not in text, (template, filled)
            assert operand.plain in filled.plain or "$u" not in template.plain
        assert _balanced(filled.plain, (("(", ")"),))
        latex = filled.latex.replace(r"\{", "").replace(r"\}", "")
        assert _balanced(latex, (("{", "}"), (r"\left", r"\right"))), filled.latex


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


@pytest.mark.parametrize("name", [name for name, op in OPS.items() if "axis" in dict(op.params)])
def test_a_node_formula_writes_its_params(name: str) -> None:
    op = OPS[name]
    x = Operand("a + b", "a + b", OPS["add"].precedence)
    operands = {slot: x for slot in "uv"[:op.arity]}
    param, value = ("axis", 0) if "axis" in dict(op.params) else (op.params[0][0], 2)
    plain, latex = fill(op.expr, {**operands, "p": params_operand(((param, value),))}, op)
    args = ", ".join(["a + b"] * op.arity)
    if name == "concatenate":  # its operands are a list, as numpy's: concatenate([a, b])
        args = "[a + b, a + b]"
    assert plain == f"{op.expr.plain.split('(')[0]}({args}, {param}={value})"
    assert rf"\text{{{param} }}{value}" in latex
    assert fill(op.expr, operands, op).plain == f"{op.expr.plain.split('(')[0]}({args})"


def test_params_are_checked_against_the_entry() -> None:
    assert check_params(OPS["sum"], {"axis": None, "keepdims": False}) == ()
    assert check_params(OPS["var"], {"ddof": 1, "axis": 0}) == (("axis", 0), ("ddof", 1))
    for bad in ({"axis": 1.5}, {"keepdims": 1}, {"dim": 0}, {"axis": True}):
        with pytest.raises(ValueError):
            check_params(OPS["sum"], bad)
    with pytest.raises(ValueError, match="out of bounds"):
        OPS["sum"].shape((2, 3), axis=2)


def test_a_tie_splits_a_reductions_gradient_evenly() -> None:
    a = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]])
    amax = OPS["amax"]
    ans = amax.forward(a[None], axis=1)[0]
    assert amax.vjps[0](np.ones(2), ans, a, axis=1).tolist() == [[0, 0.5, 0.5], [1, 0, 0]]
