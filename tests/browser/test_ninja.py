"""Ninja mode in the page (issue 29, item 2): the learner types each tensor's gradient of the
gallery's makemore part 4 as an expression of the language, at its backward step; Check grades
them all and the graph marks every answered card. The answers are the notebook's manual
gradients (tests/test_ninja.py's, in the language); the oracle is torch autograd on the same
forward pass (tests/test_ninja.py's `torch_gradients`), never the page's own numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import pytest
from chainrule.examples import NINJA, NINJA_VALUES
from playwright.sync_api import Browser, Page, expect

from ..test_ninja import ANSWERS, torch_gradients
from . import ui
from .conftest import ARTIFACTS
from .test_a11y import report, run_axe

TYPED = ("probs", "h")  # typed in the page; the rest come with the link
SHOTS = ARTIFACTS / "ninja"  # screenshots of the states looked at (git-ignored)


def link(base_url: str, answers: dict[str, str], *, ninja: bool = True) -> str:
    state = f"source={quote(NINJA)}&values={quote(json.dumps(NINJA_VALUES))}"
    if ninja:
        state += "&ninja=1"
    return f"{base_url}/#{state}&answers={quote(json.dumps(answers))}"


def open_ninja(page: Page, url: str) -> None:
    ui.open_app(page, url)
    expect(page.locator("#ninja-score")).to_be_visible()


def go_to(page: Page, name: str) -> None:
    """The slider moved (from the end, where the backward steps are) to `name`'s backward step:
    the step panel asks for d<name>."""
    bar = ui.slider(page)
    label = page.locator("#step-panel label.ninja-label")
    for index in range(int(bar.get_attribute("max") or 0), -1, -1):
        bar.fill(str(index))
        if label.count() and label.text_content() == f"d{name} =":
            return
    raise AssertionError(f"no step asks for d{name}")


def check_typed(page: Page, name: str, text: str) -> None:
    """At d<name>'s step, type the answer by keyboard and press Enter (Check)."""
    go_to(page, name)
    field = page.get_by_label(f"d{name} =", exact=True)
    field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(page.locator("#ninja-verdict")).to_contain_text(f"d{name}")
    expect(page.get_by_label(f"d{name} =", exact=True)).to_be_focused()


@pytest.fixture(scope="module")
def oracle() -> dict[str, np.ndarray]:
    return torch_gradients()


