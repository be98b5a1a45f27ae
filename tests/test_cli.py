"""The command line, run as a user runs it: the installed `chainrule` script and
`python -m chainrule`, checked by their output and exit status."""

from __future__ import annotations

import json
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from chainrule import backprop

from .oracles import MORE_OPS_SOURCE, assert_close, more_ops_by_micrograd

SCRIPT = shutil.which("chainrule") or str(Path(sys.executable).parent / "chainrule")


def run(*args: str, module: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "chainrule"] if module else [SCRIPT]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.mark.parametrize("module", [False, True])
def test_prints_every_section_as_tables(module: bool) -> None:
    r = run("sin(x*y) + x**2", "x=1.5", "y=2", module=module)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for heading in ("Forward pass", "Backward pass", "Gradients", "Gradient check, element by element",
                    "Cost for N = 2 input elements"):
        assert heading in out
    assert "-0.989992 × 2 = -1.97998" in out  # upstream × local = contribution
    assert "3 + -1.97998 = 1.02002 (fan-out)" in out  # x's two contributions add up
    assert "all within tolerance" in out


def test_json_is_the_apis_answer() -> None:
    r = run("sin(x*y) + x**2", "x=1.5", "y=2", "--json")
    assert r.returncode == 0
    expected = backprop("sin(x*y) + x**2", x=1.5, y=2).model_dump_json(by_alias=True)
    body, want = json.loads(r.stdout), json.loads(expected)
    for entries in (body["check"]["entries"], want["check"]["entries"]):
        for entry in entries:  # the finite differences' last digits are not the point here
            entry.pop("rel_error"), entry.pop("abs_error")
    assert body == want


def test_forward_mode_shows_tangents() -> None:
    r = run("sin(x*y) + x**2", "x=1.5", "y=2", "--mode", "forward", "--wrt", "x")
    assert r.returncode == 0, r.stderr
    assert "Forward mode: d(node)/dx" in r.stdout
    assert "d(output)/dx = 1.02002" in r.stdout
    assert "Backward pass" not in r.stdout


def test_array_values_are_json() -> None:
    r = run("sum(W @ x)", "W=[[1,2],[3,4]]", "x=[1,1]", module=True)
    assert r.returncode == 0, r.stderr
    assert "[[1., 1.], [1., 1.]]" in r.stdout and "[4., 6.]" in r.stdout


def test_mistake_exits_2_with_a_caret_under_the_span() -> None:
    r = run("a = x*2; sin(a*z)", "x=1")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines[0].startswith("error: unknown name 'z'")
    assert lines[1] == "  a = x*2; sin(a*z)"
    assert lines[2] == "  " + " " * 15 + "^"
    assert r.stdout == ""


@pytest.mark.parametrize("args", [
    ["x**2", "x=oops"],
    ["x**2", "1x=2"],
    ["x**2", "x=1", "--mode", "forward"],
    ["x**2", "x=__import__('os')"],
])
def test_bad_arguments_exit_2(args: list[str]) -> None:
    r = run(*args)
    assert r.returncode == 2
    assert "error" in r.stderr


def test_paths_lists_each_path_and_the_sum() -> None:
    r = run("a = x*y; b = a + x; b*a", "x=2", "y=3", "--paths", "--wrt", "x")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "3 paths from x to the output; every path" in out
    assert "x → a → b → b * a" in out and "3 × 1 × 6" in out
    # d/dx of (x*y + x) * x*y = 2*x*y^2 + 2*x*y at x = 2, y = 3.
    assert f"sum of the listed products = {2 * 2 * 9 + 2 * 2 * 3:g}" in out
    assert f"backprop's gradient         = {2 * 2 * 9 + 2 * 2 * 3:g}" in out


def test_paths_with_a_limit_say_what_the_rest_adds() -> None:
    r = run("a = x*y; b = a + x; b*a", "x=2", "y=3", "--paths", "--wrt", "x", "--limit", "1")
    assert r.returncode == 0, r.stderr
    assert "the 1 largest by |product|" in r.stdout
    assert "the other paths add" in r.stdout


