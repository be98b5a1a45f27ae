"""A grade played (chainrule.grade's report, as `show(report)` and its offline file play it):
each card the learner gave a gradient for says its verdict given the learner's own upstream,
an icon and words; the one wrong rule is marked once, at its own card and backward step, with
both numbers; the rows after it say they are right from the learner's upstream. The learner's
gradients are worked out here by the chain rule with central differences for each local
derivative, one of them wrong on purpose; sympy gives the expected one."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sympy as sp
from chainrule import grade
from chainrule.export import offline_html
from playwright.sync_api import Browser, Page, expect

from . import ui

SOURCE = "pre = w * x + b\nh = tanh(pre)\nL = h * h"
VALUES = {"w": 0.8, "x": 1.5, "b": -0.9}


def slope(f, at: float, h: float = 1e-6) -> float:
    return (f(at + h) - f(at - h)) / (2 * h)


def learners_gradients() -> dict[str, float]:
    """The chain rule by hand, each local derivative by central differences, except dpre:
    the classic slip `dh * (1 - h)` for tanh's `1 - h**2`."""
    pre = VALUES["w"] * VALUES["x"] + VALUES["b"]
    h = math.tanh(pre)
    dh = slope(lambda v: v * v, h)
    dpre = dh * (1 - h)  # wrong on purpose
    return {"h": dh, "pre": dpre, "w": dpre * slope(lambda w: w * VALUES["x"], VALUES["w"]),
            "x": dpre * slope(lambda x: VALUES["w"] * x, VALUES["x"]), "b": dpre}


@pytest.fixture(scope="module")
def played(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    report = grade(SOURCE, learners_gradients(), VALUES)
    out = tmp_path_factory.mktemp("grade") / "grade.html"
    out.write_text(offline_html(report.answer))
    page, blocked, errors = ui.open_offline(browser, out)
    assert not blocked, blocked
    yield page
    assert not errors, errors
    page.context.close()


def card_text(page: Page, name: str) -> str:
    """The label of the card named `name` as drawn: its name, op and marks."""
    texts = page.locator("svg#graph g.node .node-label").evaluate_all("els => els.map(el => el.textContent)")
    return next(t for t in texts if t.split(" ")[0] == name)


def test_the_wrong_rule_is_marked_once_at_its_own_step_with_both_numbers(
        played: Page, artifacts: Path) -> None:
    page = played
    assert "dpre ✗ wrong" in card_text(page, "pre")
    assert re.search(r"dh (✓ exact|≈ approx)", card_text(page, "h")), card_text(page, "h")
    for name in ("w", "x", "b"):
        assert f"d{name} ✓ from your dpre" in card_text(page, name), card_text(page, name)
    expect(page.locator("svg#graph g.node.grade-wrong")).to_have_count(1)
    for _ in range(40):
        if "Your dpre" in (page.locator("#narration").text_content() or ""):
            break
        page.get_by_role("button", name="Next step", exact=True).click()
    narration = page.locator("#narration").text_content() or ""
    assert "✗ wrong" in narration and "first mistake" in narration, narration
    expect(page.locator("#step-panel .grade-line.grade-wrong")).to_contain_text("Your dpre")
    # Both numbers: the learner's, and the chain rule's from the learner's own dh (sympy).
    p, hh = sp.symbols("p hh")
    pre = VALUES["w"] * VALUES["x"] + VALUES["b"]
    dh = float(sp.diff(hh * hh, hh).subs(hh, math.tanh(pre)))
    expected = dh * float(sp.diff(sp.tanh(p), p).subs(p, pre))
    yours, shown = ui.numbers_in(narration.split("yours", 1)[1])[:2]
    assert ui.close(yours, learners_gradients()["pre"]), (yours, narration)
    assert ui.close(shown, expected), (shown, expected)
    page.screenshot(path=artifacts / "grade-wrong-step.png")
