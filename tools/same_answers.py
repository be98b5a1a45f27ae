"""The comparison set: do two revisions of the backend answer the same?

The set, 86 answers:
- 46 as the v1 route sends them (`backprop_data`, whichever module holds it; else
  `backprop(...).spelled_out()`): the gallery (reverse mode, and forward mode for the first input
  of its first ten), the benchmark shapes at 300 nodes, kinks, arrays (broadcast, matmul,
  softmax), an array output with a seed, a Jacobian;
- 40 compact answers (`Answer.compact_json()`, as `POST /api/v2/backprop` sends them) through
  the public API only, so that they survive modules moving: programs with `def` functions and the
  learner's own `@derivative` rules, `output=`, every `check` (auto, elements, directions,
  False), forward mode with `wrt`; numpy functions traced (`chainrule.trace`); micrograd graphs
  (`chainrule.from_micrograd`: an expression, MLPs named by place, the moons demo at a few
  points); torch models (`chainrule.from_torch`: MSE, cross entropy, broadcasting); and a few
  refusals (the error's type, kind, span and message).

The traced and torch functions are compiled from the text `SUBJECTS` under a fixed file name,
so the spans and line numbers in their answers do not move when this script is edited.
micrograd's Values are hashed by creation (`hash_by_creation`), so their operand sets iterate
the same in every run. Nothing else in an answer varies between runs (no timings; the check's
directions are seeded), so the comparison is exact, and two dumps are the same bytes; both NaNs
count as the same.

    PYTHONPATH=backend .venv/bin/python tools/same_answers.py --rev c0293a3
    PYTHONPATH=backend .venv/bin/python tools/same_answers.py --dump before.json
    PYTHONPATH=backend .venv/bin/python tools/same_answers.py --against before.json
    PYTHONPATH=backend .venv/bin/python tools/same_answers.py --against before.json \
        --new-fields binding,ops.*.precedence

`--dump FILE` writes this backend's answers; `--rev REV` takes another revision's backend out of
git (`git archive`), dumps its answers in a process of its own with this script's code, and
compares them with this checkout's, field by field; `--against FILE` compares this checkout's
with a saved dump; `--new-fields` leaves the fields this backend adds (dotted paths, `*` for
any key) out of its own answers. Each answer that differs is printed with its first differing path; the exit
status is 1 if any does. A dump takes about 2 s (`--rev`, two dumps, about 5 s). Lint:

    ruff check tools
    MYPYPATH=backend:bench mypy --config-file backend/pyproject.toml --follow-imports=silent \
        tools/same_answers.py
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import linecache
import math
import random
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
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

SOFTPLUS = "@derivative(lambda x: sigmoid(x))\ndef softplus(x):\n    return log(1 + exp(x))\n"
WRONG_SIGMOID = ("@derivative(lambda x: sigmoid(x))\ndef sigmoid(x):\n"
                 "    return 1 / (1 + exp(-x))\n\ny = sigmoid(w * x + b)")
NEURONS = "def neuron(w, x, b):\n    return tanh(w * x + b)\n\ny = neuron(a, x, b) * neuron(b, x, a)"
POINT = {"w": 0.8, "x": 1.5, "b": -0.9}
LAYER = {"W": [[0.2, -0.4, 0.1], [0.7, 0.3, -0.5]], "x": [0.5, -1.2, 0.3], "b": [0.1, -0.2]}

# Programs through `chainrule.backprop`, compact: (name, source, values, options).
PROGRAMS: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("functions: a neuron called twice", NEURONS, {"a": 0.7, "x": -1.3, "b": 0.4}, {}),
    ("functions: nested calls",
     ("def sq(u): return u * u\ndef norm(u, v):\n    return sqrt(sq(u) + sq(v))\n"
      "r = norm(x, y) + sq(norm(y, 2 * x))"), {"x": 1.2, "y": -0.5}, {}),
    ("rule: softplus", SOFTPLUS + "\ny = softplus(w * x + b) * softplus(x)", POINT, {}),
    ("rule: a wrong sigmoid", WRONG_SIGMOID, POINT, {}),
    ("rule: two operands",
     ("@derivative(lambda a, b: (b * a ** (b - 1), a ** b * log(a)))\ndef power(a, b):\n"
      "    return a ** b\n\nq = power(x + 1, y) / y"), {"x": 1.5, "y": 0.7}, {}),
    ("rule: called inside a function",
     ("@derivative(lambda x: cos(x))\ndef mysin(x):\n    return sin(x)\n"
      "def wave(t):\n    return mysin(t) * mysin(2 * t)\n\nz = wave(x) + mysin(w)"),
     {"x": 0.9, "w": -0.3}, {}),
    ("rule on arrays", SOFTPLUS + "\ny = sum(softplus(W @ x + b))", LAYER, {}),
    ("output: a middle line", "a = x * y\nh = sin(a) + x ** 2\nout = h * exp(y)",
     {"x": 0.6, "y": -1.1}, {"output": "h"}),
    ("output: a line calling a rule", SOFTPLUS + "\nh = softplus(w * x + b)\nloss = h * h",
     POINT, {"output": "h"}),
    ("output: a reduced array line", "v = W @ x + b\ns = sum(tanh(v))\nloss = s * s", LAYER,
     {"output": "s"}),
    ("check auto, arrays", "sum(tanh(W @ x + b))", LAYER, {"check": "auto"}),
    ("check elements, arrays", "sum(tanh(W @ x + b))", LAYER, {"check": "elements"}),
    ("check directions, arrays", "sum(tanh(W @ x + b))", LAYER, {"check": "directions"}),
    ("check directions, a wrong rule", WRONG_SIGMOID, POINT, {"check": "directions"}),
    ("check off, functions", NEURONS, {"a": 0.7, "x": -1.3, "b": 0.4}, {"check": False}),
    ("forward mode through functions", NEURONS, {"a": 0.7, "x": -1.3, "b": 0.4},
     {"mode": "forward", "wrt": "x"}),
    ("forward mode through a rule", SOFTPLUS + "\ny = softplus(w * x + b) * x", POINT,
     {"mode": "forward", "wrt": "w"}),
    ("forward mode, arrays", "sum(tanh(W @ x + b))", LAYER, {"mode": "forward", "wrt": "W"}),
    ("refused: output not a scalar", "x = 2.0\nv = x * [1, 2]\ns = sum(v)", {},
     {"output": "v"}),
    ("refused: forward mode without wrt", "x * y", {"x": 1.0, "y": 2.0}, {"mode": "forward"}),
]

# The user's own numpy and torch code, compiled under a fixed file name (see `subjects`).
SUBJECTS = '''\
def sin_and_square(x, y):
    h = np.sin(x * y) + x**2
    return h


def layer_loss(x, W, b):
    h = np.tanh(W @ x + b)  # (2, 3) @ (3,) + (2,)
    z = np.maximum(h, 0.1) ** 2
    z += np.exp(-h) / 3
    scale = np.sqrt(np.dot(x, x)) * np.ones((2, 1))  # broadcasts to (2, 2)
    return np.sum(z) + np.mean(W.T @ h) + abs(b).sum() + np.mean(scale * h) + h.dot(b)


def neuron(W, x, b):
    return np.tanh(W @ x + b)


def two_layers(x, W, b, v):
    h = neuron(W, x, b)
    return np.sum(h * v) + neuron(v, h, 0.5)


def loop(x):
    for _ in range(12):
        x = np.sin(x) + 0.5 * x
    return x


def uses_an_unknown_function(x):
    return np.sinc(x)


def mlp(sizes):
    layers = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1]).double()


def mse_case():
    torch.manual_seed(0)
    model = mlp([2, 4, 1])
    x = torch.randn(10, 2, dtype=torch.float64)
    y = torch.sin(x[:, :1] * 2) + x[:, 1:] ** 2
    return (lambda: F.mse_loss(model(x), y)), model


def cross_entropy_case():
    torch.manual_seed(2)
    model = mlp([2, 5, 3])
    x = torch.randn(12, 2, dtype=torch.float64)
    labels = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return (lambda: F.cross_entropy(model(x), labels)), model


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64))
        self.shift = nn.Parameter(torch.tensor([[0.1], [-0.2]], dtype=torch.float64))

    def forward(self, x):
        h = torch.tanh(x * self.scale + self.shift)  # (2, 3) * (3,) + (2, 1)
        return (h ** 2).mean() + torch.exp(-h).sum() / h.shape[0]


def broadcasting_case():
    model = Scaled()
    x = torch.tensor([[0.3, -0.6, 1.2], [0.9, 0.1, -0.4]], dtype=torch.float64)
    return (lambda: model(x)), model


def leaves_case():
    w = torch.tensor([0.4, -0.7], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    x = torch.tensor([[1.0, 2.0], [-0.5, 0.25], [0.0, 1.5]], dtype=torch.float64)
    return (lambda: torch.sigmoid(x @ w + b).sum()), None
'''
SUBJECTS_FILE = "<same_answers subjects>"


def subjects() -> dict[str, Any]:
    """The functions of `SUBJECTS`, their source readable by `inspect` (through linecache)."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    lines = SUBJECTS.splitlines(keepends=True)
    linecache.cache[SUBJECTS_FILE] = (len(SUBJECTS), None, lines, SUBJECTS_FILE)
    namespace: dict[str, Any] = {"np": np, "torch": torch, "F": F, "nn": nn,
                                 "__name__": "same_answers_subjects"}
    exec(compile(SUBJECTS, SUBJECTS_FILE, "exec"), namespace)  # noqa: S102
    return namespace


