"""The Three ways panel: the V of finite differences on log-log axes and the formula's swell."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from . import ui

PROGRAM = "x = 1.5\ny = -2.0\nz = 0.5\nf = (x*y + sin(x)) * exp(z*x)"


def test_the_panel_plots_the_v_and_sets_the_swell_beside_backprop(
        page: Page, base_url: str, api: httpx.Client, artifacts: Path) -> None:
    answer = api.post("/api/v1/methods", json={"source": PROGRAM, "values": {}}).json()
    ui.open_app(page, base_url)
    ui.run(page, PROGRAM, "")
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    panel = page.locator("#methods")
    panel.get_by_role("button", name="Compare the three ways", exact=True).click()
    rows = panel.locator("#methods-table tbody tr")
    expect(rows).to_have_count(3)
    x, y, z = 1.5, -2.0, 0.5
    oracle = (y + math.cos(x)) * math.exp(z * x) + z * (x * y + math.sin(x)) * math.exp(z * x)
    row = panel.locator('#methods-table tr[data-input="x"]')
    assert ui.close(ui.shown_number(row.locator(".grad").text_content()), oracle)
    assert ui.close(ui.shown_number(row.locator(".symbolic").text_content()), oracle)
    expect(row.locator(".size")).to_have_text(str(answer["inputs"][0]["symbolic"]["size"]))
    plot = panel.locator("svg.methods-plot")
    expect(plot.locator("path.v-line")).to_have_count(2)
    expect(plot.locator("circle.v-dot.central")).to_have_count(len(answer["inputs"][0]["finite_differences"]["h"]))
    expect(panel.locator("#methods-summary")).to_contain_text("one forward and one backward pass")
    panel.get_by_label("Input", exact=True).select_option("y")
    expect(panel.locator("#methods-summary")).to_contain_text("d output/dy")
    panel.screenshot(path=artifacts / "methods-panel.png")
