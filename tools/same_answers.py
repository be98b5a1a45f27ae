"""The comparison set: do two revisions of the backend answer the same?

The set is the gallery (reverse mode, and forward mode for its first input), the benchmark
shapes at 300 nodes, kinks, arrays (broadcast, matmul, softmax), an array output with a seed and
a Jacobian: 46 answers. `--dump FILE` writes this backend's answers, as the v1 route sends them
(`run.backprop_data`); `--rev REV` takes another revision's backend out of git (`git archive`),
dumps its answers in a process of its own and compares them with this checkout's, field by field:

    .venv/bin/python tools/same_answers.py --rev 1007936

It prints each answer that differs, with the first differing path, and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "bench"))

EXTRA: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("relu at 0", "relu(x) * y", {"x": 0.0, "y": 2.0}, {}),
    ("abs at 0", "abs(x) + x", {"x": 0.0}, {}),
    ("max tie", "max(x, y) * x", {"x": 2.0, "y": 2.0}, {}),
    ("min tie arrays", "sum(min(x, y))", {"x": [1.0, 2.0, 3.0], "y": [1.0, 5.0, 0.0]}, {}),
    ("relu arrays, some at 0", "sum(relu(x))", {"x": [-1.0, 0.0, 2.0]}, {}),
    ("broadcast matrix", "sum(W * b + c)", {"W": [[1.0, 2.0], [3.0, 4.0]], "b": [0.5, -1.0],
                                            "c": 3.0}, {}),
    ("matmul", "sum(tanh(W @ x))", {"W": [[1.0, 2.0, 0.5], [3.0, -4.0, 1.0]],
                                     "x": [0.1, 0.2, -0.3]}, {}),
    ("softmax", "sum(softmax(z) * t)", {"z": [2.0, 1.0, 0.1], "t": [0.0, 1.0, 0.0]}, {}),
    ("transpose and mean", "mean(A.T @ v)", {"A": [[1.0, 2.0], [3.0, 4.0]], "v": [1.0, -1.0]},
     {}),
    ("array output with a seed", "W @ sin(x)", {"W": [[1, 2], [3, 4], [5, 6]], "x": [0.1, 0.2]},
     {"seed": [1, 0, 2]}),
    ("jacobian of a scalar", "x * y + exp(x)", {"x": 0.5, "y": -1.0}, {"jacobian": True}),
    ("non-finite", "log(x) + sqrt(y)", {"x": -1.0, "y": 4.0}, {}),
    ("pow of 0", "x ** 0 + 0 ** y", {"x": 0.0, "y": 2.0}, {}),
    ("long vector", "sum(x * x)", {"x": [float(i) / 7 for i in range(12)]}, {}),
    ("division", "(x + 1) / (y * y) - x / 3", {"x": 2.0, "y": -0.5}, {}),
    ("override of a literal", "x = 1.5\ny = -2.0\nx * y", {"y": 4.0}, {}),
]


def requests() -> list[tuple[str, dict[str, Any]]]:
    """Every request of the set, named: keyword arguments of `backprop_data`."""
    from chainrule.examples import EXAMPLES
    from programs import SHAPES, values

    found: list[tuple[str, dict[str, Any]]] = []
    for example in EXAMPLES:
        base = {"source": example["source"], "values": example["values"]}
        found.append((str(example["title"]), base))
    for example in EXAMPLES[:10]:
        wrt = _first_input(str(example["source"]), dict(example["values"]))  # type: ignore[arg-type]
        found.append((f"{example['title']} (forward, {wrt})",
                      {"source": example["source"], "values": example["values"],
                       "mode": "forward", "wrt": wrt}))
    for shape, program in SHAPES.items():
        found.append((f"bench {shape} 300", {"source": program(300), "values": values(shape)}))
    for name, source, vals, extra in EXTRA:
        found.append((name, {"source": source, "values": vals, **extra}))
    return found


def _first_input(source: str, values: dict[str, Any]) -> str:
    from chainrule.run import backprop_data

    answer = backprop_data(source, values, check=False)
    return min(answer["gradients"])  # type: ignore[call-overload, no-any-return]


def dump() -> dict[str, Any]:
    """This backend's answers to the set, as JSON-ready data (NaN as the API writes it)."""
    from chainrule.run import backprop_data

    answers = {}
    for name, kwargs in requests():
        answers[name] = json.loads(json.dumps(backprop_data(**kwargs), default=str))
    return answers


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The path of the first place where two JSON values differ, or None."""
    if type(a) is not type(b):
        return f"{path}: {a!r:.80} != {b!r:.80}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'the first' if key in a else 'the second'}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r:.80} != {b!r:.80}"


def dump_of_revision(rev: str) -> dict[str, Any]:
    """Answers of another revision's backend, in its own process."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "backend.tar"
        with archive.open("wb") as out:
            subprocess.run(["git", "-C", str(REPO_ROOT), "archive", rev, "backend"], stdout=out,
                           check=True)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        out_file = Path(tmp) / "answers.json"
        subprocess.run([sys.executable, __file__, "--dump", str(out_file)], check=True,
                       env={"PYTHONPATH": str(Path(tmp) / "backend"), "PATH": "/usr/bin:/bin"})
        return json.loads(out_file.read_text())  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, help="write this backend's answers here")
    parser.add_argument("--rev", help="compare with this revision's backend")
    parser.add_argument("--ignore", action="append", default=[], metavar="KEY",
                        help="a top-level field to leave out (one the revision did not have)")
    args = parser.parse_args()
    if args.dump:
        args.dump.write_text(json.dumps(dump()))
        return 0
    before = dump_of_revision(args.rev or "HEAD")
    now = dump()
    for answers in (before, now):
        for answer in answers.values():
            for key in args.ignore:
                answer.pop(key, None)
    differ = [(name, first_difference(before[name], now[name])) for name in before]
    differ = [(name, where) for name, where in differ if where]
    for name, where in differ:
        print(f"differs: {name}: {where}")
    print(f"{len(before) - len(differ)} of {len(before)} answers the same")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
