"""Build by hand and differentiate from any node (issue 20 parts 2 and 3), as a learner does
them in the page: with the mouse, with the keyboard only, and through a shared link."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from ..oracles import sympy_gradients
from . import ui

SHOTS = Path("/tmp/hand-shots")
BUILT = "x = 1.5\ny = 2\na = x * y\nb = sin(a)\nc = b + x"  # sin(x * y) + x, a line a node
STEPS = [("input", "x"), ("input", "y"), ("mul", "a"), ("sin", "b"), ("add", "c")]
WIRES = [("x", "a", 0), ("y", "a", 1), ("a", "b", 0), ("b", "c", 0), ("x", "c", 1)]


def editor(page: Page) -> Locator:
    return page.get_by_label("Expression", exact=True)


def card(page: Page, name: str) -> Locator:
    return page.locator(f'#hand-canvas .hand-card[data-name="{name}"]')


def slot(page: Page, name: str, position: int) -> Locator:
    return card(page, name).locator(".hand-slot").nth(position)


def settled(page: Page, lines: int) -> None:
    """The edit's program is in the editor (`lines` lines) and, if it has a statement, ran."""
    expect(editor(page)).to_have_value(re.compile(rf"^[^\n]*(\n[^\n]*){{{lines - 1}}}$"))
    expect(page.locator("body")).to_have_attribute("data-status", "ready")


def gradients_at_the_end(page: Page, exact: dict[str, float]) -> None:
    """Step to the end of the backward pass; the Gradients table shows `exact`."""
    ui.step_to(page, int(ui.slider(page).get_attribute("max") or 0))
    ui.expect_gradients(page, exact)


def without_inputs(source: str) -> str:
    """The program with its inputs' lines (`x = 1.5`) left out: sympy's symbols are the inputs."""
    return "\n".join(line for line in source.splitlines()
                     if not re.fullmatch(r"\w+ = -?[\d.]+", line))


