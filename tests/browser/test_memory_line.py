"""The memory of reverse mode in the page: under the player, the tape's bytes at every step
with its peak, and "kept" over each card whose forward value the tape holds. Counted here by
hand for x*y + sin(x): the backward step of x*y reads x and y (each operand's local
derivative is the other), sin's reads x; x*y and sin(x) are held until the sum is computed."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from . import ui


def kept(page: Page) -> set[str]:
    """The labels of the cards marked kept."""
    return set(page.locator("svg#graph g.node.kept .node-label").evaluate_all(
        "els => els.map(el => el.firstChild.textContent.trim())"))


def test_the_tape_is_drawn_under_the_player_and_over_the_cards_it_keeps(page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    page.get_by_label("Examples", exact=True).select_option(label="Product and sine")
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    line = page.locator("#memory-line")
    expect(line).to_be_visible()
    expect(line.locator(".memory-chart .memory-peak")).to_have_count(1)
    ui.step_to(page, 3)  # the forward step of sin(x): x, y, x*y and sin(x) all held
    assert kept(page) == {"x", "y", "×", "sin"}, kept(page)
    expect(line).to_contain_text("4 kept")
    expect(page.locator("svg#graph g.node.kept .kept-mark").first).to_be_visible()
    page.keyboard.press("End")  # every backward step done: nothing is kept for it any more
    assert kept(page) == set(), kept(page)
    expect(line).to_contain_text("0 kept")
