"""The picture at every size, on real Chromium: readable text at the default view, a view that
follows the step, the overview, and (big programs) folding."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from . import ui
from .conftest import SIZES

TWO_LAYER = "Two-layer network"

# Every piece of node text drawn and not hidden: its size on screen in CSS pixels (font size
# times the zoom of the graph), and whether it lies inside the graph view.
TEXT_ON_SCREEN = """() => {
  const view = document.querySelector('svg#graph').getBoundingClientRect();
  return [...document.querySelectorAll('svg#graph g.node text')]
    .filter((t) => t.textContent.trim() && getComputedStyle(t).display !== 'none')
    .map((t) => {
      const box = t.getBoundingClientRect();
      const inside = box.right > view.left && box.left < view.right &&
        box.bottom > view.top && box.top < view.bottom;
      return { px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a, inside };
    });
}"""

# Where the current step's card is, against the graph view (CSS pixels).
CURRENT_BOX = """() => {
  const marked = document.querySelectorAll('svg#graph [aria-current="step"]');
  if (marked.length !== 1) return { count: marked.length };
  const box = marked[0].getBoundingClientRect();
  const view = document.querySelector('svg#graph').getBoundingClientRect();
  return { count: 1, id: marked[0].dataset.id, inside: box.left >= view.left - 0.5 &&
    box.right <= view.right + 0.5 && box.top >= view.top - 0.5 && box.bottom <= view.bottom + 0.5,
    fits: box.width <= view.width && box.height <= view.height,
    centred: box.left <= view.left + view.width / 2 && box.right >= view.left + view.width / 2 };
}"""


def long_program(lines: int) -> str:
    """A program of `lines` statements, each using the one before and the first."""
    body = ["x0 = 0.5"]
    body += [f"x{i} = tanh(x{i - 1}) * 1.01 + x0 * 0.1" for i in range(1, lines)]
    return "\n".join(body)


@pytest.fixture
def sized(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    """A context of the size named by the test's parameter, reduced motion (pans are instant)."""
    width, height = SIZES[request.param]
    ctx = browser.new_context(viewport={"width": width, "height": height},
                              reduced_motion="reduce")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def choose_example(page: Page, title: str) -> None:
    """Pick an example from the menu (it runs) and wait until it is drawn."""
    page.get_by_label("Examples", exact=True).select_option(label=title)
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    expect(page.get_by_label("Expression", exact=True)).not_to_have_value("")


def current_box(page: Page) -> dict[str, Any]:
    """The current step's card against the view, once the view has settled."""
    page.wait_for_function("() => new Promise((r) => requestAnimationFrame(() => r(true)))")
    box: dict[str, Any] = page.evaluate(CURRENT_BOX)
    return box


@pytest.mark.parametrize("sized", ["desktop", "phone"], indirect=True)
def test_the_two_layer_example_opens_with_node_text_of_11_px_or_more(
        sized: BrowserContext, base_url: str, artifacts: Path, request: pytest.FixtureRequest) -> None:
    page = sized.new_page()
    ui.open_app(page, base_url)
    choose_example(page, TWO_LAYER)
    texts = [t for t in page.evaluate(TEXT_ON_SCREEN) if t["inside"]]
    assert len(texts) >= 3, "the default view shows hardly any node text"
    sizes = sorted(t["px"] for t in texts)
    assert statistics.median(sizes) >= 11, sizes
    assert sizes[0] >= 11 - 0.01, f"text below 11 px at the default view: {sizes[:5]}"
    box = current_box(page)
    # A card wider than a phone's view cannot be all in it: then it must cross the middle.
    assert box["count"] == 1 and (box["inside"] or not box["fits"] and box["centred"]), box
    page.screenshot(path=artifacts / f"two-layer-{request.node.callspec.id}.png")


