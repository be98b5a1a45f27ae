"""Gradient descent, as a separate loop around backprop: not part of backprop itself.

Each iteration runs the library's own forward and backward sweeps (engine.forward and
engine.backward) once, on the same built graph with the inputs' new values, to get the gradient;
then the optimizer moves the inputs. Backprop computes derivatives; this loop uses them.

Newton's method (`newton`, for at most MAX_NEWTON input elements) reads the program with its
backward graph built on (analyses/second_order.py): at each iterate one forward sweep gives the
output and the gradient, N forward-over-reverse Hessian-vector products the Hessian, and the
step is x -= H⁻¹ g, the full step. Where H is not positive definite (SAFEGUARD) it is shifted,
H + λI, so the step still goes downhill; each iteration records H and λ.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from .analyses.second_order import SecondOrder, hessian_at, second_order
from .answer.schemas import OptimizeResponse
from .core.graph import Graph, Node
from .core.numbers import all_finite, encode
from .core.sweeps import backward, evaluate_output, forward
from .errors import ChainruleError, Deadline, warning
from .readers.parsing import parse
from .readers.program import build_graph
from .settings import LIMITS, Limits

NOTE = ("Gradient descent is a separate loop: each iteration calls backprop once for the "
        "gradient, then moves the inputs. Backprop itself only computes derivatives.")
GRID = 40
ADAM_EPS = 1e-8
METHODS = ("sgd", "momentum", "adam", "newton")
MAX_NEWTON = 16  # input elements at most: N Hessian-vector products per iteration
NEWTON_NOTE = ("Newton's method is a separate loop too: at each iterate one forward sweep gives "
               "the output and the gradient g, N Hessian-vector products through the backward "
               "graph (forward over reverse) the Hessian H, and the inputs move by -H⁻¹g, the "
               "full step (learning_rate is not used). On a quadratic with H positive definite "
               "that step lands on the minimum at once.")
SAFEGUARD = ("Where the Hessian is not positive definite (its smallest eigenvalue λmin at most "
             "1e-8 × the largest in size), the step is -(H + λI)⁻¹g with λ = 2|λmin| + 1e-3 × "
             "the largest in size (at least 1e-3): the smallest eigenvalue becomes |λmin| plus "
             "that margin, so the step goes downhill and stays as short as the curvature says. "
             "Each iteration's `shift` is its λ (0: H as it is) and `safeguarded` says whether "
             "it was used.")


def optimize(source: str, values: Mapping[str, object] | None = None, *,
             inputs: Sequence[str] | None = None, method: str = "sgd",
             learning_rate: float = 0.1, steps: int = 50, beta: float = 0.9,
             beta2: float = 0.999, contour: bool = True, limits: Limits = LIMITS,
             overrides: Collection[str] | None = None) -> OptimizeResponse:
    """Minimize the program's output over `inputs` (default: all), one backprop per iteration.

    `method` is `sgd` (x -= lr g), `momentum` (v = beta v + g; x -= lr v) or `adam` (beta and
    beta2 are its decay rates). Iteration k's gradient is the one used to make step k + 1.
    `losses` holds the output at every iteration; `iterations` the values and gradients of
    every iteration, or of an even sample of them when the inputs are large (`thinned` says so).
    """
    return OptimizeResponse.model_validate(optimize_data(
        source, values, inputs=inputs, method=method, learning_rate=learning_rate, steps=steps,
        beta=beta, beta2=beta2, contour=contour, limits=limits, overrides=overrides))


def optimize_data(source: str, values: Mapping[str, object] | None = None, *,
                  inputs: Sequence[str] | None = None, method: str = "sgd",
                  learning_rate: float = 0.1, steps: int = 50, beta: float = 0.9,
                  beta2: float = 0.999, contour: bool = True, limits: Limits = LIMITS,
                  deadline: Deadline | None = None, overrides: Collection[str] | None = None,
                  ) -> dict[str, object]:
    """What `optimize()` returns, as plain JSON-ready data (the HTTP route encodes it as is).

    Refused with a `limit` ChainruleError before the first iteration when the descent would
    compute more than the budgets allow (elements x iterations, nodes x iterations).
    """
    if method not in METHODS:
        raise ChainruleError(f"method must be sgd, momentum, adam or newton, not {method!r}",
                             None, "request")
    deadline = deadline or Deadline(limits.max_seconds)
    graph = build_graph(parse(source, limits), values, limits, deadline, overrides)
    graph.require_scalar_output("gradient descent minimizes one number, so it")
    names = _chosen(graph, inputs)
    order = graph.order()
    check_budget(graph, order, steps, limits)
    size = sum(_const(graph, n).size for n in names)
    newton = _Newton.of(source, values, names, size, steps, limits, deadline, overrides) \
        if method == "newton" else None
    recorded = _recorded(size, steps, limits, size * size if newton else 0)
    start = {name: _const(graph, name).copy() for name in graph.inputs}
    state = _State(method, learning_rate, beta, beta2)
    iterations: list[dict[str, object]] = []
    losses: list[object] = []
    warnings: list[dict[str, object]] = list(graph.warnings)  # unused values, constant output
    for k in range(steps + 1):
        current = {name: _const(graph, name) for name in names}
        if newton is None:
            node_values = forward(graph)
            grads = backward(graph, node_values, record=False).grads
            output = node_values[graph.output].reshape(())
            gradients = {n: grads.get(graph.inputs[n], np.zeros(current[n].shape))
                         for n in names}
            bad = _non_finite(output, current, gradients)
        else:
            output, gradients = newton.at(current)
            bad = _non_finite(output, current, gradients) or newton.non_finite()
        losses.append(encode(output))
        if k in recorded or bad or k == steps:
            iterations.append({"k": k, "output": encode(output),
                               "values": {n: encode(v) for n, v in current.items()},
                               "gradients": {n: encode(g) for n, g in gradients.items()},
                               **(newton.recorded() if newton and not bad else
                                  {"hessian": None, "shift": None, "safeguarded": None})})
        if bad:
            warnings.append(warning("non_finite", f"stopped at iteration {k}: {bad} is not "
                                    "finite" + ("" if newton else
                                                " (try a smaller learning rate)")))
            break
        if k < steps:
            moved = newton.step(current) if newton else state.step(current, gradients)
            for name, new in moved.items():
                graph.node(graph.inputs[name]).const = new
    for name, value in start.items():  # leave the graph as it was built
        graph.node(graph.inputs[name]).const = value
    return {
        "method": method, "learning_rate": learning_rate, "steps": steps, "inputs": names,
        "losses": losses, "iterations": iterations,
        "thinned": _thinned_note(iterations, len(losses), names, graph, limits)
        if len(iterations) < len(losses) else None,
        "contour": _contour(graph, order, names, iterations, limits, warnings) if contour
        else None,
        "note": NEWTON_NOTE if newton else NOTE,
        "safeguard": SAFEGUARD if newton else None, "warnings": warnings}


def check_budget(graph: Graph, order: Sequence[Node], steps: int, limits: Limits = LIMITS
                 ) -> None:
    """Refuse, with a `limit` ChainruleError naming the products, a descent over its budgets
    (a primitive's elements and node counted as many times as its body and rule apply ops)."""
    iterations = steps + 1
    elements = sum(map(graph.work, order))
    nodes = sum(map(graph.op_work, order))
    for count, what, budget in ((elements, "numbers", limits.optimize_element_budget),
                                (nodes, "nodes", limits.optimize_node_budget)):
        if count * iterations > budget:
            raise ChainruleError(
                f"gradient descent on this program would compute {count:,} {what} × "
                f"{iterations:,} iterations = {count * iterations:,}; the budget is "
                f"{budget:,} ({what} × iterations): ask for at most "
                f"{max(0, budget // count - 1):,} steps, or a smaller program", None, "limit")


def _recorded(elements: int, steps: int, limits: Limits, extra: int = 0) -> set[int]:
    """The iterations whose values and gradients (and `extra` numbers: Newton's Hessian) are
    kept: all of them while they hold at most `optimize_record_numbers` numbers, else as many
    as fit, evenly spaced from first to last."""
    per_iteration = 2 * elements + extra  # values and gradients
    fit = max(1, limits.optimize_record_numbers // per_iteration)
    if fit >= steps + 1:
        return set(range(steps + 1))
    if fit == 1:
        return {steps}
    return {int(k) for k in np.linspace(0, steps, fit).round()}


def _thinned_note(iterations: list[dict[str, object]], count: int, names: list[str],
                  graph: Graph, limits: Limits) -> str:
    numbers = 2 * sum(_const(graph, n).size for n in names)
    ks = [str(it["k"]) for it in iterations]
    shown = ", ".join(ks) if len(ks) <= 6 else f"{', '.join(ks[:3])}, …, {ks[-1]}"
    return (f"Values and gradients recorded for {len(iterations)} of the {count} iterations "
            f"(k = {shown}): each iteration's are {numbers:,} numbers, and an answer holds at "
            f"most {limits.optimize_record_numbers:,} of them. The output of every iteration is "
            "kept (the loss curve).")


class _State:
    """The optimizer's memory between steps (momentum's velocity, Adam's moments)."""

    def __init__(self, method: str, lr: float, beta: float, beta2: float) -> None:
        self.method, self.lr, self.beta, self.beta2 = method, lr, beta, beta2
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t = 0

    def step(self, x: Mapping[str, np.ndarray], g: Mapping[str, np.ndarray]
             ) -> dict[str, np.ndarray]:
        """The inputs' next values."""
        self.t += 1
        out = {}
        with np.errstate(all="ignore"):
            for name in x:
                m = self.m.get(name, np.zeros_like(g[name]))
                if self.method == "sgd":
                    move = g[name]
                elif self.method == "momentum":
                    move = self.m[name] = self.beta * m + g[name]
                else:
                    self.m[name] = self.beta * m + (1 - self.beta) * g[name]
                    v = self.v[name] = (self.beta2 * self.v.get(name, np.zeros_like(g[name]))
                                        + (1 - self.beta2) * g[name] ** 2)
                    m_hat = self.m[name] / (1 - self.beta ** self.t)
                    v_hat = v / (1 - self.beta2 ** self.t)
                    move = m_hat / (np.sqrt(v_hat) + ADAM_EPS)
                out[name] = x[name] - self.lr * move
        return out


class _Newton:
    """Newton's method: the program with its backward graph (second_order.py), the inputs
    moved in it; the Hessian and the safeguard's shift at the current iterate."""

    def __init__(self, s: SecondOrder, names: list[str]) -> None:
        self.s, self.names = s, names
        self.gradient = np.zeros(s.size)
        self.hessian = np.zeros((s.size, s.size))
        self.shift = 0.0

    @classmethod
    def of(cls, source: str, values: Mapping[str, object] | None, names: list[str], size: int,
           steps: int, limits: Limits, deadline: Deadline,
           overrides: Collection[str] | None) -> _Newton:
        """Refused (a `limit` error) above MAX_NEWTON elements or the budgets, counting each
        iteration as 1 + N sweeps of the program with its backward graph."""
        if size > MAX_NEWTON:
            raise ChainruleError(
                f"Newton's method here takes at most {MAX_NEWTON} input elements (a Hessian "
                f"of N × N by N Hessian-vector products per iteration); the inputs optimized "
                f"({', '.join(names)}) have {size}: name fewer with `inputs`, or use sgd, "
                "momentum or adam", None, "limit")
        s = second_order(source, values, names, limits, deadline, None, overrides)
        check_budget(s.graph, s.graph.order(), (steps + 1) * (1 + size) - 1, limits)
        return cls(s, names)

    def at(self, current: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The output and the gradients at `current`; the Hessian and its shift kept."""
        graph = self.s.graph
        for name in self.names:
            graph.node(graph.inputs[name]).const = current[name]
        values, self.gradient, self.hessian = hessian_at(self.s)
        self.shift = _shift(self.hessian) if all_finite(self.hessian) else 0.0
        parts = self.s.split(self.gradient)
        return values[self.s.output.id].reshape(()), dict(zip(self.names, parts))

    def non_finite(self) -> str | None:
        return None if all_finite(self.hessian) else "the Hessian"

    def recorded(self) -> dict[str, object]:
        return {"hessian": encode(self.hessian), "shift": self.shift,
                "safeguarded": self.shift > 0}

    def step(self, current: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """x - (H + λI)⁻¹ g, per input."""
        x = np.concatenate([np.ravel(current[n]) for n in self.names])
        with np.errstate(all="ignore"):
            move = np.linalg.solve(self.hessian + self.shift * np.eye(self.s.size),
                                   self.gradient)
        return dict(zip(self.names, self.s.split(x - move)))


def _shift(hessian: np.ndarray) -> float:
    """λ of SAFEGUARD: 0 where H is positive definite (its smallest eigenvalue above 1e-8 × the
    largest in size), else 2 |smallest| + 1e-3 × the largest in size (at least 1e-3)."""
    eigenvalues = np.linalg.eigvalsh((hessian + hessian.T) / 2)
    big = max(1.0, float(np.abs(eigenvalues).max()))
    low = float(eigenvalues.min())
    return 0.0 if low > 1e-8 * big else 2 * abs(low) + 1e-3 * big


def _chosen(graph: Graph, inputs: Sequence[str] | None) -> list[str]:
    if not graph.inputs:
        raise ChainruleError("the program has no inputs to optimize: give a value, as in "
                             "`x = 1.5`", None, "request")
    if inputs is None:
        return list(graph.inputs)
    if not inputs:
        raise ChainruleError("`inputs` is empty: name at least one input to optimize", None,
                             "request")
    for name in inputs:
        if name not in graph.inputs:
            raise ChainruleError(f"'{name}' is not an input of the program (its inputs: "
                                 f"{', '.join(graph.inputs)})", None, "unknown_name")
    return list(dict.fromkeys(inputs))


def _const(graph: Graph, name: str) -> np.ndarray:
    value = graph.node(graph.inputs[name]).const
    assert value is not None
    return value


def _non_finite(output: np.ndarray, values: Mapping[str, np.ndarray],
                grads: Mapping[str, np.ndarray]) -> str | None:
    if not all_finite(output):
        return "the output"
    for kind, arrays in (("the value", values), ("the gradient", grads)):
        for name, array in arrays.items():
            if not all_finite(array):
                return f"{kind} of {name}"
    return None


def _contour(graph: Graph, order: list[Node], names: list[str],
             iterations: list[dict[str, object]], limits: Limits,
             warnings: list[dict[str, object]]) -> dict[str, object] | None:
    """The output over a grid of the two scalar inputs, the others held at their start values."""
    scalars = [n for n in names if graph.node(graph.inputs[n]).shape == ()]
    if len(scalars) != 2:
        return None
    total = sum(map(graph.work, order))
    if GRID * GRID * total > limits.max_check_work:
        warnings.append(warning("limit", "the graph is too large for a contour plot"))
        return None
    x, y = scalars
    xs, ys = (_axis([it["values"][n] for it in iterations]) for n in (x, y))  # type: ignore[index]
    grid_x, grid_y = np.meshgrid(xs, ys)  # grid_x[i, j] = xs[j], grid_y[i, j] = ys[i]
    rows = GRID * GRID
    leaves = {}  # the graph holds the starting values again (optimize() restored them)
    for name, node_id in graph.inputs.items():
        base = _const(graph, name)
        leaves[node_id] = np.broadcast_to(base, (rows, *base.shape))
    leaves[graph.inputs[x]] = grid_x.reshape(rows)
    leaves[graph.inputs[y]] = grid_y.reshape(rows)
    out = evaluate_output(graph, leaves, limits.check_chunk_elements)
    z = np.broadcast_to(out.reshape(-1), (rows,)).reshape(GRID, GRID)
    return {"x": x, "y": y, "xs": xs.tolist(), "ys": ys.tolist(), "z": encode(z),
            "note": f"z[i][j] is the output at {y} = ys[i], {x} = xs[j], the other inputs held "
                    f"at their starting values: a {GRID}×{GRID} grid over the range the path "
                    "covers, widened by 50 % on each side, computed in one batched forward pass."}


def _axis(path: list[object]) -> np.ndarray:
    points = np.array([p for p in path if isinstance(p, float)])
    points = points[np.isfinite(points)]
    lo, hi = (float(points.min()), float(points.max())) if points.size else (0.0, 0.0)
    pad = 0.5 * (hi - lo) if hi > lo else max(1.0, abs(lo)) * 0.5
    return np.linspace(lo - pad, hi + pad, GRID)
