"""`parse` before and now, in one process, interleaved, on the programs of bench/programs.py and a
60,000-number array literal (the parser's own figures; bench/phases.py has it among the others).

    python bench/parse_speed.py [--before REV] [--nodes 10000] [--repeats 7]

The parser before (REV, by default 903ea8e, the last commit before the replay of lark's actions)
is read out of git and loaded as a module of today's package (the same ops table and errors).
Times are CPU seconds (the best of --repeats, each run alternating before and now, so both see
the same machine), with the server's garbage-collector thresholds (settings.GC_THRESHOLDS).
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from programs import SHAPES

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "backend"))

from chainrule.readers import parsing
from chainrule.settings import GC_THRESHOLDS


def parser_at(rev: str) -> ModuleType:
    """The parser at `rev` (backend/chainrule/readers/parsing.py, or parsing.py before issue 26
    moved it), loaded as chainrule.readers.parsing_before with its imports made absolute."""
    for where, package in (("readers/parsing.py", "chainrule.readers"), ("parsing.py", "chainrule")):
        shown = subprocess.run(["git", "show", f"{rev}:backend/chainrule/{where}"], check=False,
                               capture_output=True, text=True, cwd=BENCH.parent)
        if shown.returncode == 0:
            break
    shown.check_returncode()
    moved = {"chainrule.ops": "chainrule.core.ops"}  # what the parser imports that moved
    text = re.sub(r"from (\.+)(\w+) import", lambda m: "from " + moved.get(
        f"{package.rsplit('.', len(m.group(1)) - 1)[0]}.{m.group(2)}",
        f"{package.rsplit('.', len(m.group(1)) - 1)[0]}.{m.group(2)}") + " import", shown.stdout)
    path = Path(tempfile.mkdtemp()) / "parsing_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("chainrule.readers.parsing_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def array_literal(numbers: int) -> str:
    """`sum([0.0, 0.1, ..., 99.6, 0.0, ...])`: one statement of 2 tokens a number."""
    return "sum([" + ", ".join(f"{k % 997 / 10:.1f}" for k in range(numbers)) + "])"


def best_of(parsers: list[ModuleType], source: str, repeats: int) -> list[float]:
    """Each parser's best CPU time on `source`, the parsers taking turns."""
    times: list[list[float]] = [[] for _ in parsers]
    for _ in range(repeats):
        for parser, record in zip(parsers, times, strict=True):
            gc.collect()
            start = time.process_time()
            parser.parse(source)
            record.append(time.process_time() - start)
    return [min(record) for record in times]


def main() -> None:
    """Print before, now and their ratio for each program."""
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--before", default="903ea8e")
    args.add_argument("--nodes", type=int, default=10_000)
    args.add_argument("--repeats", type=int, default=7)
    options = args.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)
    before = parser_at(options.before)
    programs = {f"{name} {options.nodes:,}": shape(options.nodes)
                for name, shape in SHAPES.items()}
    programs["array literal of 60,000 numbers"] = array_literal(60_000)
    print(f"| program | before ({options.before}) | now | before / now |\n|---|---|---|---|")
    for name, source in programs.items():
        then, now = best_of([before, parsing], source, options.repeats)
        print(f"| {name} | {then * 1e3:.1f} ms | {now * 1e3:.1f} ms | {then / now:.2f}x |")


if __name__ == "__main__":
    main()