def test_a_graph_bigger_than_the_view_gets_an_overview_that_moves_the_view(
        page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    choose_example(page, TWO_LAYER)
    overview = page.get_by_role("img", name="Overview of the whole graph", exact=False)
    expect(overview).to_be_visible()
    viewport = page.locator("svg#graph g.viewport")
    before = viewport.get_attribute("transform")
    box = overview.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)
    expect(viewport).not_to_have_attribute("transform", before or "")
    page.get_by_role("button", name="Fit to screen", exact=True).click()
    expect(overview).to_be_hidden()


@pytest.mark.parametrize("sized", ["desktop"], indirect=True)
def test_the_current_node_stays_in_view_over_50_steps_of_a_2000_line_program(
        sized: BrowserContext, base_url: str, artifacts: Path) -> None:
    page = sized.new_page()
    ui.open_app(page, base_url)
    ui.run(page, long_program(2000), "")
    expect(page.locator("body")).to_have_attribute("data-status", "ready", timeout=60_000)
    seen: list[str] = []
    for press in range(50):
        name = "Next step" if press < 25 else "Previous step"
        if press == 25:
            page.keyboard.press("End")  # then back from the end of the backward pass
            expect(page.locator("#phase")).to_have_text("Backward pass")
        page.get_by_role("button", name=name, exact=True).click()
        box = current_box(page)
        assert box["count"] == 1, f"press {press}: {box['count']} nodes marked current"
        assert box["inside"], f"press {press}: the current node {box['id']} is out of view"
        seen.append(box["id"])
    assert all(a != b for a, b in pairwise(seen)), "the current node moves at every step"
    page.screenshot(path=artifacts / "long-program-backward.png")


def test_with_follow_off_the_view_stays_where_the_user_put_it(
        browser: Browser, base_url: str) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, reduced_motion="reduce")
    try:
        page = ctx.new_page()
        ui.open_app(page, base_url)
        ui.run(page, long_program(40), "")
        expect(page.locator("body")).to_have_attribute("data-status", "ready")
        follow = page.get_by_role("button", name="Follow", exact=True)
        expect(follow).to_have_attribute("aria-pressed", "true")
        follow.click()
        expect(follow).to_have_attribute("aria-pressed", "false")
        overview = page.get_by_role("img", name="Overview of the whole graph", exact=False)
        box = overview.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] - 3, box["y"] + box["height"] - 3)  # explore
        assert current_box(page)["inside"] is False, "the view should have moved away"
        viewport = page.locator("svg#graph g.viewport")
        before = viewport.get_attribute("transform")
        for _ in range(3):
            page.get_by_role("button", name="Next step", exact=True).click()
        assert current_box(page)["inside"] is False
        assert viewport.get_attribute("transform") == before
        follow.click()
        expect(follow).to_have_attribute("aria-pressed", "true")
        assert current_box(page)["inside"] is True
    finally:
        ctx.close()


def statement_roots(answer: dict[str, Any]) -> dict[str, str]:
    """The node each statement `x{i} = ...` assigns, by name."""
    return {n["name"]: n["id"] for n in answer["nodes"] if n["name"] and n["op"] != "input"}


def seek(page: Page, index: int) -> None:
    """Drag the Step slider to `index` (as the range input reports a drag: input events)."""
    ui.slider(page).evaluate(
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', {bubbles: true})); }",
        index)
    expect(ui.slider(page)).to_have_value(str(index))


