"""The chain rule seen whole, in the browser: the Paths panel (the sum over paths, a path on
the graph) and the Jacobian panel (a heatmap filled row by row or column by column)."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import numpy as np
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
    page.get_by_label("Paths from", exact=True).select_option("y")
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


W = [[1.0, -2.0], [3.0, 4.0], [-5.0, 6.0]]
X = [0.1, 0.2]

# Records, in order, the (row, column) of each heatmap cell as it fills in.
RECORD_FILL = """() => {
  window.__filled = [];
  window.__observer?.disconnect();
  const figure = document.querySelector('#jacobian-figure');
  window.__observer = new MutationObserver((records) => {
    for (const r of records) {
      const cell = r.target;
      if (r.attributeName === 'class' && cell.classList.contains('filled')) {
        window.__filled.push([Number(cell.dataset.row), Number(cell.dataset.col)]);
      }
    }
  });
  window.__observer.observe(figure, { attributes: true, subtree: true, attributeFilter: ['class'] });
}"""


def numeric_jacobian() -> list[list[float]]:
    """d(W @ sin(x)) / d(W, x) by central differences, columns W's elements then x's."""
    w, x, h = np.array(W), np.array(X), 1e-6
    flat = np.concatenate([w.ravel(), x])

    def f(v: np.ndarray) -> np.ndarray:
        return v[:6].reshape(3, 2) @ np.sin(v[6:])
    columns = []
    for k in range(flat.size):
        e = np.zeros(flat.size)
        e[k] = h
        columns.append((f(flat + e) - f(flat - e)) / (2 * h))
    return np.array(columns).T.tolist()


def test_the_jacobian_fills_row_by_row_then_column_by_column(page: Page,
                                                            base_url: str) -> None:
    ui.open_app(page, base_url)
    panel = page.locator("#jacobian")
    expect(panel).to_be_hidden()  # the starting example's output is a scalar
    ui.run(page, "W @ sin(x)", json.dumps({"W": W, "x": X}))
    expect(panel).to_be_visible()
    figure = page.locator("#jacobian-figure")
    expect(figure).to_have_attribute("data-done", "true")
    cells = figure.locator("g.cell")
    expect(cells).to_have_count(3 * 8)
    shown = np.zeros((3, 8))
    for cell in cells.evaluate_all(
            "els => els.map(e => [+e.dataset.row, +e.dataset.col, +e.dataset.value])"):
        shown[int(cell[0]), int(cell[1])] = cell[2]
    np.testing.assert_allclose(shown, numeric_jacobian(), rtol=1e-6, atol=1e-9)
    expect(page.locator("#jacobian-caption")).to_contain_text("3 backward passes")

    page.evaluate(RECORD_FILL)
    page.get_by_role("button", name="Replay").click()
    expect(figure).to_have_attribute("data-done", "true")
    rows = [r for r, _ in page.evaluate("window.__filled")]
    assert len(rows) == 24 and rows == sorted(rows)  # a row per backward pass, in order

    page.evaluate(RECORD_FILL)
    page.get_by_label("Forward mode (a column per pass)").check()
    expect(figure).to_have_attribute("data-order", "forward")
    expect(figure).to_have_attribute("data-done", "true")
    columns = [c for _, c in page.evaluate("window.__filled")]
    assert len(columns) == 24 and columns == sorted(columns)  # a column per forward pass
    expect(page.locator("#jacobian-caption")).to_contain_text("8 passes")
