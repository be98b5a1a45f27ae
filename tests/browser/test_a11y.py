"""The page, audited by a tool no one here wrote: axe-core (frontend/package.json pins it) finds
no serious or critical violation in the states a learner sees, in both themes; and what axe
cannot judge by itself: a focus ring on the current step's card, the skip link, the cards'
names, the size of the mode radios."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from . import ui
from .conftest import REPO_ROOT

AXE = REPO_ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")
EMBED = "/embed#source=sin(x*y)&values=x=1.5,y=2&step=3"

# (state, size): the page as loaded (its first example run), the "Two-layer network" example
# at step 16 of 30 (its first backward step: pending gradients, the phase badge), the same on a
# phone, and the embed view.
STATES = [("loaded", "desktop"), ("two-layer", "desktop"), ("two-layer", "phone"),
          ("embed", "desktop"), ("card-key", "phone")]


def run_axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (every rule axe runs by default)."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "async () => axe.run(document, { resultTypes: ['violations'] })")
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def report(violations: list[dict[str, Any]]) -> str:
    """One line per violation and up to five of its elements, for a failing test's message."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}")
        for node in v["nodes"][:5]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


def open_state(page: Page, base_url: str, state: str) -> None:
    """Bring the page to one of STATES' states and wait until it is drawn."""
    if state == "embed":
        page.goto(base_url + EMBED)
        expect(page.locator("#player-root")).to_have_attribute("data-status", "ready")
        expect(ui.slider(page)).to_have_value("3")
        return
    ui.open_app(page, base_url)
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    if state == "two-layer":
        page.get_by_label("Examples", exact=True).select_option(label="Two-layer network")
        expect(page.locator("#step-count")).to_have_text("1 / 30")
        ui.step_to(page, 15)
        expect(page.locator("#phase")).to_have_text("Backward pass")
    if state == "card-key":
        page.locator(".card-key summary").click()
        expect(page.get_by_role("group", name="How to read a card")).to_be_visible()
    expect(ui.current_node(page)).to_have_count(1)


@pytest.mark.parametrize(
    ("state", "themed"),
    [(state, (size, scheme)) for state, size in STATES for scheme in ("light", "dark")],
    ids=[f"{state}-{size}-{scheme}" for state, size in STATES for scheme in ("light", "dark")],
    indirect=["themed"])
def test_axe_finds_no_serious_or_critical_violation(
        themed: BrowserContext, base_url: str, state: str) -> None:
    page = themed.new_page()
    open_state(page, base_url, state)
    failing = [v for v in run_axe(page) if v["impact"] in FAILING]
    assert not failing, "axe-core:\n" + report(failing)


def graph_shot(page: Page) -> bytes:
    """The graph view's pixels."""
    return page.locator("svg#graph").screenshot()


def test_the_focus_ring_shows_on_the_current_steps_card(ran: Page) -> None:
    page = ran
    page.get_by_role("button", name="Next step", exact=True).click()
    card = ui.current_node(page).locator(".node-body")
    page.mouse.move(0, 0)
    before = graph_shot(page)
    page.get_by_role("button", name="Fit to screen", exact=True).focus()
    # Back from the graph's tools with the keyboard, card by card, to the current one.
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("() => document.activeElement.matches('g.node.current > .node-body')"):
            break
    expect(card).to_be_focused()
    ring = card.locator(".focus-ring")
    expect(ring).to_be_visible()
    frame = card.locator(".card").bounding_box()
    around = ring.bounding_box()
    assert frame and around
    assert around["x"] < frame["x"] and around["width"] > frame["width"], \
        "the ring is drawn outside the step's frame"
    assert hashlib.sha256(graph_shot(page)).digest() != hashlib.sha256(before).digest()


def test_the_skip_link_takes_focus_to_the_player_and_keeps_the_link(ran: Page) -> None:
    page = ran
    page.get_by_role("button", name="Next step", exact=True).click()
    hash_before = page.evaluate("() => location.hash")
    assert "source=" in hash_before
    page.reload()  # the link's state, restored; focus at the start of the page
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the step player")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.get_by_role("group", name="Step player")).to_be_focused()
    assert page.evaluate("() => location.hash") == hash_before
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Previous step", exact=True)).to_be_focused()


def test_each_card_is_named_by_its_name_value_and_gradient(
        ran: Page, answer: dict[str, Any]) -> None:
    page = ran
    x = next(n for n in answer["nodes"] if n.get("name") == "x")
    card = ui.node(page, x["id"]).locator(".node-body")
    expect(card).to_have_attribute("role", "button")
    # The forward pass: x's value is known (its step is the first), its gradient is not yet.
    expect(card).to_have_attribute("aria-label", "x = 1.5, gradient not computed yet")
    page.keyboard.press("End")  # the last step: every gradient is known
    name = card.get_attribute("aria-label") or ""
    match = re.fullmatch(r"x = 1\.5, gradient (\S+)", name)
    assert match, name
    assert ui.close(ui.number(match.group(1)), x["grad"])
    graph = page.get_by_role("group", name=re.compile("^Computation graph"))
    expect(graph.get_by_role("listitem")).to_have_count(len(answer["nodes"]))
    expect(graph.get_by_role("button", name=re.compile(r"^x = 1\.5, gradient "))).to_have_count(1)


def test_the_mode_radios_are_24_px_targets(page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    for name in ("Reverse mode (backprop)", "Forward mode", "Practice mode"):
        box = page.get_by_label(name, exact=True).bounding_box()
        assert box and box["width"] >= 24 and box["height"] >= 24, (name, box)


def test_the_pages_own_policy_would_refuse_an_injected_script(
        page: Page, base_url: str, api: httpx.Client) -> None:
    """Why the audit's contexts bypass the CSP: the page runs no inline script."""
    assert "script-src 'self'" in api.get("/").headers["content-security-policy"]
    ui.open_app(page, base_url)
    with pytest.raises(PlaywrightError, match="violates the following Content Security Policy"):
        page.add_script_tag(path=str(AXE))
    assert page.evaluate("() => typeof window.axe") == "undefined"