def test_a_long_program_opens_folded_and_folds_and_unfolds_with_the_source(
        page: Page, base_url: str, api: httpx.Client, artifacts: Path) -> None:
    source = long_program(60)
    answer = ui.backprop(api, source, {})
    assert len(answer["nodes"]) > 300
    roots = statement_roots(answer)
    ui.open_app(page, base_url)
    ui.run(page, source, "")
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    # Folded: one box per statement (the player stands on the input x0, in no statement).
    folded = page.locator("svg#graph g.node.folded")
    expect(folded).to_have_count(59)
    expect(page.locator("#source-mirror mark.folded-span")).to_have_count(59)
    x5 = ui.node(page, roots["x5"])
    expect(x5).to_have_class(re.compile(r"\bfolded\b"))
    # Edges between folded statements stay drawn: x4 -> x5 (through x5's tanh, hidden).
    expect(page.locator(f'svg#graph .edge[data-source="{roots["x4"]}"]')).not_to_have_count(0)
    unfold = page.get_by_role("button", name=re.compile(r"^Unfold x5 \("))
    expect(unfold).to_have_attribute("aria-expanded", "false")
    unfold.click()
    expect(folded).to_have_count(58)
    expect(page.locator("#source-mirror mark.folded-span")).to_have_count(58)
    x5_span = next(n["span"] for n in answer["nodes"] if n["id"] == roots["x5"])
    x5_nodes = [n["id"] for n in answer["nodes"]
                if n["op"] != "input" and x5_span[0] <= n["span"][0] and n["span"][1] <= x5_span[1]]
    assert len(x5_nodes) == 6  # tanh, 1.01, ×, 0.1, ×, +
    for node_id in x5_nodes:
        expect(ui.node(page, node_id)).to_have_count(1)
    page.screenshot(path=artifacts / "folding-unfolded-x5.png")
    fold = page.get_by_role("button", name=re.compile(r"^Fold x5 \("))
    expect(fold).to_have_attribute("aria-expanded", "true")
    fold.click()
    expect(folded).to_have_count(59)
    expect(x5).to_have_class(re.compile(r"\bfolded\b"))


def test_the_player_unfolds_the_statement_it_reaches_and_the_gradient_flows_between_folded_boxes(
        browser: Browser, base_url: str, api: httpx.Client) -> None:
    source = long_program(60)
    answer = ui.backprop(api, source, {})
    roots = statement_roots(answer)
    by_id = {n["id"]: n for n in answer["nodes"]}
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = ctx.new_page()
        ui.open_app(page, base_url)
        ui.run(page, source, "")
        expect(page.locator("body")).to_have_attribute("data-status", "ready")
        forward = ui.forward_steps(answer)
        # The forward pass reads the source statement by statement; a constant is no step.
        starts = [by_id[s["node"]]["span"][0] for s in forward]
        assert all(by_id[s["node"]]["op"] != "const" for s in forward)
        lines = [source.count("\n", 0, start) for start in starts]
        assert lines == sorted(lines), "forward steps out of the source's order"
        tanh3 = next(i for i, s in enumerate(forward)
                     if by_id[s["node"]]["op"] == "tanh" and lines[i] == 3)
        seek(page, tanh3)
        current = page.locator('svg#graph [aria-current="step"]')
        expect(current).to_have_attribute("data-id", forward[tanh3]["node"])
        expect(page.get_by_role("button", name=re.compile(r"^Fold x3 \("))).to_have_count(1)
        expect(ui.node(page, roots["x2"])).to_have_class(re.compile(r"\bfolded\b"))
        # Backward, at the tanh of x7: its gradient goes to x6, a folded box, along the edge.
        backward = answer["backward"]
        j = next(i for i, s in enumerate(backward)
                 if by_id[s["node"]]["op"] == "tanh" and by_id[s["node"]]["inputs"] == [roots["x6"]])
        # The pulse along that edge lives 750 ms: what the pulse layer receives is recorded, so
        # that a loaded machine's slow polls cannot miss it.
        page.evaluate("""() => {
            window.pulsesAdded = [];
            new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach(
                (n) => window.pulsesAdded.push(n.getAttribute('class')))))
              .observe(document.querySelector('svg#graph .pulses'), {childList: true});
        }""")
        seek(page, len(forward) + j)
        expect(current).to_have_attribute("data-id", backward[j]["node"])
        expect(ui.node(page, roots["x6"])).to_have_class(re.compile(r"\bfolded\b"))
        active = page.locator(f'svg#graph .edge.active[data-source="{roots["x6"]}"]')
        expect(active).to_have_count(1)
        page.wait_for_function("window.pulsesAdded.length > 0")
        assert page.evaluate("window.pulsesAdded") == ["pulse grad"], "one gradient pulse"
    finally:
        ctx.close()
