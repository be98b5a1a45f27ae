"""The figures of docs/benchmarks.md (matplotlib, Agg backend, small PNGs in docs/img/)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

DPI = 100
SHAPE_COLORS = {"chain": "tab:blue", "wide sum": "tab:orange", "fan-out": "tab:green",
                "issue 11": "tab:red", "deep chain": "tab:blue"}


def _save(fig: Any, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path.name


def _loglog(ax: Axes, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)


def _linear_guide(ax: Axes, xs: Sequence[float], y0: float, label: str = "linear") -> None:
    """A dashed line of slope 1 on log-log axes through (xs[0], y0)."""
    ax.plot([xs[0], xs[-1]], [y0, y0 * xs[-1] / xs[0]], "k--", lw=0.8, alpha=0.5, label=label)


def scaling(rows: list[Any], path: Path) -> str:
    """Time of forward, backward, backprop() and HTTP (compact and v1) against nodes, one
    panel a shape; each phase where it was timed."""
    shapes = list(dict.fromkeys(r.shape for r in rows if r.times))
    fig, axes = plt.subplots(1, len(shapes), figsize=(3.2 * len(shapes), 3.6), sharey=True)
    phases = [("forward", "tab:blue"), ("backward", "tab:red"),
              ("backward+records", "tab:purple"), ("backprop()", "tab:gray"),
              ("HTTP", "black"), ("HTTP v1", "tab:brown")]
    for ax, shape in zip(axes, shapes, strict=True):
        done = [r for r in rows if r.shape == shape and r.times]
        for phase, color in phases:
            mine = [r for r in done if phase in r.times]
            ax.plot([r.nodes for r in mine], [r.times[phase] * 1000 for r in mine], "o-",
                    color=color, ms=3, label="HTTP v2" if phase == "HTTP" else phase)
        _linear_guide(ax, [r.nodes for r in done], done[0].times["HTTP"] * 1000)
        _loglog(ax, "nodes", "ms" if ax is axes[0] else "", shape)
    axes[0].legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def ratio(rows: list[Any], path: Path) -> str:
    """backward / forward against nodes: numeric sweep and with the step records."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for shape in dict.fromkeys(r.shape for r in rows if r.times):
        done = [r for r in rows if r.shape == shape and r.times and "forward" in r.times]
        xs = [r.nodes for r in done]
        color = SHAPE_COLORS.get(shape)
        axes[0].plot(xs, [r.times["backward"] / r.times["forward"] for r in done], "o-",
                     color=color, label=shape)
        axes[1].plot(xs, [r.times["backward+records"] / r.times["forward"] for r in done], "o-",
                     color=color, label=shape)
    axes[0].axhline(3, color="tab:red", ls="--", lw=1, label="target 3×")
    axes[0].set_ylim(0, 4)
    axes[0].set_title("backward / forward, numeric sweep", fontsize=10)
    axes[1].set_title("backward with step records / forward", fontsize=10)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("nodes")
        ax.grid(True, alpha=0.3)
    axes[1].set_ylim(bottom=0)
    axes[0].legend(fontsize=7)
    return _save(fig, path)


def json_size(rows: list[Any], path: Path) -> str:
    """Bytes of the HTTP answer against nodes: compact (raw and gzip) and v1 records (raw)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for shape in dict.fromkeys(r.shape for r in rows if r.times):
        done = [r for r in rows if r.shape == shape and r.times]
        color = SHAPE_COLORS.get(shape)
        ax.plot([r.nodes for r in done], [r.json_bytes / 1e6 for r in done], "o-",
                color=color, label=f"{shape}, compact")
        ax.plot([r.nodes for r in done], [r.wire_bytes / 1e6 for r in done], "o:",
                color=color, ms=3)
        v1 = [r for r in done if r.v1_json_bytes]
        ax.plot([r.nodes for r in v1], [r.v1_json_bytes / 1e6 for r in v1], "s--",
                color=color, ms=3)
    first = next(r for r in rows if r.times)
    _linear_guide(ax, [first.nodes, max(r.nodes for r in rows if r.times)],
                  first.json_bytes / 1e6 * 0.6, "linear (slope 1)")
    _loglog(ax, "nodes", "MB", "Answer size: compact (solid), gzip (dotted), v1 (dashed)")
    ax.legend(fontsize=7)
    return _save(fig, path)


def finite_differences(checks: list[Any], path: Path) -> str:
    """Backprop's two passes against 2N evaluations, vectorized and naive."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ns = [c.n for c in checks]
    ax.plot(ns, [c.backprop_t * 1000 for c in checks], "o-", color="tab:red",
            label="backprop: forward + backward")
    ax.plot(ns, [c.vector_t * 1000 for c in checks], "s-", color="tab:blue",
            label="finite differences, vectorized")
    ax.plot(ns, [(c.naive_t or float("nan")) * 1000 for c in checks], "^--", color="tab:gray",
            label="finite differences, naive loop")
    _loglog(ax, "N (input elements)", "ms", "Gradient of sum(x * sin(x)), x of N elements")
    ax.legend(fontsize=7)
    return _save(fig, path)