@pytest.fixture
def ninja_page(browser: Browser) -> Iterator[Page]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    ctx.set_default_timeout(30_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    ctx.close()
    assert not errors, errors


def test_typing_the_notebooks_answers_turns_every_statement_right(
        ninja_page: Page, base_url: str) -> None:
    page = ninja_page
    rest = {k: v for k, v in ANSWERS.items() if k not in TYPED}
    open_ninja(page, link(base_url, rest))
    expect(page.locator("#ninja-score")).to_contain_text(f"{len(rest)} / {len(ANSWERS)} right")
    check_typed(page, "probs", ANSWERS["probs"])
    # h by keyboard alone: Reveal fills in chainrule's own rule, Enter in the field checks it.
    go_to(page, "h")
    page.get_by_label("dh =", exact=True).focus()
    page.keyboard.press("Tab")  # Check
    page.keyboard.press("Tab")  # Reveal
    expect(page.get_by_role("button", name="Reveal")).to_be_focused()
    page.keyboard.press("Enter")
    field = page.get_by_label("dh =", exact=True)
    expect(field).to_have_value(re.compile(r"^dh = .*W2"))
    expect(field).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#ninja-score")).to_have_text(f"{len(ANSWERS)} / {len(ANSWERS)} right")
    graded = page.locator("svg#graph g.node.grade-exact, svg#graph g.node.grade-approx")
    expect(graded).to_have_count(len(ANSWERS))
    expect(page.locator("svg#graph g.node.grade-wrong, svg#graph g.node.grade-error")).to_have_count(0)
    labels = graded.locator(".node-label").all_text_contents()
    assert all(re.search(r"(✓|≈)", t) for t in labels), labels
    # The link keeps the typed answers: reopening it is the same exercise.
    found = re.search(r"answers=([^&]*)", page.url)
    assert found and json.loads(unquote(found[1]))["probs"] == ANSWERS["probs"], page.url


def test_one_wrong_answer_is_marked_at_its_own_step_with_both_numbers(
        ninja_page: Page, base_url: str, oracle: dict[str, np.ndarray]) -> None:
    page = ninja_page
    rest = {k: v for k, v in ANSWERS.items() if k != "bndiff2"}
    open_ninja(page, link(base_url, rest))
    wrong = "1/8 * ones_like(bndiff2) * dbnvar"  # 1/n, not 1/(n-1)
    check_typed(page, "bndiff2", wrong)
    expect(page.locator("#ninja-score")).to_contain_text("first mistake: dbndiff2")
    # one mistake is one mistake: every other row is right from the upstream it was given
    expect(page.locator("#ninja-score")).to_contain_text(f"({len(ANSWERS) - 1} given your own upstream)")
    line = page.locator("#ninja-verdict .grade-line.grade-wrong")
    expect(line).to_contain_text("✗ wrong")
    text = line.text_content() or ""
    yours_text = text.split("yours", 1)[1]
    index = [int(i) for i in re.search(r"at \[(\d+), (\d+)\]", yours_text).groups()]
    yours, expected = ui.numbers_in(yours_text.split(" at ")[0].replace("expected", " "))[:2]
    torch_value = float(oracle["bndiff2"][tuple(index)])
    assert ui.close(expected, torch_value), (expected, torch_value, text)
    assert ui.close(yours, torch_value * 7 / 8), (yours, torch_value, text)
    expect(page.locator("svg#graph g.node.grade-wrong")).to_have_count(1)
    expect(page.locator("svg#graph g.node.grade-wrong .node-label")).to_contain_text("dbndiff2 ✗ wrong")
    narration = page.locator("#narration").text_content() or ""
    assert "Your dbndiff2: ✗ wrong" in narration, narration
    page.locator("fieldset.modes").screenshot(path=SHOTS / "summary-1280-light.png")
    for size, scheme in [((1280, 800), "light"), ((1280, 800), "dark"), ((390, 844), "light"),
                         ((390, 844), "dark")]:
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.emulate_media(color_scheme=scheme)
        page.locator("#step-panel").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"wrong-{size[0]}-{scheme}.png")
    page.set_viewport_size({"width": 1280, "height": 800})
    go_to(page, "probs")
    for size, scheme in [((1280, 800), "light"), ((1280, 800), "dark"), ((390, 844), "light"),
                         ((390, 844), "dark")]:
        page.set_viewport_size({"width": size[0], "height": size[1]})
        page.emulate_media(color_scheme=scheme)
        page.locator("#step-panel").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"right-{size[0]}-{scheme}.png")


def test_a_folded_statement_is_asked_at_its_whole_backward_run(
        ninja_page: Page, base_url: str) -> None:
    page = ninja_page
    rest = {k: v for k, v in ANSWERS.items() if k != "bndiff2"}
    open_ninja(page, link(base_url, {**rest, "bndiff2": "1/8 * ones_like(bndiff2) * dbnvar"}))
    page.get_by_role("button", name="Fold all").click()
    label = page.locator("#step-panel label.ninja-label")
    for _ in range(120):
        if label.count() and label.text_content() == "dbndiff2 =":
            break
        page.get_by_role("button", name="Next step", exact=True).click()
    expect(label).to_have_text("dbndiff2 =")
    expect(page.locator("#ninja-verdict .grade-line.grade-wrong")).to_contain_text("yours")
    assert "Your dbndiff2: ✗ wrong" in (page.locator("#narration").text_content() or "")
    # The inputs (leaves) are asked too, at their own backward steps.
    check_typed(page, "W1", ANSWERS["W1"])
    expect(page.locator("#ninja-verdict .grade-line")).to_contain_text("dW1")