def _array(rows: Any) -> Any:
    import numpy as np

    return np.array(rows, dtype=float)


def traced() -> list[tuple[str, Callable[[], Any]]]:
    """Numpy functions traced by `chainrule.trace`."""
    import chainrule

    s = subjects()
    layer = {name: _array(value) for name, value in LAYER.items()}
    two = {"x": _array([0.5, -1.2, 0.3]), "W": _array(LAYER["W"]), "b": _array([0.1, -0.2]),
           "v": _array([0.6, -0.9])}
    cases: list[tuple[str, Any, dict[str, Any], dict[str, Any]]] = [
        ("trace: sin and square", s["sin_and_square"], {"x": 1.5, "y": 2.0}, {}),
        ("trace: a layer, broadcasting", s["layer_loss"], layer, {}),
        ("trace: calls of a function", s["two_layers"], two, {}),
        ("trace: a loop", s["loop"], {"x": 0.7}, {}),
        ("trace: check directions", s["layer_loss"], layer, {"check": "directions"}),
        ("trace: check off", s["two_layers"], two, {"check": False}),
        ("trace refused: outside the op table", s["uses_an_unknown_function"], {"x": 0.5}, {}),
    ]
    return [(name, _thunk(chainrule.trace, f, values, **options))
            for name, f, values, options in cases]