def libraries(rows: list[dict[str, Any]], path: Path) -> str:
    """Time per gradient against nodes, one panel a program, a cross where a library broke."""
    programs = [p for p in dict.fromkeys(r["program"] for r in rows) if p != "typical"]
    libs = list(dict.fromkeys(r["library"] for r in rows))
    known = {"chainrule engine": ("o-", "tab:red"), "chainrule sweeps": ("o:", "tab:red"),
             "chainrule answer": ("o-.", "tab:purple"), "chainrule backprop()": ("o--", "tab:pink"),
             "micrograd": ("s-", "black"), "HIPS autograd": ("^-", "tab:blue"),
             "sympy diff": ("D-", "tab:green"), "PyTorch CPU": ("v-", "tab:orange")}
    styles = {lib: known.get(lib, ("x-", "tab:gray"))[0] for lib in libs}
    colors = {lib: known.get(lib, ("x-", "tab:gray"))[1] for lib in libs}
    fig, axes = plt.subplots(1, len(programs), figsize=(2.6 * len(programs) + 0.6, 3.8),
                             sharey=True)
    for ax, program in zip(axes, programs, strict=True):
        for lib in libs:
            mine = [r for r in rows if r["program"] == program and r["library"] == lib]
            ok = [r for r in mine if "seconds" in r]
            if ok:
                ax.plot([r["nodes"] for r in ok], [r["seconds"] * 1000 for r in ok],
                        styles[lib], color=colors[lib], ms=3, label=lib)
            broke = [r for r in mine if "error" in r and r["error"] != "not installed"]
            if broke and ok:
                ax.plot([broke[0]["nodes"]], [ok[-1]["seconds"] * 1000], "x", color=colors[lib],
                        ms=9, mew=2)
        _loglog(ax, "nodes", "ms per gradient" if ax is axes[0] else "", program)
    axes[0].legend(fontsize=7, loc="upper left")
    fig.text(0.5, 0.01, "× : the library fails at that size (drawn at its last time)",
             ha="center", fontsize=8)
    fig.subplots_adjust(bottom=0.2)
    return _save(fig, path)


def api(rows: list[Any], path: Path) -> str:
    """Requests per second, /healthz and the typical expression, for each worker count."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    workers = sorted({r.workers for r in rows})
    names = {"/healthz": ("/healthz", "tab:gray"), "typical": ("sin(x*y) + x**2, v2", "tab:red"),
             "typical v1": ("the same, v1", "tab:brown")}
    endpoints = [e for e in names if any(r.endpoint == e for r in rows)]
    width = 0.8 / len(endpoints)
    for k, endpoint in enumerate(endpoints):
        values = [next(r.rps for r in rows if r.workers == w and r.endpoint == endpoint)
                  for w in workers]
        xs = [i + (k - (len(endpoints) - 1) / 2) * width for i in range(len(workers))]
        ax.bar(xs, values, width, color=names[endpoint][1], label=names[endpoint][0])
    ax.set_xticks(range(len(workers)), [f"{w} worker{'s' * (w > 1)}" for w in workers])
    ax.set_ylabel("requests / s")
    ax.set_title("HTTP API on loopback", fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", alpha=0.3)
    return _save(fig, path)
