"""micrograd in the page: its code pasted as it is typed (augmented assignment and method
calls), and a network read by from_micrograd(loss, model) played from its offline file."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
from chainrule import from_micrograd
from chainrule.export import offline_html
from micrograd.engine import Value
from micrograd.nn import MLP
from playwright.sync_api import Browser, Page, expect

from ..oracles import MORE_OPS_SOURCE, more_ops_by_micrograd
from . import ui


def test_pasting_micrograds_test_more_ops_runs_to_micrograds_gradients(
        page: Page, base_url: str, api: httpx.Client, artifacts: Path) -> None:
    answer = ui.backprop(api, MORE_OPS_SOURCE, {})
    ui.open_app(page, base_url)
    editor = page.get_by_label("Expression", exact=True)
    editor.fill("")
    editor.focus()
    page.keyboard.insert_text(MORE_OPS_SOURCE)  # as a paste: one input event, no key presses
    page.get_by_label("Values", exact=True).fill("")
    page.get_by_role("button", name="Run", exact=True).click()
    ui.expect_graph(page, answer)
    expect(page.locator("mark.error-span")).to_have_count(0)

    page.keyboard.press("End")
    expect(ui.slider(page)).to_have_value(str(len(ui.forward_steps(answer)) + len(answer["backward"]) - 1))
    _, micrograd = more_ops_by_micrograd()
    for name in ("a", "b"):
        shown = ui.shown_number(
            page.locator(f'#gradients tr[data-input="{name}"] .grad').text_content())
        assert ui.close(shown, micrograd[name]), (name, shown, micrograd[name])
    page.screenshot(path=artifacts / "micrograd-more-ops.png")

    relu = next(n for n in answer["nodes"] if n["op"] == "relu")
    ui.node(page, relu["id"]).hover()
    expect(page.locator(".node-span")).to_have_text("(b + a).relu()")


def test_an_mlps_offline_file_shows_its_parameters_by_place_with_micrograds_gradients(
        built_frontend: Path, browser: Browser, tmp_path: Path, artifacts: Path) -> None:
    random.seed(3)
    model = MLP(2, [2, 1])
    scores = [model([Value(x0), Value(x1)]) for x0, x1 in ((0.5, -1.0), (1.5, 0.25))]
    loss: Any = sum((1 + -y * s).relu() for y, s in zip((1.0, -1.0), scores)) * 0.5 \
        + 1e-4 * sum(p * p for p in model.parameters())
    result = from_micrograd(loss, model)
    loss.backward()
    out = tmp_path / "mlp.html"
    out.write_text(offline_html(result))
    page, blocked, errors = ui.open_offline(browser, out)
    expect(ui.nodes(page)).to_have_count(len(result.nodes))
    page.keyboard.press("End")
    names = [f"layers[{i}].neurons[{j}].{p}" for i, layer in enumerate(model.layers)
             for j, neuron in enumerate(layer.neurons) for p in ("w[0]", "w[1]", "b")
             if p != "w[1]" or len(neuron.w) > 1]
    ui.expect_gradients(page, {name: p.grad for name, p in zip(names, model.parameters(),
                                                                 strict=True)})
    page.screenshot(path=artifacts / "micrograd-mlp-offline.png")
    page.context.close()
    assert not blocked and not errors, (blocked, errors)