def start_building(page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    expect(page.locator("body")).to_have_attribute("data-status", "ready")  # the first example
    editor(page).fill("")
    page.get_by_role("button", name="Build by hand").click()
    expect(page.locator("#hand")).to_be_visible()
    expect(page.locator("#hand-canvas .hand-card")).to_have_count(0)


def expect_built(page: Page) -> None:
    expect(editor(page)).to_have_value(BUILT)
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    gradients_at_the_end(page, sympy_gradients(without_inputs(BUILT), {"x": 1.5, "y": 2.0}))
    for _, name in STEPS:
        expect(card(page, name)).to_be_visible()
    expect(page.locator("#hand-canvas .hand-card.unwired")).to_have_count(0)


def test_build_sin_xy_plus_x_with_the_mouse(page: Page, base_url: str) -> None:
    start_building(page, base_url)
    for k, (op, name) in enumerate(STEPS):
        page.locator(f'#hand-palette button[data-op="{op}"]').click()
        expect(card(page, name)).to_be_visible()
        settled(page, k + 1)
    for source, target, position in WIRES:
        slot(page, target, position).scroll_into_view_if_needed()
        head = card(page, source).locator(".hand-node").bounding_box()
        goal = slot(page, target, position).bounding_box()
        assert head and goal
        page.mouse.move(head["x"] + head["width"] / 2, head["y"] + head["height"] / 2)
        page.mouse.down()
        page.mouse.move(goal["x"] + goal["width"] / 2, goal["y"] + goal["height"] / 2, steps=8)
        page.mouse.up()
        expect(slot(page, target, position)).to_contain_text(source)
        expect(page.locator("body")).to_have_attribute("data-status", "ready")
    expect_built(page)
    page.screenshot(path=SHOTS / "test-mouse.png")


def test_build_sin_xy_plus_x_with_the_keyboard_only(page: Page, base_url: str) -> None:
    start_building(page, base_url)
    for k, (op, name) in enumerate(STEPS):
        page.locator(f'#hand-palette button[data-op="{op}"]').press("Enter")
        expect(card(page, name)).to_be_visible()
        settled(page, k + 1)
    for source, target, position in WIRES:
        card(page, source).locator(".hand-node").press("Enter")
        expect(card(page, source)).to_have_class(re.compile(r"\bselected\b"))
        page.get_by_role("button", name="Connect to…").press("Enter")
        page.get_by_role("button", name=f"operand {position + 1} of {target} (", exact=False) \
            .first.press("Enter")
        expect(slot(page, target, position)).to_contain_text(source)
        expect(page.locator("body")).to_have_attribute("data-status", "ready")
    expect_built(page)
    # Rename by keyboard: the text follows, and so do the gradients' names.
    card(page, "c").locator(".hand-node").press("Enter")
    name = page.locator("#hand-tools").get_by_label("Name")
    name.press("Control+a")
    name.press_sequentially("L")
    name.press("Enter")
    expect(editor(page)).to_have_value(BUILT.replace("c = ", "L = "))
    # The rename's run answered and its cards are drawn before the next key (as after each wire).
    expect(card(page, "L")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    # Delete by keyboard: the consumers' operands are unwired again, as comments.
    card(page, "b").locator(".hand-node").press("Enter")
    page.locator("#hand-tools").get_by_role("button", name="Delete").press("Enter")
    expect(editor(page)).to_have_value("x = 1.5\ny = 2\na = x * y\n# unwired: L = add(?, x)")


def test_typing_the_program_redraws_the_hand_built_graph(page: Page, base_url: str) -> None:
    start_building(page, base_url)
    editor(page).fill("L = sin(x*y) + x")
    page.get_by_label("Values", exact=True).fill("x=1.5, y=2")
    expect(card(page, "L")).to_be_visible()
    expect(card(page, "x")).to_be_visible()
    expect(page.locator("#hand-canvas .hand-card")).to_have_count(5)  # x, y, ×, sin, L


NAMED = "a = x * y\nh = sin(a) + x\nL = h * h"


def node_id(api: httpx.Client, name: str) -> str:
    body = api.post("/api/v1/backprop", json={"source": NAMED, "values": {"x": 1.5, "y": 2}})
    return next(n["id"] for n in body.json()["nodes"] if n["name"] == name)


def test_differentiate_from_an_intermediate_node_and_share_it(page: Page, base_url: str,
                                                              api: httpx.Client) -> None:
    ui.open_app(page, base_url)
    ui.run(page, NAMED, "x=1.5, y=2")
    values = {"x": 1.5, "y": 2.0}
    # The program's own graph, not the first example's still on screen, before a card is pressed.
    ui.expect_graph(page, ui.backprop(api, NAMED, values))
    ui.node(page, node_id(api, "h")).click()
    page.get_by_role("button", name="Differentiate from here (h)").click()
    reset = page.get_by_role("button", name="Output: h (click to reset)")
    expect(reset).to_be_visible()
    of_h = sympy_gradients("a = x * y\nh = sin(a) + x", values)
    gradients_at_the_end(page, of_h)
    assert "output=h" in page.url

    shared = page.context.new_page()
    shared.goto(page.url)
    expect(shared.get_by_role("button", name="Output: h (click to reset)")).to_be_visible()
    gradients_at_the_end(shared, of_h)

    reset.click()
    expect(reset).to_be_hidden()
    gradients_at_the_end(page, sympy_gradients(NAMED, values))
    assert "output=" not in page.url


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_the_build_mode(browser, base_url: str, width: int, height: int,
                                       scheme: str) -> None:
    context = browser.new_context(viewport={"width": width, "height": height},
                                  color_scheme=scheme)
    page = context.new_page()
    try:
        start_building(page, base_url)
        editor(page).fill("x = 1.5\ny = 2\na = x * y\nb = sin(a)\n# unwired: c = add(b, ?)")
        expect(card(page, "c")).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-status", "ready")
        card(page, "b").locator(".hand-node").click()
        page.get_by_role("button", name="Connect to…").click()
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("#hand").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"build-{width}-{scheme}.png")
    finally:
        context.close()
