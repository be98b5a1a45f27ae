"""chainrule side by side with micrograd, HIPS autograd, sympy's diff and PyTorch (`make bench`).

The same programs, written once as a list of lines `name = a * b`, `a + b`, `a ** k`, rendered
for each library (micrograd 0.1.0 knows only +, *, ** by a number and relu, so the programs use
those): a typical small expression of two inputs, a deep chain `a{i} = (a{i-1} * 0.5 + x) ** 2`
and heavy fan-out `a{i} = a{i-1} * x + x * x`, of about 10, 100, 1,000 and 10,000 nodes.
For each library, the time of one gradient from the input values (define-by-run libraries
rebuild their graph each time, so ours rebuilds its graph too), or the exception where it breaks.
Every gradient is compared with ours. Run by bench/run.py in its own process (a library that
overflows the C stack takes only this process down); prints JSON.

    .venv/bin/python bench/compare.py [--quick] [--budget 20]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from chainrule import backprop
from chainrule.engine import backward, forward
from chainrule.graph import build_graph
from chainrule.parsing import parse

VALUES = {"x": 0.3, "y": 0.7}
Line = tuple[str, str, str, str | float]  # name, op (+, *, **), left, right (a name or a number)


# ---------------------------------------------------------------------------- the programs


def typical(_: int) -> list[Line]:
    """`(x*y + 1)**2 + x**2 * y`: 9 nodes in chainrule, the kind of expression one types."""
    return [("p", "*", "x", "y"), ("q", "+", "p", 1.0), ("r", "**", "q", 2),
            ("s", "**", "x", 2), ("t", "*", "s", "y"), ("out", "+", "r", "t")]


def deep_chain(lines: int) -> list[Line]:
    """`a{i} = (a{i-1} * 0.5 + x) ** 2`: depth grows with the size (5 nodes a line)."""
    out: list[Line] = []
    prev = "x"
    for i in range(lines):
        out += [(f"m{i}", "*", prev, 0.5), (f"s{i}", "+", f"m{i}", "x"),
                (f"a{i}", "**", f"s{i}", 2)]
        prev = f"a{i}"
    return out


def fan_out(lines: int) -> list[Line]:
    """`a{i} = a{i-1} * x + x * x`: x used three times a line (3 nodes a line)."""
    out: list[Line] = []
    prev = "x"
    for i in range(lines):
        out += [(f"m{i}", "*", prev, "x"), (f"q{i}", "*", "x", "x"),
                (f"a{i}", "+", f"m{i}", f"q{i}")]
        prev = f"a{i}"
    return out


PROGRAMS: dict[str, tuple[Callable[[int], list[Line]], int]] = {
    # name: (generator, chainrule nodes a line, to turn a node count into lines)
    "typical": (typical, 0), "deep chain": (deep_chain, 5), "fan-out": (fan_out, 3)}


def inputs(program: list[Line]) -> list[str]:
    used = {str(arg) for _, _, a, b in program for arg in (a, b)}
    return [name for name in VALUES if name in used]


def source(program: list[Line]) -> str:
    """chainrule's text: one assignment a line, the last one the output."""
    def arg(a: str | float) -> str:
        return a if isinstance(a, str) else repr(a)
    return "\n".join(f"{name} = {arg(a)} {op} {arg(b)}" for name, op, a, b in program)


def run_program(program: list[Line], env: dict[str, Any], power: Callable[[Any, Any], Any]
                ) -> Any:
    """Evaluate the lines with whatever numbers `env` holds (Values, tensors, sympy, boxes)."""
    for name, op, a, b in program:
        left = env[a] if isinstance(a, str) else a
        right = env[b] if isinstance(b, str) else b
        env[name] = left + right if op == "+" else left * right if op == "*" else power(left, right)
    return env[program[-1][0]]


# ------------------------------------------------------------------------------ the libraries


def ours_engine(program: list[Line]) -> Callable[[], dict[str, float]]:
    """chainrule's engine: graph from the parsed program, topological order, the two numeric
    sweeps (`record=False`); parsing the text is left out, as the others have no text."""
    tree = parse(source(program))
    values = {k: VALUES[k] for k in inputs(program)}

    def gradient() -> dict[str, float]:
        graph = build_graph(tree, values)
        order = graph.order()
        grads = backward(graph, order, forward(graph, order), record=False).grads
        return {k: float(grads[graph.inputs[k]]) for k in values}
    return gradient


def ours_sweeps(program: list[Line]) -> Callable[[], dict[str, float]]:
    """chainrule's two numeric sweeps alone, on a graph built beforehand."""
    values = {k: VALUES[k] for k in inputs(program)}
    graph = build_graph(parse(source(program)), values)
    order = graph.order()

    def gradient() -> dict[str, float]:
        grads = backward(graph, order, forward(graph, order), record=False).grads
        return {k: float(grads[graph.inputs[k]]) for k in values}
    return gradient


def ours_backprop(program: list[Line]) -> Callable[[], dict[str, float]]:
    """The whole `backprop()`: parsing, both sweeps with every step recorded, the check."""
    text = source(program)
    values = {k: VALUES[k] for k in inputs(program)}
    return lambda: {k: float(v) for k, v in backprop(text, values).gradients.items()}


