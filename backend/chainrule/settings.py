"""Limits, ports and paths, in one place; each limit can be overridden from the environment."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Limits:
    """Bounds on one computation, so that no request can take unbounded time or memory."""

    max_source_chars: int = 2 * 1024 * 1024  # admits a network's listing; under the body limit
    max_nodes: int = 250_000  # admits micrograd's moons demo (65,818 Values) four times over
    max_array_elements: int = 100_000  # elements of any one value (input, constant or result)
    max_total_elements: int = 1_000_000  # elements summed over every node of the graph
    max_nesting: int = 150  # nested parentheses, brackets and calls
    # Operations one call of a program's function applies at one point, the bodies and rules
    # of the functions it calls counted at every call (parsing.py counts them before any runs).
    max_function_work: int = 100_000
    # Element-operations of one forward and one backward sweep: each node's elements times
    # its op's work (1 for the table's ops; a program's primitive runs its body and rule).
    max_total_work: int = 10_000_000
    # The gradient check: element-evaluations (batch rows x graph elements) per request.
    max_check_work: int = 50_000_000
    # The gradient check's kind when `check` is true or "auto": each input element on its own
    # up to this many input elements (2 evaluations each), random directions per input tensor
    # above (2 evaluations each, `check_directions` of them a tensor: one, as torch's
    # gradcheck(fast_mode=True) takes; more make a subtle error likelier to show).
    check_elements_up_to: int = 100
    check_directions: int = 1
    # Nodes of a program /methods differentiates symbolically (sympy's formulas can swell).
    max_methods_nodes: int = 60
    # Element-evaluations computed at once in the vectorized finite-difference pass.
    check_chunk_elements: int = 4_000_000
    # Sum over paths: paths listed at most, and node ids over all listed paths (answer size).
    max_paths: int = 1000
    max_path_entries: int = 200_000
    # Jacobians: entries of the matrix, and node visits over its reverse passes (M x nodes).
    max_jacobian_entries: int = 250_000
    max_jacobian_work: int = 1_000_000
    # Wall-clock seconds one request may compute and encode its answer before it is abandoned
    # with a 503 (every endpoint: see api/answers.py).
    max_seconds: float = 30.0
    # Bytes of any answer as sent (compressed when the client accepts gzip); beyond, 422 `limit`.
    max_answer_bytes: int = 16 * 1024 * 1024
    # Gradient descent, refused before it starts when either product is over its budget:
    # numbers computed (the graph's elements) x iterations, and nodes x iterations (each node
    # costs a few microseconds a sweep whatever its size). Both keep /optimize to a few seconds.
    optimize_element_budget: int = 50_000_000
    optimize_node_budget: int = 1_000_000
    # Numbers (values and gradients of the optimized inputs) recorded over all the iterations
    # of one descent; beyond it an even sample of iterations is kept (the output of every one is).
    optimize_record_numbers: int = 500_000
    # The two classic mistakes replayed (analyses/naive.py): steps of the naive recursion at
    # most (it reaches a node once per path from the output), and numbers recorded in the
    # steps of all three passes; a graph whose right and second passes are over either is
    # refused before they run.
    max_naive_steps: int = 10_000
    max_naive_numbers: int = 1_000_000
    # The memory of reverse mode (analyses/memory.py): steps of a checkpointing schedule listed
    # at most (its counts and peak cover every step), and steps a schedule may take to be
    # played at all, each (recomputing from the inputs is quadratic: past it, counted, not played;
    # a step played without numbers takes some 7 µs).
    max_schedule_steps: int = 20_000
    max_schedule_work: int = 300_000


def load_limits() -> Limits:
    """Limits from the environment (CHAINRULE_MAX_NODES, ...), falling back to the defaults."""
    base = Limits()
    overrides = {field: type(getattr(base, field))(os.environ[f"CHAINRULE_{field.upper()}"])
                 for field in base.__dataclass_fields__
                 if os.environ.get(f"CHAINRULE_{field.upper()}")}
    return dataclasses.replace(base, **overrides)


LIMITS = load_limits()
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = _env("PORT", 8000)
MAX_BODY_BYTES = _env("CHAINRULE_MAX_BODY_BYTES", 4 * 1024 * 1024)
# The server's computations (api/pool.py): worker processes, one computation each at a time
# (one per core is right: a computation is single-threaded numpy); requests waiting for one
# beyond them (more are refused with 429); and each worker's memory cap in MB above its idle
# size (an address-space limit; 0: none). The 250,000-node maximum answer peaks near 1 GB.
WORKERS = _env("CHAINRULE_WORKERS", 2)
QUEUE = _env("CHAINRULE_QUEUE", 16)
WORKER_MEMORY_MB = _env("CHAINRULE_WORKER_MEMORY_MB", 2048)
# The server's garbage-collector thresholds. A 10,000-node answer allocates millions of small,
# short-lived objects; with Python's defaults the collector runs over and over and costs a
# third of the request (measured in bench/run.py), so the server collects less often.
GC_THRESHOLDS = (100_000, 50, 100)
# Statement shapes (strings of token types) whose LALR actions the parser keeps, least recently
# used dropped first (see parsing.py): generated and real programs repeat a handful.
PARSE_CACHE_SHAPES = _env("CHAINRULE_PARSE_CACHE_SHAPES", 2048)
REPO_ROOT = Path(__file__).resolve().parents[2]
# The UI: inside the installed package (the wheel carries the built frontend and the npm files
# it serves, see tools/build_wheel.py), else the checkout's frontend/ directory.
PACKAGED_FRONTEND = Path(__file__).resolve().parent / "frontend"
FRONTEND_DIR = Path(os.environ.get(
    "CHAINRULE_FRONTEND_DIR",
    PACKAGED_FRONTEND if PACKAGED_FRONTEND.is_dir() else REPO_ROOT / "frontend"))
# What the server hands out from FRONTEND_DIR (serving.py), nothing else: the page at "/", the
# embed view at "/embed" (both built by frontend/build.mjs from index.html and embed.html), and
# the files they and /docs load. A path ending in "/" stands for a directory and everything
# under it. The wheel packs exactly these, and PACKED_NOT_SERVED.
PAGES = {"/": "dist/index.html", "/embed": "dist/embed.html"}
# The built page's files, every name content-hashed: served cached for a year (serving.py).
HASHED_ASSETS = "dist/assets/"
ASSETS = (
    HASHED_ASSETS,  # the page's modules, style sheets, KaTeX's fonts and ELK's worker
    "dist/offline.html",  # fetched by the page's Export HTML
    "node_modules/swagger-ui-dist/swagger-ui-bundle.js",
    "node_modules/swagger-ui-dist/swagger-ui.css",
    "node_modules/swagger-ui-dist/favicon-32x32.png",
)
# In the wheel but not served: the notebook widget's module (widget.py reads it) and the
# licences of the npm files the wheel redistributes.
PACKED_NOT_SERVED = (
    "dist/widget.js",
    "node_modules/d3/LICENSE",
    "node_modules/elkjs/LICENSE.md",
    "node_modules/katex/LICENSE",
    "node_modules/swagger-ui-dist/LICENSE",
)
