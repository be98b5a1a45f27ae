"""micrograd code pasted into the page as it is typed: augmented assignment and method calls."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

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
