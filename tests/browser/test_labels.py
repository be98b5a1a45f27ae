"""Labels are data: a card shows its op's symbol from the op table, never a piece of a formula."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page, expect

from . import ui


def test_a_max_node_is_labelled_max_and_a_named_one_shows_its_symbol(
        page: Page, base_url: str, api: httpx.Client) -> None:
    source = "m = max(x, y)\nmax(m, y) * sigmoid(y)"
    answer = ui.backprop(api, source, {"x": 3.0, "y": 2.0})
    symbols = {op["name"]: op["symbol"] for op in api.get("/api/v1/ops").json()}
    ui.open_app(page, base_url)
    ui.run(page, source, "x=3, y=2")
    ui.expect_graph(page, answer)
    for node in answer["nodes"]:
        if node["op"] not in symbols:
            continue
        label = ui.node(page, node["id"]).locator(".node-label")
        if node["name"]:  # the name, then the op's symbol beside it: two words, as it reads
            expect(label).to_have_text(f"{node['name']} {symbols[node['op']]}")
            expect(label.locator(".node-sub")).to_have_text(symbols[node["op"]])
        else:
            expect(label).to_have_text(symbols[node["op"]])
    unnamed_max = [n for n in answer["nodes"] if n["op"] == "max" and not n["name"]]
    assert len(unnamed_max) == 1
    expect(ui.node(page, unnamed_max[0]["id"]).locator(".node-label")).to_have_text("max")
    expect(ui.nodes(page).filter(has_text="max(,")).to_have_count(0)
    expect(ui.nodes(page).filter(has_text="σ")).to_have_count(1)
