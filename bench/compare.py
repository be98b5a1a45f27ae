"""chainrule side by side with micrograd, HIPS autograd, sympy's diff and PyTorch (`make bench`).

The same programs, written once as a list of lines `name = a * b`, `a + b`, `a ** k`,
`tanh(a)`, `sin(a)`, rendered for each library: a typical small expression of two inputs, a deep
chain `a{i} = (a{i-1} * 0.5 + x) ** 2` and heavy fan-out `a{i} = a{i-1} * x + x * x` (with only
the +, *, ** by a number that micrograd 0.1.0 knows), and bench/programs.py's chain
`a{i} = sin(a{i-1})` and issue 11's program `x{i} = tanh(x{i-1}) * 0.9 + x0 * 0.1` (micrograd
has neither sin nor tanh), of about 10, 100, 1,000 and 10,000 nodes.
For each library, the time of one gradient from the input values (define-by-run libraries
rebuild their graph each time, so ours rebuilds its graph too), or the exception where it breaks.
Every gradient is compared with ours. Run by bench/run.py in its own process (a library that
overflows the C stack takes only this process down); prints JSON.

    .venv/bin/python bench/compare.py [--quick] [--budget 20] [--programs chain ...] [--sizes 10000]
"""

from __future__ import annotations

import argparse
import gc
import json
import signal
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from chainrule import backprop
from chainrule.core.sweeps import backward, forward
from chainrule.differentiate import compact_data
from chainrule.readers.parsing import parse
from chainrule.readers.program import build_graph

VALUES = {"x": 0.3, "y": 0.7}
# name, op (+, *, ** or a function of one argument: tanh, sin), left, right (a name, a number,
# or None after a function)
Line = tuple[str, str, str, str | float | None]
FUNCTIONS = ("tanh", "sin")


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


def chain(lines: int) -> list[Line]:
    """bench/programs.py's chain `a{i} = sin(a{i-1})`: one node a line, depth = size."""
    return [(f"a{i}", "sin", f"a{i - 1}" if i else "x", None) for i in range(lines)]


def issue_11(lines: int) -> list[Line]:
    """Issue 11's program `x{i} = tanh(x{i-1}) * 0.9 + x0 * 0.1`, x0 named x here (6 nodes a
    line: tanh, two constants, two products, a sum)."""
    out: list[Line] = []
    prev = "x"
    for i in range(lines):
        out += [(f"t{i}", "tanh", prev, None), (f"m{i}", "*", f"t{i}", 0.9),
                (f"n{i}", "*", "x", 0.1), (f"a{i}", "+", f"m{i}", f"n{i}")]
        prev = f"a{i}"
    return out


PROGRAMS: dict[str, tuple[Callable[[int], list[Line]], int]] = {
    # name: (generator, chainrule nodes a line, to turn a node count into lines)
    "typical": (typical, 0), "deep chain": (deep_chain, 5), "fan-out": (fan_out, 3),
    "chain": (chain, 1), "issue 11": (issue_11, 6)}


def inputs(program: list[Line]) -> list[str]:
    used = {str(arg) for _, _, a, b in program for arg in (a, b)}
    return [name for name in VALUES if name in used]


def functions(program: list[Line]) -> set[str]:
    """The functions of one argument the program calls."""
    return {op for _, op, _, _ in program if op in FUNCTIONS}


def source(program: list[Line]) -> str:
    """chainrule's text: one assignment a line, the last one the output."""
    def arg(a: str | float | None) -> str:
        return a if isinstance(a, str) else repr(a)
    return "\n".join(f"{name} = {op}({a})" if op in FUNCTIONS else
                     f"{name} = {arg(a)} {op} {arg(b)}" for name, op, a, b in program)


def run_program(program: list[Line], env: dict[str, Any], power: Callable[[Any, Any], Any],
                calls: dict[str, Callable[[Any], Any]] | None = None) -> Any:
    """Evaluate the lines with whatever numbers `env` holds (Values, tensors, sympy, boxes);
    `calls` gives the library's own tanh and sin."""
    for name, op, a, b in program:
        left = env[a] if isinstance(a, str) else a
        if op in FUNCTIONS:
            env[name] = (calls or {})[op](left)
            continue
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
        grads = backward(graph, forward(graph), record=False).grads
        return {k: float(grads[graph.inputs[k]]) for k in values}
    return gradient


def ours_sweeps(program: list[Line]) -> Callable[[], dict[str, float]]:
    """chainrule's two numeric sweeps alone, on a graph built beforehand."""
    values = {k: VALUES[k] for k in inputs(program)}
    graph = build_graph(parse(source(program)), values)

    def gradient() -> dict[str, float]:
        grads = backward(graph, forward(graph), record=False).grads
        return {k: float(grads[graph.inputs[k]]) for k in values}
    return gradient


def ours_backprop(program: list[Line]) -> Callable[[], dict[str, float]]:
    """The whole `backprop()`: parsing, both sweeps with every step recorded, the check."""
    text = source(program)
    values = {k: VALUES[k] for k in inputs(program)}
    return lambda: {k: float(v) for k, v in backprop(text, values).gradients.items()}