def micrograd(program: list[Line]) -> Callable[[], dict[str, float]]:
    from micrograd.engine import Value

    names = inputs(program)

    def gradient() -> dict[str, float]:
        leaves = {k: Value(VALUES[k]) for k in names}
        out = run_program(program, dict(leaves), lambda a, k: a ** k)
        out.backward()
        return {k: float(v.grad) for k, v in leaves.items()}
    return gradient


def hips_autograd(program: list[Line]) -> Callable[[], dict[str, float]]:
    from autograd import grad

    names = inputs(program)
    df = grad(lambda args: run_program(program, dict(zip(names, args, strict=True)),
                                       lambda a, k: a ** k))

    def gradient() -> dict[str, float]:
        return {k: float(g) for k, g in zip(names, df(tuple(VALUES[k] for k in names)),
                                            strict=True)}
    return gradient


def torch_cpu(program: list[Line]) -> Callable[[], dict[str, float]]:
    import torch

    torch.set_num_threads(1)
    names = inputs(program)

    def gradient() -> dict[str, float]:
        leaves = {k: torch.tensor(VALUES[k], dtype=torch.float64, requires_grad=True)
                  for k in names}
        out = run_program(program, dict(leaves), lambda a, k: a ** k)
        out.backward()
        return {k: float(v.grad) for k, v in leaves.items()}  # type: ignore[arg-type]
    return gradient


def sympy_diff(program: list[Line]) -> Callable[[], dict[str, float]]:
    """The expression is built once (as ours is parsed once); each gradient is `diff` by every
    input, then the derivatives evaluated at the point (`subs`, exact rationals as floats)."""
    import sympy

    names = inputs(program)
    symbols = {k: sympy.Symbol(k) for k in names}
    expr = run_program(program, dict(symbols), lambda a, k: a ** k)
    point = {symbols[k]: sympy.Float(VALUES[k]) for k in names}

    def gradient() -> dict[str, float]:
        return {k: float(sympy.diff(expr, s).subs(point)) for k, s in symbols.items()}
    return gradient


LIBRARIES: dict[str, Callable[[list[Line]], Callable[[], dict[str, float]]]] = {
    "chainrule engine": ours_engine, "chainrule sweeps": ours_sweeps,
    "chainrule backprop()": ours_backprop,
    "micrograd": micrograd, "HIPS autograd": hips_autograd, "sympy diff": sympy_diff,
    "PyTorch CPU": torch_cpu}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for lib, dist in [("micrograd", "micrograd"), ("HIPS autograd", "autograd"),
                      ("sympy diff", "sympy"), ("PyTorch CPU", "torch")]:
        try:
            out[lib] = version(dist)
        except PackageNotFoundError:
            out[lib] = ""
    return out


# --------------------------------------------------------------------------------- timing


def time_gradient(fn: Callable[[], dict[str, float]], budget: float) -> tuple[float, dict[str, float]]:
    """Median of up to 5 runs, fewer when one run is long (at most about `budget` seconds)."""
    times: list[float] = []
    result: dict[str, float] = {}
    while len(times) < 5 and sum(times) < budget / 3:
        gc.collect()
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def measure(sizes: list[int], budget: float) -> list[dict[str, Any]]:
    """Every program, size and library: seconds per gradient, or the error, or why skipped."""
    rows: list[dict[str, Any]] = []
    available = versions()
    for name, (generator, per_line) in PROGRAMS.items():
        for size in ([10] if name == "typical" else sizes):
            program = generator(max(1, size // per_line) if per_line else 0)
            nodes = len(build_graph(parse(source(program)), {k: VALUES[k] for k in
                                                             inputs(program)}).nodes)
            reference: dict[str, float] | None = None
            for lib, make in LIBRARIES.items():
                row: dict[str, Any] = {"program": name, "size": size, "nodes": nodes,
                                       "lines": len(program), "library": lib}
                rows.append(row)
                if lib in available and not available[lib]:
                    row["error"] = "not installed"
                    continue
                before = [r for r in rows[:-1] if r["library"] == lib and r["program"] == name]
                last = before[-1] if before else None
                if last and last.get("seconds", 0) * 10 > budget:
                    row["skipped"] = (f"{last['nodes']:,} nodes took {last['seconds']:.1f} s; "
                                      f"10 times more would exceed {budget:.0f} s")
                    continue
                try:
                    seconds, grads = time_gradient(make(program), budget)
                except Exception as exc:  # noqa: BLE001 (where a library breaks is the result)
                    first = (str(exc).splitlines() or [""])[0][:80]
                    row["error"] = f"{type(exc).__name__}: {first}"
                    continue
                row["seconds"] = seconds
                if reference is None:
                    reference = grads
                row["max_rel_diff"] = max(abs(grads[k] - reference[k]) / max(1e-300, abs(
                    reference[k])) for k in reference)
                print(f"{name:10} {nodes:>6,} {lib:22} {seconds * 1000:10.3f} ms",
                      file=sys.stderr, flush=True)
            for row in rows:
                if row["program"] == name and row["size"] == size and "error" in row:
                    print(f"{name:10} {nodes:>6,} {row['library']:22} {row['error']}",
                          file=sys.stderr, flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="up to 1,000 nodes")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds one (library, size) may take, about")
    args = parser.parse_args()
    sizes = [10, 100, 1_000] if args.quick else [10, 100, 1_000, 10_000]
    rows = measure(sizes, args.budget)
    json.dump({"rows": rows, "versions": versions(),
               "recursion_limit": sys.getrecursionlimit()}, sys.stdout)


if __name__ == "__main__":
    main()
