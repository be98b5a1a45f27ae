"""The first screen holds the lesson: at a laptop's and a phone's size, light and dark, the
current card and the step's typeset formula are in the viewport at every step, no card is drawn
under the graph's toolbar or its overview, and no visible text is under 11 px."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from . import ui

SIZES = [(1280, 800), (1024, 768), (390, 844)]
SMALLEST_PX = 11

# One look at the page: the current card, the first formula of "This step", the toolbar, the
# overview and the open groups' bar, the cards whose visible part meets them, and the visible text under 11 px
# (the graph's text at its zoom; the stage's and the header's text at its computed size).
LOOK = """(smallest) => {
  const rect = (el) => { const b = el.getBoundingClientRect();
    return { left: b.left, top: b.top, right: b.right, bottom: b.bottom, width: b.width, height: b.height }; };
  const meet = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 &&
    a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const clip = (a, b) => ({ left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
    right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom) });
  const view = rect(document.querySelector('svg#graph'));
  const marked = [...document.querySelectorAll('svg#graph [aria-current="step"]')];
  const formula = document.querySelector('#step-panel .math');
  const minimap = document.querySelector('#minimap');
  const covers = [rect(document.querySelector('.graph-tools'))];
  if (!minimap.hidden) covers.push(rect(minimap));
  const levels = document.querySelector('.levels-bar');  // the open groups' buttons
  if (levels && !levels.hidden) covers.push(rect(levels));
  const under = [...document.querySelectorAll('svg#graph g.node')].filter((n) => {
    const box = rect(n);
    if (!meet(box, view)) return false;
    const seen = clip(box, view);
    return covers.some((c) => meet(seen, c));
  }).map((n) => n.dataset.id);
  const small = [];
  for (const t of document.querySelectorAll('svg#graph g.node text, svg#graph g.frame text')) {
    if (!t.textContent.trim() || getComputedStyle(t).display === 'none') continue;
    const box = rect(t);
    if (!box.width || !meet(box, view)) continue;
    const px = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
    if (px < smallest - 0.01) small.push(`graph "${t.textContent.trim()}" ${px.toFixed(1)} px`);
  }
  const screen = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
  for (const root of document.querySelectorAll('header.top, .layout > .stage > :not(.graph-wrap), .graph-bar')) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const el = node.parentElement;
      if (el.closest('.katex-mathml, .visually-hidden, .legend-long, [hidden]')) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      const boxes = [...range.getClientRects()].filter((b) => b.width > 0 && meet(b, screen));
      if (!boxes.length || !el.checkVisibility({ visibilityProperty: true })) continue;
      const px = parseFloat(getComputedStyle(el).fontSize);
      if (px < smallest - 0.01) small.push(`"${node.textContent.trim().slice(0, 30)}" ${px.toFixed(1)} px`);
    }
  }
  return {
    count: marked.length, id: marked[0]?.dataset.id, card: marked[0] && rect(marked[0]), view,
    formula: formula && rect(formula), under, small,
    screen: { width: innerWidth, height: innerHeight },
    step: document.querySelector('#step-count').textContent,
  };
}"""


def look(page: Page) -> dict[str, Any]:
    """The page once the view has settled (two frames: the follow's pan is instant)."""
    page.wait_for_function("() => new Promise((r) => requestAnimationFrame(() => "
                           "requestAnimationFrame(() => r(true))))")
    seen: dict[str, Any] = page.evaluate(LOOK, SMALLEST_PX)
    return seen


def inside(box: dict[str, float], screen: dict[str, float]) -> bool:
    """Whether a box lies in the viewport (half a pixel of rounding allowed)."""
    return (box["left"] >= -0.5 and box["top"] >= -0.5
            and box["right"] <= screen["width"] + 0.5 and box["bottom"] <= screen["height"] + 0.5)


def card_in_view(seen: dict[str, Any]) -> bool:
    """The current card in the viewport and in the graph's view; a card wider than a phone's
    view cannot be all in it, so then it must cross the view's middle, top and bottom in."""
    card, view = seen["card"], seen["view"]
    if not inside(card, seen["screen"]) and card["width"] <= view["width"]:
        return False
    if card["width"] > view["width"]:
        middle = view["left"] + view["width"] / 2
        return (card["left"] <= middle <= card["right"] and card["top"] >= view["top"] - 0.5
                and card["bottom"] <= view["bottom"] + 0.5)
    return (card["left"] >= view["left"] - 0.5 and card["right"] <= view["right"] + 0.5
            and card["top"] >= view["top"] - 0.5 and card["bottom"] <= view["bottom"] + 0.5)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_step_of_the_two_layer_network_keeps_card_and_formula_on_the_first_screen(
        browser: Browser, base_url: str, width: int, height: int, scheme: str) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": height},
                              color_scheme=scheme, reduced_motion="reduce")  # type: ignore[arg-type]
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        ui.open_app(page, base_url)
        page.get_by_label("Examples", exact=True).select_option(label="Two-layer network")
        expect(page.locator("body")).to_have_attribute("data-status", "ready")
        expect(page.get_by_label("Expression", exact=True)).not_to_have_value("")
        total = int(ui.slider(page).get_attribute("max") or 0)
        assert total > 20, "the example has its forward and backward steps"
        page.get_by_role("button", name="Previous step", exact=True).focus()
        page.keyboard.press("Home")
        assert page.evaluate("scrollY") == 0, "the page is read from its first screen"
        for index in range(total + 1):
            if index:
                page.get_by_role("button", name="Next step", exact=True).click()
            seen = look(page)
            where = f"{width}×{height} {scheme}, step {seen['step']}"
            assert seen["count"] == 1, f"{where}: {seen['count']} cards marked current"
            assert card_in_view(seen), f"{where}: the card {seen['id']} {seen['card']} is out of view"
            assert seen["formula"] is not None, f"{where}: no typeset formula"
            assert inside(seen["formula"], seen["screen"]), \
                f"{where}: the formula {seen['formula']} is off the first screen"
            assert seen["under"] == [], f"{where}: cards under the toolbar or overview"
            assert seen["small"] == [], f"{where}: text under {SMALLEST_PX} px: {seen['small'][:5]}"
            assert page.evaluate("scrollY") == 0, f"{where}: stepping scrolled the page"
    finally:
        ctx.close()


