"""A kink is shown on its node and in the narration, with the rule actually used."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from . import ui


def test_a_tie_of_max_is_marked_on_its_card_and_narrated(
        page: Page, base_url: str, api: httpx.Client, artifacts: Path) -> None:
    answer = ui.backprop(api, "max(x, y) * 3", {"x": 2.0, "y": 2.0})
    kink = next(w for w in answer["warnings"] if w["kind"] == "kink")
    ui.open_app(page, base_url)
    ui.run(page, "max(x, y) * 3", "x=2, y=2")
    ui.expect_graph(page, answer)
    card = ui.node(page, kink["node"])
    expect(card).to_have_class(ui.re.compile(r"\bkink\b"))
    expect(card.locator(".node-sub")).to_contain_text("kink")
    expect(page.locator("#warnings")).to_contain_text("from the left 0, from the right 1")
    step = next(s for s in answer["backward"] if s["node"] == kink["node"])
    narration = page.locator("#narration")
    for _ in range(len(answer["forward"]) + len(answer["backward"])):
        if narration.text_content() == step["text"]:
            break
        page.get_by_role("button", name="Next step", exact=True).click()
    expect(narration).to_have_text(step["text"])
    expect(narration).to_contain_text("on a kink")
    expect(ui.current_node(page)).to_have_attribute("data-id", kink["node"])
    assert [t["local"] for t in step["terms"]] == [0.5, 0.5]
    page.screenshot(path=artifacts / "kink-max-tie.png")