def hash_by_creation(value_class: Any) -> None:
    """Hash micrograd's Values by the order they are made in, counting from 0 again.

    micrograd keeps a Value's operands in a set (`_prev`), which iterates in the order of their
    hashes: by default their addresses, which change from run to run, and with them the order
    from_micrograd reads the graph in (its node ids, listing, check entries). Hashed by creation,
    the same graph is read the same in every run."""
    counter = itertools.count()
    if not getattr(value_class, "_hashed_by_creation", False):
        made = value_class.__init__

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            self._creation = next(value_class._creations)
            made(self, *args, **kwargs)

        value_class.__init__ = __init__
        value_class.__hash__ = lambda self: self._creation
        value_class._hashed_by_creation = True
    value_class._creations = counter


def micrograd_graphs() -> list[tuple[str, Callable[[], Any]]]:
    """micrograd's own Values (its engine and nn), read by `chainrule.from_micrograd`."""
    import chainrule
    from micrograd.engine import Value
    from micrograd.nn import MLP
    from moons import build_loss

    def expression(check: bool | str = True) -> Any:
        hash_by_creation(Value)
        a, b = Value(-1.5), Value(2.5)
        c = a * a + a
        d = (c - b) / (b**3) + (-a).relu() + 2 - 1 / b
        loss = d * d + b**0.5
        return chainrule.from_micrograd(loss, {"a": a, "b": b}, check=check)

    def unnamed() -> Any:
        hash_by_creation(Value)
        a, b, c = Value(0.5), Value(-2.0), Value(3.0)
        return chainrule.from_micrograd((a * b + c).relu() * a)

    def mlp(by_model: bool, check: bool | str = True) -> Any:
        hash_by_creation(Value)
        random.seed(1)
        model = MLP(3, [4, 4, 1])
        xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
        ys = [1.0, -1.0, -1.0, 1.0]
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys, strict=True))
        inputs = model if by_model else model.parameters()
        return chainrule.from_micrograd(loss, inputs, check=check)

    def moons(points: int) -> Any:
        hash_by_creation(Value)
        loss, model, _ = build_loss(points)
        return chainrule.from_micrograd(loss, model)

    return [
        ("micrograd: an expression", expression),
        ("micrograd: leaves named by themselves", unnamed),
        ("micrograd: check off", lambda: expression(False)),
        ("micrograd: an MLP's parameters", lambda: mlp(False)),
        ("micrograd: an MLP named by place", lambda: mlp(True)),
        ("micrograd: an MLP, check directions", lambda: mlp(True, "directions")),
        ("micrograd: the moons demo at 4 points", lambda: moons(4)),
    ]