def test_paths_need_wrt() -> None:
    r = run("x*y", "x=1", "y=2", "--paths")
    assert r.returncode == 2
    assert "--paths needs --wrt" in r.stderr


def test_micrograds_test_more_ops_runs_from_the_command_line() -> None:
    r = run(MORE_OPS_SOURCE, "--json")
    assert r.returncode == 0, r.stderr
    output, gradients = more_ops_by_micrograd()
    body = json.loads(r.stdout)
    assert_close(body["output"]["value"], output)
    assert_close(body["gradients"]["a"], gradients["a"])
    assert_close(body["gradients"]["b"], gradients["b"])


def test_jacobian_prints_a_row_per_output_element() -> None:
    r = run("x * y", "x=[1,2]", "y=3", "--jacobian", "--no-check")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "Jacobian d(output)/d(inputs): 2 × 3" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line.strip().startswith("out[")}
    # d(x_i * y)/d(x_j) = y [i == j], d(x_i * y)/dy = x_i
    assert [float(v) for v in rows["out[0]"]] == [3, 0, 1]
    assert [float(v) for v in rows["out[1]"]] == [0, 3, 2]
    assert "M = 2 output elements: backprop 1 forward + 2 backward passes" in out


def test_seed_starts_the_backward_pass() -> None:
    r = run("x * y", "x=[1,2]", "y=3", "--seed", "[1,-1]", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["seed"]["value"] == [1.0, -1.0]
    assert body["gradients"] == {"x": [3.0, -3.0], "y": 1.0 * 1 - 2.0}


TORCH_SCRIPT = """
import torch
import torch.nn.functional as F

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
model = model.double()
x = torch.randn(4, 2, dtype=torch.float64)
labels = torch.tensor([0, 1, 1, 0])


def setup():
    return (lambda: F.cross_entropy(model(x), labels)), model


w = torch.tensor([0.5, -1.5], dtype=torch.float64, requires_grad=True)


def loss():
    return torch.sigmoid(w * 3).sum()


def sorted_loss():
    return torch.sort(w).values.sum()
"""


@pytest.fixture
def torch_script(tmp_path: Path) -> Path:
    script = tmp_path / "train.py"
    script.write_text(TORCH_SCRIPT)
    return script


def test_torch_reads_a_scripts_model_and_loss_to_torchs_gradients(torch_script: Path) -> None:
    r = run("torch", f"{torch_script}:setup", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    loss_fn, model = runpy.run_path(str(torch_script))["setup"]()
    loss = loss_fn()
    loss.backward()
    assert_close(body["output"]["value"], float(loss.detach()))
    for name, parameter in model.named_parameters():
        assert_close(body["gradients"][name], parameter.grad.numpy(), rtol=1e-6)
    assert body["check"]["ok"]
    assert "lambda: F.cross_entropy(model(x), labels)" in body["source"]


def test_torch_prints_the_steps_of_a_loss_function_as_tables(torch_script: Path) -> None:
    r = run("torch", f"{torch_script}:loss", module=True)
    assert r.returncode == 0, r.stderr
    for heading in ("Forward pass", "Backward pass", "Gradients", "Gradient check"):
        assert heading in r.stdout
    w = torch.tensor([0.5, -1.5], dtype=torch.float64, requires_grad=True)
    torch.sigmoid(w * 3).sum().backward()
    checked = [line.split()[:3] for line in r.stdout.splitlines() if line.startswith("  t0 ")]
    assert [["t0", f"[{k}]", f"{float(g):.6g}"] for k, g in enumerate(w.grad)] == checked[-2:]


def test_torch_takes_the_texts_options(torch_script: Path) -> None:
    r = run("torch", f"{torch_script}:setup", "--json", "--mode", "forward", "--wrt",
            "0.bias", "--of", "model.2", "--seed", "[[1, 0], [0, 1], [1, 1], [0, 0]]",
            "--no-check")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["output"]["shape"] == [4, 2] and body["check"] is None
    script = runpy.run_path(str(torch_script))
    model, x = script["model"], script["x"]
    seed = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    (model(x) * seed).sum().backward()
    assert_close(body["gradients"]["0.bias"], model[0].bias.grad.numpy(), rtol=1e-9)
    bias = model[0].bias.detach()
    _, tangent = torch.autograd.functional.jvp(
        lambda b: torch.func.functional_call(model, {"0.bias": b}, (x,)), bias,
        torch.ones_like(bias))
    assert_close(body["tangent"]["derivative"], tangent.numpy(), rtol=1e-9)


@pytest.mark.parametrize(("target", "message"), [
    ("train.py", "name a script and a function in it"),
    ("missing.py:setup", "no such file: missing.py"),
    ("{script}:nothing", "has no function nothing"),
])
def test_torch_refuses_a_target_it_cannot_find(torch_script: Path, target: str,
                                              message: str) -> None:
    r = run("torch", target.format(script=torch_script))
    assert r.returncode == 2
    assert message in r.stderr


def test_torch_reports_an_unsupported_op_with_its_line_and_exits_2(torch_script: Path) -> None:
    r = run("torch", f"{torch_script}:sorted_loss")
    assert r.returncode == 2
    line = TORCH_SCRIPT.splitlines().index("    return torch.sort(w).values.sum()") + 1
    assert r.stderr.startswith(f"error: torch.sort (train.py:{line}) is not supported")


WRONG_SIGMOID = ("@derivative(lambda x: sigmoid(x))\ndef sigmoid(x):\n    return 1 / (1 + exp(-x))"
                 "\n\ny = sigmoid(w * x + b)")


def test_a_wrong_rule_is_named_with_both_numbers_and_its_line() -> None:
    r = run(WRONG_SIGMOID, "w=0.8", "x=1.5", "b=-0.9")
    assert r.returncode == 0, r.stderr
    assert ("WRONG: your d sigmoid/dx at x = 0.3 gives 0.5744, finite differences give 0.2445"
            in r.stdout)
    assert "    @derivative(lambda x: sigmoid(x))\n    ^^^^" in r.stdout
    assert "    y = sigmoid(w * x + b)\n        ^^^^^^^^^^^^^^^^^^\n" in r.stdout
    body = json.loads(run(WRONG_SIGMOID, "w=0.8", "x=1.5", "b=-0.9", "--json").stdout)
    assert not body["check"]["ok"]
    assert [(rule["primitive"], rule["ok"]) for rule in body["check"]["rules"]] == [
        ("sigmoid", False)]


def test_a_right_rule_is_said_to_agree() -> None:
    source = WRONG_SIGMOID.replace("lambda x: sigmoid(x)", "lambda x: sigmoid(x) * (1 - sigmoid(x))")
    r = run(source, "w=0.8", "x=1.5", "b=-0.9")
    assert "ok: your d sigmoid/dx at x = 0.3 gives 0.2445, and so do finite differences" in r.stdout
    assert "all within tolerance" in r.stdout


def test_output_differentiates_the_named_line() -> None:
    r = run("a = x * y\nh = sin(a) + x\nh * h", "x=0.5", "y=2", "--output", "h", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert_close(body["gradients"]["x"], 2 * np.cos(1.0) + 1)
    assert body["output"]["label"] == "h"
    bad = run("a = x * y\na * 2", "x=0.5", "y=2", "--output", "h")
    assert bad.returncode == 2 and "error: the output 'h' is not a name" in bad.stderr


def test_a_function_error_points_at_its_span() -> None:
    r = run("def f(x):\n    return x * w\nf(y)", "y=1")
    assert r.returncode == 2
    assert r.stderr == ("error: unknown name 'w' in f: a function sees only its parameters (x); "
                        "pass w as an argument\n      return x * w\n                 ^\n")
