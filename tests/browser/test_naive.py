"""The two classic mistakes, played in the page (issue 29, item 3): the gallery's micrograd #64
replayed the naive way and twice without zeroing, beside the right pass.

The oracles: sympy for the right gradient, and micrograd's Value transcribed in tests/test_naive.py
(its PR #64 `backward_bad`, and its `backward()` called twice) for the wrong ones.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from ..oracles import sympy_gradients
from ..test_naive import micrograd
from . import ui
from .test_a11y import FAILING, report, run_axe

EXAMPLE = "Why a topological order? (micrograd #64)"
SOURCE = "a = x\nb = a + a\nc = b + b"
X = 3.0
# The transcription reads `name = left op right` lines of its own leaves: a = x, spelt out.
THEIRS = "b = x + x; c = b + b"
SELECTED = re.compile(r"\bselected\b")


def open_example(page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    page.get_by_label("Examples", exact=True).select_option(label=EXAMPLE)
    expect(page.get_by_label("Expression", exact=True)).to_have_value(SOURCE)
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    expect(ui.nodes(page)).to_have_count(3)


def shown(page: Page, column: str, name: str = "x") -> Locator:
    return page.locator(f".naive-gradients tr[data-input='{name}'] td.naive-{column}")


def value(cell: Locator) -> float:
    return float(json.loads(cell.get_attribute("data-value") or "null"))


def test_the_naive_pass_parts_at_b_and_gives_x_micrograds_wrong_gradient(
        page: Page, base_url: str) -> None:
    open_example(page, base_url)
    expect(page.locator("#naive-body")).to_be_hidden()
    page.get_by_label("Replay the naive way").check()

    naive = page.locator(".naive-pass.naive-naive")
    expect(naive.locator(".naive-reason")).to_contain_text("b was used twice")
    parting = naive.locator("button.naive-step.parts")
    expect(parting).to_have_count(1)
    expect(parting).to_contain_text("✗ parts here")
    expect(parting.locator(".naive-what")).to_contain_text("b ")

    right = sympy_gradients(SOURCE, {"x": X})["x"]
    theirs, _ = micrograd(THEIRS, {"x": X}, "operands", "naive")
    expect(shown(page, "naive")).to_contain_text("✗ differs")
    assert ui.close(value(shown(page, "right")), right)
    assert ui.close(value(shown(page, "naive")), theirs["x"])
    assert not ui.close(theirs["x"], right)  # the mistake shows: 8 where the gradient is 4
    expect(shown(page, "right")).not_to_contain_text("differs")

    # On the graph: the parting node's card, and only it, says so in words.
    card = page.locator("g.node.naive-parts")
    expect(card).to_have_count(1)
    expect(card.locator(".node-label")).to_contain_text("b")
    expect(card.locator(".node-sub")).to_contain_text("✗ parts here")
    parting.click()
    expect(parting).to_have_attribute("aria-pressed", "true")
    expect(card).to_have_class(SELECTED)

    page.get_by_label("…and call backward() twice without zeroing").check()
    twice = page.locator(".naive-pass.naive-twice")
    expect(twice.locator(".naive-reason")).to_contain_text("not zeroed")
    expect(twice.locator("button.naive-step.parts")).to_contain_text("✗ parts here")
    again, _ = micrograd(THEIRS, {"x": X}, "operands", "twice")
    assert ui.close(value(shown(page, "twice")), again["x"])
    expect(shown(page, "twice")).to_contain_text("✗ differs")

    page.get_by_label("Replay the naive way").uncheck()
    page.get_by_label("…and call backward() twice without zeroing").uncheck()
    expect(page.locator("#naive-body")).to_be_hidden()
    expect(page.locator("g.node.naive-parts")).to_have_count(0)


def test_the_replay_works_by_keyboard_alone_and_its_switches_stay_in_the_link(
        page: Page, base_url: str) -> None:
    open_example(page, base_url)
    page.get_by_role("group", name="Gradients table").focus()
    page.keyboard.press("Tab")
    switch = page.get_by_label("Replay the naive way")
    expect(switch).to_be_focused()
    page.keyboard.press("Space")
    expect(switch).to_be_checked()
    expect(page.locator(".naive-pass.naive-naive .naive-reason")).to_contain_text("b was used twice")

    # micrograd's set of children: b = a + a has one child, so #64 comes out right.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_label("one child per operand (as drawn)")).to_be_focused()
    page.keyboard.press("ArrowDown")
    distinct = page.get_by_label("micrograd's set of children")
    expect(distinct).to_be_checked()
    theirs, _ = micrograd(THEIRS, {"x": X}, "distinct", "naive")
    expect(page.locator(".naive-pass.naive-naive .naive-reason")).to_have_count(0)
    expect(shown(page, "naive")).not_to_contain_text("differs")
    assert ui.close(value(shown(page, "naive")), theirs["x"])
    assert ui.close(theirs["x"], sympy_gradients(SOURCE, {"x": X})["x"])

    # The steps: Tab into the lists, arrows between steps, Enter selects a step's node.
    steps = page.locator(".naive-pass.naive-naive button.naive-step")
    first = page.locator("button.naive-step").first
    for _ in range(12):
        page.keyboard.press("Tab")
        if first.evaluate("b => b === document.activeElement"):
            break
    expect(first).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("button.naive-step").nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    chosen = page.locator("button.naive-step").nth(1)
    expect(chosen).to_have_attribute("aria-pressed", "true")
    node = chosen.get_attribute("data-node")
    expect(ui.node(page, node or "")).to_have_class(SELECTED)
    expect(steps.first).to_be_visible()

    hash_ = page.evaluate("() => location.hash")
    assert "naive=1" in hash_ and "children=distinct" in hash_
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    expect(switch).to_be_checked()
    expect(distinct).to_be_checked()
    expect(page.locator(".naive-pass.naive-naive")).to_be_visible()


@pytest.mark.parametrize("themed", [("desktop", "light"), ("desktop", "dark"),
                                    ("phone", "light"), ("phone", "dark")], indirect=True)
def test_axe_finds_no_serious_violation_with_both_replays_on(
        themed: BrowserContext, base_url: str) -> None:
    page = themed.new_page()
    open_example(page, base_url)
    page.get_by_label("Replay the naive way").check()
    page.get_by_label("…and call backward() twice without zeroing").check()
    expect(page.locator(".naive-pass.naive-twice .naive-reason")).to_be_visible()
    expect(page.locator("g.node.naive-parts")).to_have_count(1)
    page.locator("button.naive-step.parts").first.click()
    failing = [v for v in run_axe(page) if v["impact"] in FAILING]
    assert not failing, "axe-core:\n" + report(failing)
