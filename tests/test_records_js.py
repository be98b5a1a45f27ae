"""Both renderers write the same records: the page's (frontend/src/records.js, run in node by
tools/records.mjs) over the compact answer (`POST /api/v2/backprop`) gives exactly the nodes,
edges, forward and backward steps that v1 (`POST /api/v1/backprop`, records.py) answers, field
by field: each sentence, formula and number, zeros with their sign, booleans as booleans.

The cases: the whole gallery, forward mode on some of it, kinks, arrays with broadcasting,
matmul, softmax, an array output with a seed, NaN from a log, and random programs.
"""

from __future__ import annotations

import json
import math
import random
import subprocess
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "tools" / "records.mjs"
KEYS = ("nodes", "edges", "forward", "backward")

WRONG_SIGMOID = ("@derivative(lambda x: sigmoid(x))\ndef sigmoid(x):\n    return 1 / (1 + exp(-x))"
                 "\n\n")

CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # a rule of the learner's own that the check finds wrong: its step says both numbers
    (WRONG_SIGMOID + "y = sigmoid(w * x + b)", {"w": 0.8, "x": 1.5, "b": -0.9}, {}),
    (WRONG_SIGMOID + "sum(sigmoid(w * x))", {"w": [0.5, -1.0, 2.0], "x": 1.5}, {}),
    ("relu(x) * y", {"x": 0.0, "y": 2.0}, {}),
    ("max(x, y) * x", {"x": 2.0, "y": 2.0}, {}),
    ("abs(x) + x", {"x": 0.0}, {}),
    ("abs(x) * abs(y)", {"x": -1.5, "y": 0.0}, {}),
    ("sum(min(x, y))", {"x": [1.0, 2.0, 3.0], "y": [1.0, 5.0, 0.0]}, {}),
    ("sum(relu(x))", {"x": [-1.0, 0.0, 2.0]}, {}),
    ("sum(logsumexp_rows(W) * 2)", {"W": [[1.0, 2.0], [0.5, -1.0]]}, {}),
    # A join of compound operands (its list encloses them) and its backward in pieces.
    ("sum(concatenate([x * 2, y + 1], axis=0) ** 2)", {"x": [1.0, 2.0], "y": [3.0]}, {}),
    # A kink whose numbers are the node's own (its slope, its bound): nodes.kink_sides.
    ("leaky_relu(x, 0.2) * y + clip(y, max=2)", {"x": 0.0, "y": 2.0}, {}),
    # Indexing, a gather (a scatter-add backward) and a reduction along an axis.
    ("sum(C[X] * x[1:, None].sum(axis=0))", {"C": [[1.0, 2.0], [3.0, 4.0]], "X": [1, 1, 0],
                                              "x": [[1.0, 2.0], [0.5, -1.0]]}, {}),
    ("sum(W * b + c)", {"W": [[1.0, 2.0], [3.0, 4.0]], "b": [0.5, -1.0], "c": 3.0}, {}),
    ("sum(x * y)", {"x": [[1.0], [2.0], [3.0]], "y": [1.0, -2.0, 0.5, 4.0, 5.0]}, {}),
    ("sum(tanh(W @ x))", {"W": [[1.0, 2.0, 0.5], [3.0, -4.0, 1.0]], "x": [0.1, 0.2, -0.3]}, {}),
    ("sum(softmax(z) * t)", {"z": [2.0, 1.0, 0.1], "t": [0.0, 1.0, 0.0]}, {}),
    ("mean(A.T @ v)", {"A": [[1.0, 2.0], [3.0, 4.0]], "v": [1.0, -1.0]}, {}),
    ("W @ sin(x)", {"W": [[1, 2], [3, 4], [5, 6]], "x": [0.1, 0.2]}, {"seed": [1, 0, 2]}),
    ("x * y + exp(x)", {"x": 0.5, "y": -1.0}, {"jacobian": True}),
    ("log(x) + sqrt(y)", {"x": -1.0, "y": 4.0}, {}),
    ("log(x) * x + y", {"x": -1.0, "y": 0.0}, {}),
    ("x ** 0 + 0 ** y", {"x": 0.0, "y": 2.0}, {}),
    ("sum(x * x)", {"x": [i / 7 for i in range(12)]}, {}),
    ("(x + 1) / (y * y) - x / 3", {"x": 2.0, "y": -0.5}, {}),
    ("x = 1.5\ny = -2.0\nx * y", {"y": 4.0}, {}),
    ("a = x * y\nb = a + x\nc = b * a - y\nc / (1 + a * a)", {"x": 1.0625, "y": -0.00001}, {}),
    ("x * 12345 + y * 0.00012345", {"x": 1.0, "y": 1e16}, {}),
    ("sin(x * y) + x ** 2", {"x": 1.5, "y": 2.0}, {"mode": "forward", "wrt": "y"}),
    ("sum(W @ x)", {"W": [[1, 2], [3, 4]], "x": [1, 1]}, {"mode": "forward", "wrt": "x"}),
    # The program's own functions and rules (one of two arguments, one wrong, on arrays).
    (("@derivative(lambda a, b: (b * a ** (b - 1), a ** b * log(a)))\ndef power(a, b):\n"
     "    return a ** b\ndef f(u, v):\n    return power(u + 1, v) * u\nz = sum(f(x, y))"),
     {"x": [0.5, 1.5], "y": 0.7}, {}),
    ("@derivative(lambda x: 2 * x)\ndef cube(x):\n    return x ** 3\ny = cube(v - 1) * v",
     {"v": 0.5}, {"mode": "forward", "wrt": "v"}),
]

