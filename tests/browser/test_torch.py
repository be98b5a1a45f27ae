"""A PyTorch model in the notebook widget and in the offline file: `show(from_torch(...))` and
`chainrule torch script.py:fn -o steps.html` play its steps to torch's own `.grad`, each node
pointing into the model's source, and one nn.Linear's backward steps can be stepped through;
the gallery notebook docs/torch.ipynb runs, cell by cell, to torch's gradients."""

from __future__ import annotations

import ast
import json
import linecache
import re
import runpy
import subprocess
import sys
from pathlib import Path

import anywidget
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from chainrule import from_torch, show
from chainrule.answer.models import Answer
from chainrule.export import offline_html
from chainrule.widget import StepsWidget
from playwright.sync_api import Browser, Locator, Page, expect
from torch import nn

from . import ui
from .conftest import REPO_ROOT
from .test_widget import compact, open_widget

NOTEBOOK = REPO_ROOT / "docs" / "torch.ipynb"


class Classifier(nn.Module):
    """2-8-3, tanh: its forward is ours, so the nodes point into it."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden, self.out = nn.Linear(2, 8), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(x)))


def _classifier() -> tuple[Classifier, torch.Tensor, torch.Tensor]:
    torch.manual_seed(4)
    x = torch.randn(20, 2, dtype=torch.float64)
    return Classifier().double(), x, (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()


def _torch_grads(model: nn.Module, loss: torch.Tensor) -> dict[str, np.ndarray]:
    loss.backward()
    return {name: p.grad.numpy() for name, p in model.named_parameters()}  # type: ignore[union-attr]


def _expect_torchs_gradients(page: Page, grads: dict[str, np.ndarray]) -> None:
    """The Gradients table is complete and each row holds torch's `.grad` (its exact value)."""
    ui.expect_gradients(page, {})
    for name, grad in grads.items():
        shown = page.locator(f'#gradients tr[data-input="{name}"]').get_attribute("data-value")
        np.testing.assert_allclose(np.array(json.loads(shown or "null")), grad, rtol=1e-6)


def _backward_steps_of(result: Answer, group: str) -> list[tuple[int, str]]:
    """(the player's step, its node) for each backward step of a node of `group`: the player
    shows the forward steps first, constants aside (ui.forward_steps)."""
    groups = result.groups
    assert groups is not None
    index = groups.name.index(group)
    members = {f"n{i}" for i, g in enumerate(groups.node_group) if g == index}
    constants = {n.id for n in result.nodes if n.op == "const"}
    start = sum(1 for s in result.forward if s.node not in constants)
    return [(start + k, s.node) for k, s in enumerate(result.backward) if s.node in members]


def test_show_of_from_torch_is_a_widget_holding_its_answer(built_frontend: Path) -> None:
    model, x, y = _classifier()
    result = from_torch(lambda: F.cross_entropy(model(x), y), model)
    widget = show(result)
    assert isinstance(widget, anywidget.AnyWidget)
    assert compact(widget.answer) == json.loads(result.compact_json())
    assert widget.answer["gradients"].keys() == dict(model.named_parameters()).keys()


def test_the_widget_steps_one_linear_backward_and_ends_at_torchs_gradients(
        built_frontend: Path, browser: Browser, artifacts: Path) -> None:
    model, x, y = _classifier()
    result = from_torch(lambda: F.cross_entropy(model(x), y), model)
    page, blocked = open_widget(browser, show(result))
    expect(page.locator("#output .player-view")).to_have_attribute("data-status", "ready")
    expect(ui.nodes(page)).to_have_count(len(result.nodes))

    steps = _backward_steps_of(result, "model.out")
    ops = [next(n.op for n in result.nodes if n.id == node) for _, node in steps]
    assert ops == ["add", "matmul", "transpose"]  # x @ W.T + b, from the output back
    current = page.locator('svg#graph [aria-current="step"]')
    for step, node in steps:
        page.evaluate(f"window.model.set('step', {step})")  # as Python's `widget.step = step`
        expect(current).to_have_attribute("data-id", node)
    # The player's title shows the source the spans point into: the model's own forward.
    expect(page.locator(".pv-source")).to_contain_text("torch.tanh(self.hidden(x))")

    page.locator("#output .player-view").focus()
    page.keyboard.press("End")
    _expect_torchs_gradients(page, _torch_grads(model, F.cross_entropy(model(x), y)))
    page.screenshot(path=artifacts / "torch-widget-end.png")
    page.context.close()
    assert not blocked, blocked


SCRIPT = """
import torch
import torch.nn.functional as F

torch.manual_seed(5)
model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
model = model.double()
x = torch.randn(10, 2, dtype=torch.float64)
y = torch.randn(10, dtype=torch.float64)


def setup():
    return (lambda: F.mse_loss(model(x).squeeze(1), y)), model
"""


