"""The Gradient check panel says which check ran, over what and why: element by element for a
small expression, by random directions per input tensor for a layer of 154 numbers, and, for a
wrong derivative rule, the tensors it pins the error to. Screenshots of it at a laptop's and a
phone's width, light and dark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect

from . import ui
from .conftest import TIMEOUT_MS


def _layer_source(rule: bool = False) -> str:
    """A tanh layer (W 12x10, x, b, w: 154 numbers) as literals, then its weighted sum; with
    `rule`, its activation a function with the classic wrong derivative rule."""
    rng = np.random.default_rng(1)
    lines = [f"{name} = {np.round(rng.standard_normal(shape), 2).tolist()}"
             for name, shape in (("W", (12, 10)), ("x", (10,)), ("b", (12,)), ("w", (12,)))]
    if rule:
        lines.insert(0, "@derivative(lambda u: sigmoid(u))\ndef act(u):\n"
                        "    return 1 / (1 + exp(-u))\n")
    return "\n".join([*lines, f"sum({'act' if rule else 'tanh'}(W @ x + b) * w)"])


def _run(page: Page, base_url: str, api: httpx.Client, source: str, values: str = ""
         ) -> dict[str, Any]:
    answer = ui.backprop(api, source, {})
    ui.open_app(page, base_url)
    ui.run(page, source, values)
    ui.expect_graph(page, answer)
    return answer


def test_a_small_expression_is_checked_element_by_element(ran: Page) -> None:
    check = ran.locator("#check")
    expect(check.locator(".check-kind")).to_have_attribute("data-kind", "elements")
    expect(check.locator(".check-kind")).to_contain_text(
        "Checked element by element: each of 2 input elements on its own.")
    expect(check.locator(".check-why")).to_contain_text("Why: 2 input elements, at most 100")
    expect(check.get_by_role("group", name="Gradient check table").locator("tbody tr")
           ).to_have_count(2)


def test_a_layer_is_checked_by_directions_over_every_tensor(
        page: Page, base_url: str, api: httpx.Client) -> None:
    answer = _run(page, base_url, api, _layer_source())
    assert answer["check"]["kind"] == "directions"
    check = page.locator("#check")
    expect(check.locator(".verdict")).to_have_text("✓ Backprop agrees with finite differences.")
    expect(check.locator(".check-kind")).to_contain_text(
        "Checked by random directions: 1 random direction v for each of 4 of 4 input "
        "tensors (154 of 154 elements, all)")
    expect(check.locator(".check-why")).to_contain_text("Why: 154 input elements, over 100")
    tensors = check.get_by_role("group", name="Input tensors the check covered")
    expect(tensors.locator("tbody tr")).to_have_count(4)
    expect(tensors.locator("tbody tr").first).to_contain_text("W[12×10]1–✓")
    directions = check.get_by_role("group", name="Gradient check by directions")
    expect(directions.locator("tbody tr")).to_have_count(4)
    expect(directions.locator("tbody tr.bad")).to_have_count(0)
    expect(check).to_contain_text("8 function evaluations (2 per direction); element by "
                                  "element would take 2N = 308.")


def test_a_wrong_rule_is_pinned_to_the_tensors_behind_it(
        page: Page, base_url: str, api: httpx.Client) -> None:
    _run(page, base_url, api, _layer_source(rule=True))
    check = page.locator("#check")
    expect(check.locator(".verdict")).to_have_text(
        "✗ Backprop and finite differences disagree somewhere.")
    tensors = check.get_by_role("group", name="Input tensors the check covered")
    bad = tensors.locator("tbody tr.bad")
    expect(bad).to_have_count(3)
    assert sorted(bad.evaluate_all("(rows) => rows.map((r) => r.dataset.input)")) == [
        "W", "b", "x"]
    expect(tensors.locator('tbody tr[data-input="w"]')).not_to_have_class("bad")
    expect(check.locator(".check-kind")).to_contain_text(
        "Then element by element: W (120), x (10), b (12).")
    elements = check.get_by_role("group", name="Gradient check table")
    expect(elements.locator("caption")).to_have_text(
        "The tensors that disagreed, element by element")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_screenshots_of_the_check_panel(browser: Browser, base_url: str, api: httpx.Client,
                                        artifacts: Path, scheme: str, width: int,
                                        height: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  color_scheme=scheme)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        _run(page, base_url, api, _layer_source(rule=True))
        panel = page.locator("#check")
        panel.scroll_into_view_if_needed()
        expect(panel.locator(".check-kind")).to_be_visible()
        box = panel.bounding_box()
        assert box is not None and box["width"] <= width, "the panel fits the screen's width"
        panel.screenshot(path=artifacts / f"check-panel-{width}-{scheme}.png")
    finally:
        context.close()


def test_the_offline_file_says_which_check_ran(built_frontend: Path, browser: Browser,
                                               tmp_path: Path) -> None:
    out = tmp_path / "layer.html"
    done = subprocess.run([sys.executable, "-m", "chainrule", "export-html", _layer_source(),
                           "-o", str(out)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    page, _blocked, errors = ui.open_offline(browser, out)
    try:
        check = page.locator("#check")
        expect(check.locator(".check-kind")).to_contain_text(
            "Checked by random directions: 1 random direction v for each of 4 of 4 input "
            "tensors (154 of 154 elements, all)")
        # In the closed "Gradient check and cost" box: found by its label, not its role.
        expect(check.locator('[aria-label="Input tensors the check covered"] tbody tr')
               ).to_have_count(4)
        assert errors == []
    finally:
        page.context.close()
