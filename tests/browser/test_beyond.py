"""Beyond backprop in the browser: forward mode, the optimizer as its own loop, practice mode."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from . import ui
from .ui import SOURCE, VALUES

BOWL = "(x-3)**2 + (y+1)**2"


def forward_answer(api: httpx.Client, wrt: str) -> dict[str, Any]:
    """The API's forward-mode answer for SOURCE with respect to `wrt`."""
    response = api.post("/api/v1/backprop", json={"source": SOURCE, "values": VALUES,
                                                  "mode": "forward", "wrt": wrt})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_forward_mode_carries_the_tangent_to_the_reverse_gradient(
        ran: Page, api: httpx.Client, answer: dict[str, Any], artifacts: Path) -> None:
    page = ran
    forward = forward_answer(api, "x")
    steps = forward["tangent"]["steps"]
    page.get_by_role("radio", name="Forward mode", exact=True).check()
    wrt = page.get_by_label("With respect to", exact=True)
    expect(wrt).to_be_visible()
    expect(wrt).to_have_value("x")
    expect(ui.slider(page)).to_have_attribute("max", str(len(steps) - 1))
    expect(page.locator("#phase")).to_have_text("Forward mode")
    expect(page).to_have_url(re.compile(r"[#&]mode=forward&wrt=x(&|$)"))

    ui.step_to(page, 2)
    expect(ui.current_node(page)).to_have_attribute("data-id", steps[2]["node"])
    expect(page.locator("svg#graph .edge.active-tangent")).to_have_count(len(steps[2]["terms"]))
    expect(page.locator("#step-panel")).to_contain_text("local derivative × incoming tangent")
    page.screenshot(path=artifacts / "forward-mode.png")

    ui.step_to(page, len(steps) - 1)
    derivative = forward["tangent"]["derivative"]
    assert math.isclose(derivative, answer["gradients"]["x"], rel_tol=1e-12)
    shown = page.locator("#step-panel .derivative")
    assert json.loads(shown.get_attribute("data-value") or "null") == derivative
    card = ui.node(page, answer["output"]["node"]).locator(".node-grad")
    assert ui.close(ui.shown_number(card.text_content()), answer["gradients"]["x"])
    page.screenshot(path=artifacts / "forward-mode-end.png")


def test_forward_mode_with_respect_to_y_and_a_shared_link_keep_mode_and_wrt(
        ran: Page, browser: Browser, api: httpx.Client, answer: dict[str, Any]) -> None:
    page = ran
    page.get_by_role("radio", name="Forward mode", exact=True).check()
    expect(page.locator("#phase")).to_have_text("Forward mode")
    page.get_by_label("With respect to", exact=True).select_option("y")
    expect(page).to_have_url(re.compile(r"[#&]wrt=y(&|$)"))
    steps = forward_answer(api, "y")["tangent"]["steps"]
    expect(ui.slider(page)).to_have_attribute("max", str(len(steps) - 1))
    url = page.url

    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        shared = other.new_page()
        shared.goto(url)
        ui.expect_graph(shared, answer)
        expect(shared.get_by_role("radio", name="Forward mode", exact=True)).to_be_checked()
        expect(shared.get_by_label("With respect to", exact=True)).to_have_value("y")
        ui.step_to(shared, len(steps) - 1)
        card = ui.node(shared, answer["output"]["node"]).locator(".node-grad")
        assert ui.close(ui.shown_number(card.text_content()), answer["gradients"]["y"])
    finally:
        other.close()


def test_the_cost_table_shows_one_pass_n_passes_and_2n_evaluations(
        ran: Page, answer: dict[str, Any]) -> None:
    page = ran
    n = answer["cost"]["input_elements"]
    table = page.locator("table#cost")
    expect(table).to_contain_text("2N")
    rows = {m: table.locator(f'tr[data-method="{m}"]')
            for m in ("reverse", "forward", "finite_differences")}
    expect(rows["reverse"]).to_contain_text("1 forward + 1 backward")
    expect(rows["forward"]).to_contain_text(f"{n} passes")
    expect(rows["finite_differences"]).to_contain_text(f"{2 * n} evaluations")
    expect(page.locator("#cost-verdict")).to_contain_text("one output and many inputs")


