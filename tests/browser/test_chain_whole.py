"""The chain rule seen whole, in the browser: the Paths panel (the sum over paths, a path on
the graph) and the Jacobian panel (a heatmap filled row by row or column by column)."""

from __future__ import annotations

import math
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from . import ui

DIAMOND = "a = x*y; b = a + x; c = sin(a) * b; c + x*x"
DIAMOND_VALUES = {"x": 0.7, "y": -1.3}


def paths_answer(api: httpx.Client, wrt: str) -> dict[str, Any]:
    r = api.post("/api/v1/paths", json={"source": DIAMOND, "values": DIAMOND_VALUES,
                                        "wrt": wrt, "limit": 20})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_paths_panel_lists_every_path_and_its_sum_is_the_gradient(
        page: Page, base_url: str, api: httpx.Client) -> None:
    ui.open_app(page, base_url)
    ui.run(page, DIAMOND, "x=0.7, y=-1.3")
    panel = page.locator("#paths")
    expected = paths_answer(api, "x")
    items = panel.locator("#paths-list button.path")
    expect(items).to_have_count(len(expected["paths"]))
    expect(panel.locator(".paths-count")).to_have_attribute("data-count", expected["count_text"])
    products = [float(b) for b in items.evaluate_all("els => els.map(e => e.dataset.product)")]
    gradient = ui.backprop(api, DIAMOND, DIAMOND_VALUES)["gradients"]["x"]
    assert math.isclose(math.fsum(products), gradient, rel_tol=1e-9)
    shown = float(panel.locator(".listed-sum").get_attribute("data-value") or "nan")
    assert math.isclose(shown, gradient, rel_tol=1e-9)
    expect(panel.locator(".paths-gradient")).to_have_attribute("data-value", str(gradient))

    # Press the second path: its nodes and edges light up on the graph, nothing else.
    path = expected["paths"][1]
    items.nth(1).click()
    expect(items.nth(1)).to_have_attribute("aria-pressed", "true")
    lit = page.locator("svg#graph g.node.on-path")
    expect(lit).to_have_count(len(path["nodes"]))
    assert sorted(lit.evaluate_all("els => els.map(e => e.dataset.id)")) == sorted(path["nodes"])
    lit_edges = page.locator("svg#graph path.edge.on-path")
    assert sorted(lit_edges.evaluate_all("els => els.map(e => e.dataset.id)")) == sorted(
        path["edges"])
    items.nth(1).click()  # pressed again: the graph is whole again
    expect(lit).to_have_count(0)


def test_the_paths_panel_follows_the_chosen_input(page: Page, base_url: str,
                                                  api: httpx.Client) -> None:
    ui.open_app(page, base_url)
    ui.run(page, DIAMOND, "x=0.7, y=-1.3")
    page.get_by_label("Input", exact=True).select_option("y")
    expected = paths_answer(api, "y")
    panel = page.locator("#paths")
    expect(panel.locator(".paths-count")).to_contain_text("from y to the output")
    expect(panel.locator("#paths-list button.path")).to_have_count(expected["count"])


def test_an_array_node_on_the_way_says_why_there_are_no_paths(page: Page,
                                                              base_url: str) -> None:
    ui.open_app(page, base_url)
    ui.run(page, "sum(W * x)", '{"x": 2, "W": [1, 2]}')
    expect(page.locator("#paths-error")).to_contain_text("paths multiply scalar local derivatives")
    expect(page.locator("#paths-list button.path")).to_have_count(0)