def torch_models() -> list[tuple[str, Callable[[], Any]]]:
    """torch models and tensors, read by `chainrule.from_torch`."""
    import chainrule

    from_torch: Any = chainrule.from_torch  # found by the package's __getattr__, on first use
    s = subjects()

    def run(case: str, check: bool | str = True) -> Callable[[], Any]:
        def answer() -> Any:
            loss_fn, model = s[case]()
            return from_torch(loss_fn, model, check=check)
        return answer

    return [
        ("torch: an MLP with MSE", run("mse_case")),
        ("torch: cross entropy", run("cross_entropy_case")),
        ("torch: broadcasting", run("broadcasting_case")),
        ("torch: leaf tensors, no model", run("leaves_case")),
        ("torch: check directions", run("cross_entropy_case", "directions")),
        ("torch: check off", run("broadcasting_case", False)),
    ]


def _thunk(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: fn(*args, **kwargs)


def requests() -> list[tuple[str, Callable[[], Any]]]:
    """Every request of the set, named: a call that returns its answer as JSON-ready data."""
    import chainrule
    from chainrule.examples import EXAMPLES
    from programs import SHAPES, values

    v1: list[tuple[str, dict[str, Any]]] = []
    for example in EXAMPLES:
        v1.append((str(example["title"]), {"source": example["source"],
                                           "values": example["values"]}))
    for example in EXAMPLES[:10]:
        source, vals = str(example["source"]), dict(example["values"])  # type: ignore[call-overload]
        wrt = min(chainrule.backprop(source, vals, check=False).gradients)
        v1.append((f"{example['title']} (forward, {wrt})",
                   {"source": source, "values": vals, "mode": "forward", "wrt": wrt}))
    for shape, program in SHAPES.items():
        v1.append((f"bench {shape} 300", {"source": program(300), "values": values(shape)}))
    for name, source, vals, extra in EXTRA:
        v1.append((name, {"source": source, "values": vals, **extra}))

    found = [(name, _thunk(_v1_answer, **kwargs)) for name, kwargs in v1]
    found += [(name, _thunk(chainrule.backprop, source, vals, **options))
              for name, source, vals, options in PROGRAMS]
    return found + traced() + micrograd_graphs() + torch_models()


# Where `backprop_data` (the v1 answer) may live, as modules move; the last resort is the
# public `backprop(...)` spelled out, which is what it returns.
V1_HOMES = ("chainrule.run", "chainrule.answer.run", "chainrule.differentiate",
            "chainrule.core.run", "chainrule.analyses.run", "chainrule.answer")


def _v1_answer(**kwargs: Any) -> Any:
    for home in V1_HOMES:
        try:
            module = importlib.import_module(home)
        except ImportError:
            continue
        backprop_data = getattr(module, "backprop_data", None)
        if backprop_data is not None:
            return json.loads(json.dumps(backprop_data(**kwargs), default=str))
    import chainrule

    spelled = chainrule.backprop(**kwargs).spelled_out()
    return json.loads(json.dumps(spelled, default=str))


def as_json(answer: Any) -> Any:
    """An answer as JSON-ready data: an `Answer` as the v2 route sends it, a dict as it is."""
    if isinstance(answer, dict):
        return answer
    import orjson

    compact = getattr(answer, "compact_json", None)
    if compact is not None:
        return json.loads(compact())
    return json.loads(orjson.dumps(answer.model_dump(mode="json", by_alias=True)))


def refusal(err: Exception) -> dict[str, Any]:
    """What a refused request answers: the error's type, kind, span and message."""
    span = getattr(err, "span", None)
    return {"refused": {"type": type(err).__name__, "kind": getattr(err, "kind", None),
                        "span": list(span) if span is not None else None,
                        "message": str(err)}}


def dump() -> dict[str, Any]:
    """This backend's answers to the set, as JSON-ready data."""
    answers = {}
    for name, call in requests():
        try:
            answers[name] = as_json(call())
        except Exception as err:  # noqa: BLE001  a refusal, or a break, is an answer to compare
            answers[name] = refusal(err)
    return answers


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The path of the first place where two JSON values differ, or None (NaN equals NaN)."""
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
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return None
    if isinstance(a, str) and a != b:
        at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        return f"{path}[{at}:]: {a[at:]!r:.60} != {b[at:]!r:.60}"
    return None if a == b else f"{path}: {a!r:.80} != {b!r:.80}"


def dump_of_revision(rev: str) -> dict[str, Any]:
    """Answers of another revision's backend, in its own process, by this script's code."""
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


def drop_new_field(value: Any, path: list[str]) -> None:
    """Remove the field at `path` (keys; `*` any key, or any element of a list) from an
    answer, where it is."""
    if isinstance(value, list) and path and path[0] == "*":
        for item in value:
            drop_new_field(item, path[1:])
        return
    if not isinstance(value, dict) or not path:
        return
    head, rest = path[0], path[1:]
    for key in list(value) if head == "*" else [head] if head in value else []:
        if rest:
            drop_new_field(value[key], rest)
        else:
            del value[key]


def compare(before: dict[str, Any], now: dict[str, Any], ignore: list[str],
            new_fields: Sequence[str] = ()) -> int:
    """Print each answer that differs (or is only on one side) and the count of the same;
    1 if any differs. `new_fields` (dotted paths, `*` any key) are left out of `now` only: the
    earlier answers must not have them."""
    for answers in (before, now):
        for answer in answers.values():
            for key in ignore:
                answer.pop(key, None)
    for answer in now.values():
        for field in new_fields:
            drop_new_field(answer, field.split("."))
    differ = [(name, first_difference(before[name], now[name]) if name in now
               else "only in the first") for name in before]
    differ += [(name, "only in the second") for name in now if name not in before]
    differ = [(name, where) for name, where in differ if where]
    for name, where in differ:
        print(f"differs: {name}: {where}")
    total = len(set(before) | set(now))
    print(f"{total - len(differ)} of {total} answers the same")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dump", type=Path, help="write this backend's answers here")
    parser.add_argument("--rev", help="compare with this revision's backend (default HEAD)")
    parser.add_argument("--against", type=Path, metavar="FILE",
                        help="compare with the answers saved in FILE (by --dump)")
    parser.add_argument("--ignore", action="append", default=[], metavar="KEY",
                        help="a top-level field to leave out (one the revision did not have)")
    parser.add_argument("--new-fields", default="", metavar="A,B",
                        help="fields this backend adds, as dotted paths (`*` any key, e.g. "
                        "ops.*.precedence), left out of its answers only")
    args = parser.parse_args()
    if args.dump:
        args.dump.write_text(json.dumps(dump()))
        return 0
    if args.against:
        before = json.loads(args.against.read_text())
    else:
        before = dump_of_revision(args.rev or "HEAD")
    new_fields = [field for field in args.new_fields.split(",") if field]
    return compare(before, dump(), args.ignore, new_fields)


if __name__ == "__main__":
    raise SystemExit(main())