def run_descent(page: Page) -> None:
    """Run BOWL from (0, 0), then gradient descent with the panel's defaults."""
    ui.run(page, BOWL, "x=0, y=0")
    expect(ui.nodes(page).first).to_be_visible()
    expect(page.locator("#optimizer-inputs input[type=checkbox]")).to_have_count(2)
    panel = page.locator("#optimizer")
    panel.get_by_label("Method", exact=True).select_option("sgd")
    panel.get_by_label("Learning rate", exact=True).fill("0.1")
    panel.get_by_label("Iterations", exact=True).fill("60")
    panel.get_by_role("button", name="Run gradient descent", exact=True).click()


def test_gradient_descent_draws_the_loss_and_the_path_to_the_minimum(
        page: Page, base_url: str, artifacts: Path) -> None:
    ui.open_app(page, base_url)
    panel = page.locator("section#optimizer")
    expect(panel.get_by_role("heading", name="Gradient descent: a separate loop")).to_be_visible()
    expect(panel).to_contain_text("Backprop computes the gradient; gradient descent is a different "
                                  "algorithm that uses it, one backprop per iteration.")
    run_descent(page)
    expect(page.locator("svg#loss-plot path.loss-line")).to_have_count(1)
    expect(page.locator("svg#contour-plot .contours path").first).to_be_attached()
    end = page.locator("svg#contour-plot .descent-path circle.end")
    expect(end).to_have_count(1)
    x = float(end.get_attribute("data-x") or "nan")
    y = float(end.get_attribute("data-y") or "nan")
    assert abs(x - 3) < 1e-3 and abs(y + 1) < 1e-3, (x, y)
    assert page.locator("svg#contour-plot .descent-path circle").count() == 61
    last_x = page.locator('#optimizer-values tr[data-input="x"]')
    assert abs(json.loads(last_x.get_attribute("data-value") or "null") - 3) < 1e-3
    panel.screenshot(path=artifacts / "optimizer.png")


def test_a_big_array_descent_draws_every_iteration_and_says_it_was_thinned(
        page: Page, base_url: str, artifacts: Path) -> None:
    ui.open_app(page, base_url)
    x = [round(0.001 * k, 3) for k in range(5_000)]  # 2 x 5,000 numbers an iteration
    ui.run(page, "sum((x - 1)**2)", json.dumps({"x": x}))
    expect(page.locator("#optimizer-inputs input[type=checkbox]")).to_have_count(1)
    panel = page.locator("#optimizer")
    panel.get_by_label("Iterations", exact=True).fill("60")
    panel.get_by_role("button", name="Run gradient descent", exact=True).click()
    expect(panel.locator("#optimizer-note")).to_contain_text("of the 61 iterations")
    line = page.locator("svg#loss-plot path.loss-line")
    expect(line).to_have_count(1)
    assert (line.get_attribute("d") or "").count("L") == 60  # the whole curve, k = 0 .. 60
    expect(page.locator('#optimizer-values tr[data-input="x"] td.value').first).not_to_be_empty()
    panel.screenshot(path=artifacts / "optimizer-thinned.png")


