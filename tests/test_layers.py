"""The backend's floors: every import runs down (or along) the flow from text to picture.

errors and settings at the bottom; then the core (op table, graph, plan, sweeps), the readers
(the language and the importers, which build graphs of the core), the analyses (which read a
graph), the answer (columns, models, records, bytes), the entry points (`differentiate`,
`optimize`, `export`, `widget`) and, at the top, the server, the command line and the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "backend" / "chainrule"
FLOORS = [
    {"errors", "settings", "examples"},
    {"core"},
    {"readers"},
    {"analyses"},
    {"answer"},
    {"differentiate", "optimize", "export", "widget", "grading", "ninja"},
    {"server", "cli", "__init__", "__main__"},
]


def _floor(module: str) -> int:
    top = module.split(".")[0]
    return next(k for k, names in enumerate(FLOORS) if top in names)


def _imports() -> list[tuple[str, str, int]]:
    """(importer, imported, line) for every import of a chainrule module by another."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        module = ".".join(parts)
        package = list(parts[:-1])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - node.level + 1]
                target = [*base, *(node.module or "").split(".")] if node.module else base
                names = [".".join(target)] if node.module else \
                    [".".join([*target, alias.name]) for alias in node.names]
                found += [(module, name, node.lineno) for name in names if name]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chainrule."):
                found.append((module, node.module.removeprefix("chainrule."), node.lineno))
    return found


def test_every_module_is_on_a_floor() -> None:
    for path in PACKAGE.rglob("*.py"):
        _floor(".".join(path.relative_to(PACKAGE).with_suffix("").parts))


def test_no_import_runs_up_a_floor() -> None:
    upward = [f"{a} (line {line}) imports {b}" for a, b, line in _imports()
              if _floor(b) > _floor(a)]
    assert not upward, "\n".join(upward)


def test_no_import_cycle() -> None:
    graph = nx.DiGraph()
    graph.add_edges_from((a, b.removesuffix(".__init__")) for a, b, _ in _imports())
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, cycles