def test_the_exported_offline_file_plays_the_graded_answers(
        ninja_page: Page, base_url: str, browser: Browser, built_frontend: Path,
        tmp_path: Path) -> None:
    page = ninja_page
    rest = {k: v for k, v in ANSWERS.items() if k != "bndiff2"}
    open_ninja(page, link(base_url, {**rest, "bndiff2": "1/8 * ones_like(bndiff2) * dbnvar"}))
    expect(page.locator("#ninja-score")).to_contain_text("first mistake: dbndiff2")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export HTML", exact=True).click()
    path = tmp_path / "ninja.html"
    download.value.save_as(path)
    offline, blocked, errors = ui.open_offline(browser, path)
    expect(offline.locator("svg#graph g.node.grade-wrong .node-label")).to_contain_text("dbndiff2 ✗ wrong")
    expect(offline.locator("svg#graph g.node.grade-exact, svg#graph g.node.grade-approx")).to_have_count(
        len(ANSWERS) - 1)
    offline.context.close()
    assert not blocked and not errors, (blocked, errors)


def test_a_syntax_error_shows_its_message_and_its_span_in_the_answer(
        ninja_page: Page, base_url: str) -> None:
    page = ninja_page
    open_ninja(page, link(base_url, {}))
    # Practice mode and ninja mode take turns: switching one on switches the other off.
    page.get_by_label("Practice mode", exact=True).check()
    expect(page.get_by_label("Ninja mode", exact=True)).not_to_be_checked()
    expect(page.locator("#ninja-score")).to_be_hidden()
    page.get_by_label("Ninja mode", exact=True).check()
    expect(page.get_by_label("Practice mode", exact=True)).not_to_be_checked()
    expect(page.locator("#ninja-score")).to_be_visible()
    # What is typed and not checked yet stays in its field while the player moves.
    go_to(page, "probs")
    page.get_by_label("dprobs =", exact=True).fill("dlogprobs")
    page.get_by_role("button", name="Previous step", exact=True).click()
    go_to(page, "probs")
    expect(page.get_by_label("dprobs =", exact=True)).to_have_value("dlogprobs")
    typed = "-counts_sum** * dcounts_sum_inv"
    check_typed(page, "counts_sum", typed)
    expect(page.locator("#ninja-verdict .grade-error")).to_contain_text("✗ error")
    expect(page.locator("#ninja-verdict mark.ninja-error-span")).to_have_text("*")
    expect(page.locator("#ninja-verdict code.ninja-typed")).to_have_text(typed)
    expect(page.locator("#ninja-score")).to_contain_text("1 cannot be evaluated")
    expect(page.locator("svg#graph g.node.grade-error .node-label")).to_contain_text("dcounts_sum ✗ error")
    assert "missing" not in (page.locator("#narration").text_content() or "")
    for width, height in [(1280, 800), (390, 844)]:
        page.set_viewport_size({"width": width, "height": height})
        page.locator("#step-panel").scroll_into_view_if_needed()
        page.screenshot(path=SHOTS / f"error-{width}-light.png")


def test_ninja_mode_is_switched_on_by_keyboard_and_axe_finds_nothing(
        ninja_page: Page, base_url: str) -> None:
    page = ninja_page
    ui.open_app(page, link(base_url, {"bndiff2": "1/8 * ones_like(bndiff2) * dbnvar"}, ninja=False))
    expect(page.locator("#ninja-score")).to_be_hidden()
    box = page.get_by_label("Ninja mode", exact=True)
    box.focus()
    page.keyboard.press("Space")
    expect(page.locator("#ninja-score")).to_contain_text("first mistake: dbndiff2")
    go_to(page, "bndiff2")
    expect(page.locator("#ninja-verdict .grade-line.grade-wrong")).to_be_visible()
    page.locator("details.ninja-names summary").press("Enter")  # the names list, opened
    expect(page.locator("#ninja-names")).to_be_visible()
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        violations = run_axe(page)
        assert not violations, f"{scheme}: {report(violations)}"