def test_an_optimizer_error_shows_in_its_panel(page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    ui.run(page, BOWL, "x=0, y=0")
    expect(page.locator("#optimizer-inputs input[type=checkbox]")).to_have_count(2)
    panel = page.locator("#optimizer")
    page.get_by_label("Expression", exact=True).fill("(x-3)**2 + foo(y)")
    panel.get_by_role("button", name="Run gradient descent", exact=True).click()
    expect(panel.locator("#optimizer-error")).to_be_visible()
    expect(panel.locator("#optimizer-error")).to_contain_text("foo")


def term_block(page: Page, index: int) -> Locator:
    """A term of the step panel, by position."""
    return page.locator(f'#step-panel .term[data-term="{index}"]')


def test_practice_mode_checks_the_answers_and_keeps_the_score(
        ran: Page, answer: dict[str, Any], artifacts: Path) -> None:
    page = ran
    page.get_by_label("Practice mode", exact=True).check()
    forward, backward = ui.forward_steps(answer), answer["backward"]
    position, step = next((i, s) for i, s in enumerate(backward)
                          if not s["seed"] and len(s["terms"]) == 2)
    first_asked = next(i for i, s in enumerate(backward) if not s["seed"] and s["terms"])
    ui.step_to(page, len(forward) + first_asked)
    # The player waits at a step whose answers are not in.
    page.get_by_role("button", name="Next step", exact=True).click()
    expect(ui.slider(page)).to_have_value(str(len(forward) + first_asked))
    expect(page.locator("#narration")).to_contain_text("Practice")
    expect(page.locator("#step-panel")).to_contain_text("1e-3 relative")
    page.get_by_role("button", name="Reveal", exact=True).click()
    expect(page.get_by_role("button", name="Next step", exact=True)).to_be_enabled()

    for _ in range(first_asked + 1, position):
        index = int(ui.slider(page).input_value())
        page.get_by_role("button", name="Next step", exact=True).click()
        expect(ui.slider(page)).to_have_value(str(index + 1))
        if page.get_by_role("button", name="Reveal", exact=True).count():
            page.get_by_role("button", name="Reveal", exact=True).click()
    ui.step_to(page, len(forward) + position)
    score = page.locator("#practice-score")
    attempted = int(score.get_attribute("data-attempted") or "0")
    correct = int(score.get_attribute("data-correct") or "0")

    right, wrong = term_block(page, 0), term_block(page, 1)
    expect(right.get_by_label("Local derivative", exact=True)).to_be_empty()
    good = step["terms"][0]
    right.get_by_label("Local derivative", exact=True).fill(f"{good['local']:.6g}")
    right.get_by_label("Contribution", exact=True).fill(
        f"{good['contribution']:.6g}".replace("-", "−"))
    wrong.get_by_label("Local derivative", exact=True).fill(f"{step['terms'][1]['local'] + 1:.6g}")
    wrong.get_by_label("Contribution", exact=True).fill(f"{step['terms'][1]['contribution']:.6g}")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(right).to_have_attribute("data-status", "correct")
    expect(wrong).to_have_attribute("data-status", "wrong")
    expect(score).to_have_attribute("data-correct", str(correct + 3))
    expect(score).to_have_attribute("data-attempted", str(attempted + 4))
    expect(score).to_contain_text(f"{correct + 3} / {attempted + 4}")
    page.screenshot(path=artifacts / "practice.png")

    page.get_by_role("button", name="Hint", exact=True).click()
    expect(wrong.locator(".hint-formula")).to_be_visible()
    page.get_by_role("button", name="Next step", exact=True).click()
    expect(ui.slider(page)).to_have_value(str(len(forward) + position))
    wrong.get_by_label("Local derivative", exact=True).fill(f"{step['terms'][1]['local']}")
    page.get_by_role("button", name="Check", exact=True).click()
    expect(wrong).to_have_attribute("data-status", "correct")
    page.get_by_role("button", name="Next step", exact=True).click()
    expect(ui.slider(page)).to_have_value(str(len(forward) + position + 1))
    ui.step_to(page, len(forward) + len(backward) - 1)
    expect(score).to_contain_text("done")


@pytest.mark.parametrize("width", [1280, 390])
def test_the_new_panels_fit_the_screen(
        browser: Browser, base_url: str, artifacts: Path, width: int) -> None:
    phone = width < 500
    ctx = browser.new_context(viewport={"width": width, "height": 844 if phone else 900},
                              is_mobile=phone, has_touch=phone)
    try:
        page = ctx.new_page()
        ui.open_app(page, base_url)
        run_descent(page)
        expect(page.locator("svg#contour-plot .descent-path circle.end")).to_have_count(1)
        page.get_by_role("radio", name="Forward mode", exact=True).check()
        expect(page.locator("#phase")).to_have_text("Forward mode")
        ui.step_to(page, 2)
        widths = page.evaluate("""() => ({
            document: document.documentElement.scrollWidth, viewport: window.innerWidth })""")
        page.screenshot(path=artifacts / f"beyond-{width}.png", full_page=True)
        page.locator("#optimizer").screenshot(path=artifacts / f"optimizer-{width}.png")
        page.locator("main .stage").screenshot(path=artifacts / f"forward-stage-{width}.png")
        page.locator("main .editor").screenshot(path=artifacts / f"editor-{width}.png")
        assert widths["document"] <= widths["viewport"], widths
    finally:
        ctx.close()