def test_the_command_lines_offline_file_plays_a_torch_model_to_torchs_gradients(
        built_frontend: Path, browser: Browser, tmp_path: Path, artifacts: Path) -> None:
    script, out = tmp_path / "regress.py", tmp_path / "regress.html"
    script.write_text(SCRIPT)
    run = subprocess.run([sys.executable, "-m", "chainrule", "torch", f"{script}:setup", "-o",
                          str(out)], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"wrote {out}")
    loss_fn, model = runpy.run_path(str(script))["setup"]()

    page, blocked, errors = ui.open_offline(browser, out)
    page.keyboard.press("End")
    _expect_torchs_gradients(page, _torch_grads(model, loss_fn()))
    page.screenshot(path=artifacts / "torch-offline-end.png")
    page.context.close()
    assert not blocked and not errors, (blocked, errors)


def run_notebook(path: Path) -> tuple[list[object], dict[str, object]]:
    """Each code cell run in order in one namespace, as Jupyter runs them: the cell's source in
    linecache under its own file name (so that `inspect` finds it), its last expression the
    cell's output. Returns the outputs (None for a cell without one) and the namespace."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    outputs: list[object] = []
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    for k, cell in enumerate(cells):
        source = "".join(cell["source"])
        filename = f"<{path.name} cell {k}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        tree = ast.parse(source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 (our own notebook)
        outputs.append(None if last is None else eval(
            compile(ast.Expression(last.value), filename, "eval"), namespace))
    return outputs, namespace


def test_the_gallery_notebook_runs_cell_by_cell_to_torchs_gradients(
        built_frontend: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs, namespace = run_notebook(NOTEBOOK)
    result = namespace["result"]
    assert isinstance(result, Answer)
    assert outputs[1] == (result.output.value, True), "the loss, and the check passed"
    assert isinstance(outputs[2], StepsWidget)
    assert "return F.cross_entropy(model(x), labels)" in result.source
    assert not result.warnings
    printed = capsys.readouterr().out
    for name in ("2.weight", "2.bias"):  # the Linear's steps end at its parameters
        assert f"{name} is an input: all its contributions are in" in printed
    assert outputs[-1] == {"0.weight": True, "0.bias": True, "2.weight": True, "2.bias": True}


def test_the_offline_file_folds_the_model_by_module_and_steps_one_linear_opened(
        built_frontend: Path, browser: Browser, tmp_path: Path, artifacts: Path) -> None:
    model, x, y = _classifier()
    result = from_torch(lambda: F.cross_entropy(model(x), y), model)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    out = tmp_path / "classifier.html"
    out.write_text(offline_html(result))
    page, blocked, errors = ui.open_offline(browser, out)
    assert not blocked and not errors, (blocked, errors)
    # A small model opens whole, each module a frame; folded, each module is one box.
    expect(page.locator('.frame[data-id] .frame-title', has_text="model.hidden")).to_have_count(1)
    page.get_by_role("button", name="Fold all", exact=True).click()
    expect(page.locator(".node.group-box")).to_have_count(2)  # the model and the loss
    _box(page, "model").locator(".fold-toggle").click()
    expect(_box(page, "hidden")).to_have_count(1)
    expect(_box(page, "out")).to_have_count(1)
    page.keyboard.press("End")
    # Backward, box by box: the loss, then model.out's whole run, with its parameters' norm.
    narration = page.locator("#narration")
    for _ in range(10):
        if "model.out" in (narration.text_content() or ""):
            break
        page.get_by_role("button", name="Previous step", exact=True).click()
    expect(narration).to_contain_text("Backward through layer model.out")
    grads = [p.grad for p in model.out.parameters()]
    norm = float(sum((g ** 2).sum() for g in grads if g is not None) ** 0.5)
    shown = ui.numbers_in((narration.text_content() or "").split("‖ =")[1])[0]
    assert ui.close(shown, norm), (shown, norm)
    # Opened, nn.Linear's own steps: the add, the matmul, the transpose, one by one.
    _box(page, "out").locator(".fold-toggle").click()
    expect(page.locator('.frame .frame-title', has_text="model.out")).to_have_count(1)
    seen, chain_rule = set(), 0
    for _ in range(8):  # back through model.out's backward steps, each its own node now
        page.get_by_role("button", name="Previous step", exact=True).click()
        current = ui.current_node(page)
        if "group-box" not in (current.get_attribute("class") or ""):
            seen.add(current.get_attribute("data-id"))
            chain_rule += page.locator("#step-panel .legend-line").count()
    ops = {n.op for n in result.nodes if n.id in seen}
    assert {"matmul", "add"} <= ops, ops
    assert chain_rule, "upstream × local = contribution, step by step inside the Linear"
    page.screenshot(path=artifacts / "torch-linear-opened.png")


def _box(page: Page, name: str, kind: str = "layer") -> Locator:
    """The box of the closed group named `name` (as its card shows it: the name, its kind)."""
    label = page.locator(".node-label", has_text=re.compile(rf"^{re.escape(name)}\s*{kind}$"))
    return page.locator(".node.group-box").filter(has=label)