UNARY = ("sin", "cos", "tanh", "exp", "sigmoid", "relu", "abs", "log", "sqrt", "-")
BINARY = ("+", "-", "*", "/", "**", "max", "min")


def random_program(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A few named lines over x, y, z (scalars or vectors), each reusing earlier names."""
    names = ["x", "y", "z"]
    size = rng.choice([0, 0, 3])
    pick = [0.0, 1.0, -1.0, 0.5, 2.0, -0.25, 1.0625]
    values: dict[str, Any] = {
        n: rng.choice(pick) if not size else [rng.choice(pick) for _ in range(size)]
        for n in names}
    lines = []
    for k in range(rng.randint(1, 4)):
        a, b = rng.choice(names), rng.choice(names + ["2", "0.5"])
        op = rng.choice(BINARY)
        expr = f"{op}({a}, {b})" if op in ("max", "min") else f"{a} {op} {b}"
        if op == "**":
            expr = f"{a} ** {rng.choice(['2', '3', '0.5'])}"
        if rng.random() < 0.6:
            fn = rng.choice(UNARY)
            expr = f"-({expr})" if fn == "-" else f"{fn}({expr})"
        lines.append(f"t{k} = {expr}")
        names.append(f"t{k}")
    result = " + ".join(names[-2:]) if rng.random() < 0.5 else names[-1]
    lines.append(f"sum({result})" if size else result)
    return "\n".join(lines), values


def _same(a: Any, b: Any, path: str) -> None:
    """a (records.py's) and b (records.js's) equal, numbers by value and by sign of zero."""
    if b == "-0.0" and isinstance(a, float):  # tools/records.mjs writes -0 so
        b = -0.0
    if isinstance(a, bool) or isinstance(b, bool):
        assert a is b, path
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)):
        assert a == b and math.copysign(1, a) == math.copysign(1, b), (path, a, b)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (path, a, b)
        for k, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{k}]")
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), (path, a, b)
        for key in a:
            _same(a[key], b[key], f"{path}.{key}")
    else:
        assert a == b, (path, a, b)


def requests(client: TestClient) -> list[dict[str, Any]]:
    """Every request compared: the gallery (and forward mode on its first six), the cases, and
    twelve random programs."""
    gallery = client.get("/api/v1/examples").json()
    bodies = [{"source": e["source"], "values": e["values"]} for e in gallery]
    for e in gallery[:6]:
        first = min(client.post("/api/v1/backprop", json={**bodies[0], "source": e["source"],
                                                         "values": e["values"], "check": False}
                                ).json()["gradients"])
        bodies.append({"source": e["source"], "values": e["values"], "mode": "forward",
                       "wrt": first})
    bodies += [{"source": s, "values": v, **extra} for s, v, extra in CASES]
    rng = random.Random(17)
    for _ in range(12):
        source, values = random_program(rng)
        bodies.append({"source": source, "values": values})
    return bodies


def test_the_pages_renderer_writes_exactly_the_v1_records(client: TestClient,
                                                          tmp_path: Path) -> None:
    bodies = requests(client)
    compact, spelled = [], []
    for body in bodies:
        v1, v2 = (client.post(f"/api/{v}/backprop", json=body) for v in ("v1", "v2"))
        assert v1.status_code == v2.status_code == 200, (body, v1.text)
        compact.append(v2.json())
        spelled.append(v1.json())
    (tmp_path / "answers.json").write_text(json.dumps(compact))
    done = subprocess.run(["node", str(SCRIPT), str(tmp_path / "answers.json")],
                          capture_output=True, text=True, check=True)
    rendered = json.loads(done.stdout)
    assert len(rendered) == len(bodies)
    for body, v1, js in zip(bodies, spelled, rendered):
        for key in KEYS:
            _same(v1[key], js[key], f"{body['source']!r} {key}")
        _same(v1["backward"], js["backward_reversed"], f"{body['source']!r} backward, last first")


def test_the_cases_reach_what_they_are_for(client: TestClient) -> None:
    """The cases hold kinks, broadcasting, fan-out, NaN and vector-Jacobian products (in words,
    and the generic phrase of an op without them): each
    sentence the renderers write from a template is written at least once."""
    texts = []
    for body in requests(client):
        answer = client.post("/api/v1/backprop", json=body).json()
        texts += [s["text"] for s in answer["backward"] + answer["forward"]]
    text = " ".join(texts)
    for part in ("on a kink", "summed over the axes broadcasting added", "fan-out",
                 "vector-Jacobian product", "the upstream copied back along axis 0",
                 "a scatter-add", "were read more than once", "nan", "an array of shape", "overriding the literal",
                 "Seed: the cotangent", "is an input", "Constant",
                 "your rule gives 0.5744 here; finite differences give 0.2445",
                 "here (element [2]); finite differences give"):
        assert part in text, part