def ours_answer(program: list[Line]) -> Callable[[], dict[str, float]]:
    """The server's answer as data (`compact_data`, what `POST /api/v2/backprop` encodes):
    what `backprop()` computes, without constructing its model."""
    text = source(program)
    values = {k: VALUES[k] for k in inputs(program)}

    def gradient() -> dict[str, float]:
        grads: dict[str, Any] = compact_data(text, values)["gradients"]  # type: ignore[assignment]
        return {k: float(v) for k, v in grads.items()}
    return gradient


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
    import autograd.numpy as anp
    from autograd import grad

    names = inputs(program)
    df = grad(lambda args: run_program(program, dict(zip(names, args, strict=True)),
                                       lambda a, k: a ** k, {"tanh": anp.tanh, "sin": anp.sin}))

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
        out = run_program(program, dict(leaves), lambda a, k: a ** k,
                          {"tanh": torch.tanh, "sin": torch.sin})
        out.backward()
        return {k: float(v.grad) for k, v in leaves.items()}  # type: ignore[arg-type]
    return gradient


def sympy_diff(program: list[Line]) -> Callable[[], dict[str, float]]:
    """The expression is built once (as ours is parsed once); each gradient is `diff` by every
    input, then the derivatives evaluated at the point (`subs`, exact rationals as floats)."""
    import sympy

    names = inputs(program)
    symbols = {k: sympy.Symbol(k) for k in names}
    expr = run_program(program, dict(symbols), lambda a, k: a ** k,
                       {"tanh": sympy.tanh, "sin": sympy.sin})
    point = {symbols[k]: sympy.Float(VALUES[k]) for k in names}

    def gradient() -> dict[str, float]:
        return {k: float(sympy.diff(expr, s).subs(point)) for k, s in symbols.items()}
    return gradient


LIBRARIES: dict[str, Callable[[list[Line]], Callable[[], dict[str, float]]]] = {
    "chainrule engine": ours_engine, "chainrule sweeps": ours_sweeps,
    "chainrule backprop()": ours_backprop, "chainrule answer": ours_answer,
    "micrograd": micrograd, "HIPS autograd": hips_autograd, "sympy diff": sympy_diff,
    "PyTorch CPU": torch_cpu}


# The functions of one argument a library has (every other library has tanh and sin).
KNOWS: dict[str, set[str]] = {"micrograd": set()}


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


MODULES = {"micrograd": "micrograd.engine", "HIPS autograd": "autograd.numpy",
           "sympy diff": "sympy", "PyTorch CPU": "torch"}


def preload(available: dict[str, str]) -> None:
    """Import every installed library, then freeze the objects that exist (`gc.freeze`): the
    collection before each timed run then walks only what the runs made, not the modules of
    torch and sympy (about a second a program and size otherwise, whatever its size)."""
    import importlib

    for lib, module in MODULES.items():
        if available.get(lib):
            importlib.import_module(module)
    gc.collect()
    gc.freeze()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in this (main) thread once `seconds` have passed: sympy's `diff` of a
    deep program can swell for minutes, and that is a result, not a reason to wait."""
    def expired(*_: object) -> None:
        raise TimeoutError(f"one gradient took over {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


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


def measure(sizes: list[int], budget: float, programs: list[str] | None = None
            ) -> list[dict[str, Any]]:
    """Every program (or those named), size and library: seconds per gradient, or the error,
    or why skipped, or what the library lacks."""
    rows: list[dict[str, Any]] = []
    available = versions()
    preload(available)
    for name, (generator, per_line) in PROGRAMS.items():
        if programs and name not in programs:
            continue
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
                missing = functions(program) - KNOWS.get(lib, set(FUNCTIONS))
                if missing:
                    row["unsupported"] = f"has no {', '.join(sorted(missing))}"
                    continue
                before = [r for r in rows[:-1] if r["library"] == lib and r["program"] == name]
                last = before[-1] if before else None
                if last and last.get("seconds", 0) * 10 > budget:
                    row["skipped"] = (f"{last['nodes']:,} nodes took {last['seconds']:.1f} s; "
                                      f"10 times more would exceed {budget:.0f} s")
                    continue
                if last and last.get("error", "").startswith("TimeoutError"):
                    row["skipped"] = f"{last['nodes']:,} nodes took over {budget:.0f} s"
                    continue
                try:
                    with time_limit(budget / 2):
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
    parser.add_argument("--programs", nargs="*", choices=list(PROGRAMS),
                        help="only these programs (all by default)")
    parser.add_argument("--sizes", nargs="*", type=int, help="nodes, about (overrides --quick)")
    args = parser.parse_args()
    sizes = args.sizes or ([10, 100, 1_000] if args.quick else [10, 100, 1_000, 10_000])
    rows = measure(sizes, args.budget, args.programs)
    json.dump({"rows": rows, "versions": versions(),
               "recursion_limit": sys.getrecursionlimit()}, sys.stdout)


if __name__ == "__main__":
    main()