def test_a_phone_opens_on_a_one_line_header_then_the_graph_and_edit_goes_to_the_form(
        browser: Browser, base_url: str) -> None:
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        ui.open_app(page, base_url)
        edit = page.get_by_role("button", name="Edit", exact=True)
        expect(edit).to_be_in_viewport()
        tops = [page.locator(sel).bounding_box() for sel in ("header.top h1", ".legend", "#edit-jump")]
        assert all(b is not None for b in tops)
        middles = [b["y"] + b["height"] / 2 for b in tops if b]
        assert max(middles) - min(middles) < 8, f"the header is one line: {middles}"
        graph = page.locator("svg#graph").bounding_box()
        form = page.get_by_label("Expression", exact=True).bounding_box()
        assert graph and form and graph["y"] < form["y"], "the graph comes before the form"
        assert graph["y"] + graph["height"] <= 844, "the graph is on the first screen"
        edit.click()
        expect(page.get_by_label("Expression", exact=True)).to_be_focused()
        expect(page.get_by_label("Expression", exact=True)).to_be_in_viewport()
        page.get_by_role("button", name="Run", exact=True).click()
        expect(page.locator("body")).to_have_attribute("data-status", "ready")
        expect(page.locator("svg#graph")).to_be_in_viewport(ratio=1)  # Run comes back to it
    finally:
        ctx.close()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_build_by_hand_keeps_the_graph_on_the_first_screen(
        browser: Browser, base_url: str, width: int, height: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = ctx.new_page()
        ui.open_app(page, base_url)
        page.get_by_role("button", name="Build by hand", exact=True).click()
        expect(page.get_by_role("group", name="Add a node")).to_be_visible()
        page.wait_for_function("() => new Promise((r) => requestAnimationFrame(() => r(true)))")
        graph = page.locator("svg#graph").bounding_box()
        assert graph is not None
        shown = min(graph["y"] + graph["height"], height) - max(graph["y"], 0)
        assert shown >= 150, f"{width}×{height}: the first screen shows {shown:.0f} px of the graph"
        seen = look(page)
        assert seen["count"] == 1 and card_in_view(seen), f"{width}×{height}: {seen}"
        assert inside(seen["formula"], seen["screen"]), f"{width}×{height}: {seen['formula']}"
    finally:
        ctx.close()


MOONS = "The moons network, with functions"


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_moons_networks_top_level_keeps_card_and_formula_on_the_first_screen(
        browser: Browser, base_url: str, width: int, height: int) -> None:
    """Sampled, not every step (its top level is thousands of node steps): the first six
    stops, then the last six, light only (the two-layer test covers the dark palette)."""
    ctx = browser.new_context(viewport={"width": width, "height": height}, reduced_motion="reduce")
    ctx.set_default_timeout(60_000)
    try:
        page = ctx.new_page()
        ui.open_app(page, base_url)
        page.get_by_label("Examples", exact=True).select_option(label=MOONS)
        expect(page.locator("body")).to_have_attribute("data-status", "ready")
        page.get_by_role("button", name="Previous step", exact=True).focus()
        steps = set()
        for keys in (["Home"] + ["ArrowRight"] * 5, ["End"] + ["ArrowLeft"] * 5):
            for key in keys:
                page.keyboard.press(key)
                seen = look(page)
                steps.add(seen["step"])
                where = f"{width}×{height}, moons, step {seen['step']}"
                assert seen["count"] == 1, f"{where}: {seen['count']} cards marked current"
                assert card_in_view(seen), f"{where}: the card {seen['id']} {seen['card']} is out of view"
                assert seen["formula"] is not None and inside(seen["formula"], seen["screen"]), \
                    f"{where}: the formula {seen['formula']} is off the first screen"
                assert seen["under"] == [], f"{where}: cards under the toolbar or overview"
                assert seen["small"] == [], f"{where}: text under {SMALLEST_PX} px: {seen['small'][:5]}"
        assert len(steps) == 12, f"the keys moved through twelve stops: {sorted(steps)}"
    finally:
        ctx.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_card_key_explains_every_mark_of_a_card_in_view(
        browser: Browser, base_url: str, width: int, height: int) -> None:
    """Key, in the graph's bar, opens a legend of the card: value | gradient, the dashed input,
    the empty half not reached yet, the heatmap and its numbers, the strip of a batch, a
    group's ‖∂L/∂θ‖, the marks of a wrong rule and a kink, an edge's count; all of it inside
    the viewport (it scrolls within itself), in text no smaller than 11 px, Key still pressable."""
    page = browser.new_page(viewport={"width": width, "height": height})
    ui.open_app(page, base_url)
    key = page.locator(".card-key summary")
    key.click()
    body = page.get_by_role("group", name="How to read a card")
    expect(body).to_be_visible()
    for words in ["value", "gradient ∂L/∂node", "Dashed border", "not reached yet", "Hover a cell",
                  "A strip", "‖∂L/∂θ‖", "the size of the gradient of L", "✗ your rule", "kink", "×16"]:
        expect(body).to_contain_text(words)
    box = body.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width \
        and box["y"] + box["height"] <= height, box
    smallest = body.evaluate("""el => Math.min(...[...el.querySelectorAll('dt, dd, text')]
        .map(t => parseFloat(getComputedStyle(t).fontSize)))""")
    assert smallest >= 11, smallest
    key.click()  # Key is never under its own legend
    expect(body).to_be_hidden()
    page.close()
