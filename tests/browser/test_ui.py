"""The UI end to end in headless Chromium: what a user does, and what the page must then show."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, expect

from . import ui
from .ui import SOURCE, VALUES, VALUES_TEXT

SEED_SENTENCE = "This is just the chain rule, applied once per edge."


def test_gradients_at_the_end_of_the_backward_pass_are_the_apis_and_the_true_ones(
        ran: Page, answer: dict[str, Any], artifacts: Path) -> None:
    page = ran
    page.screenshot(path=artifacts / "after-run.png")
    forward, backward = ui.forward_steps(answer), answer["backward"]
    bar = ui.slider(page)
    expect(bar).to_have_attribute("id", "step-slider")
    expect(bar).to_have_value("0")
    assert int(bar.get_attribute("min") or 0) == 0
    assert int(bar.get_attribute("max") or -1) == len(forward) + len(backward) - 1, \
        "the slider should cover the forward steps then the backward steps"
    expect(page.locator("#phase")).to_contain_text("Forward pass")
    expect(ui.current_node(page)).to_have_attribute("data-id", forward[0]["node"])
    expect(page.locator("#narration")).to_have_text(forward[0]["text"])

    ui.step_to(page, len(forward))
    expect(page.locator("#phase")).to_contain_text("Backward pass")
    expect(page.locator("#step-panel")).to_contain_text(SEED_SENTENCE)
    expect(page.locator("#narration")).to_have_text(backward[0]["text"])
    expect(ui.current_node(page)).to_have_attribute("data-id", backward[0]["node"])

    middle = len(forward) + len(backward) // 2
    ui.step_to(page, middle)
    expect(ui.current_node(page)).to_have_attribute("data-id",
                                                    backward[len(backward) // 2]["node"])
    page.screenshot(path=artifacts / "mid-backward.png")

    ui.step_to(page, len(forward) + len(backward) - 1)
    expect(page.locator("#narration")).to_have_text(backward[-1]["text"])
    page.screenshot(path=artifacts / "end.png")

    x, y = VALUES["x"], VALUES["y"]
    calculus = {"x": 2 * x + y * math.cos(x * y), "y": x * math.cos(x * y)}
    rows = page.locator("#gradients tr[data-input]")
    expect(rows).to_have_count(len(answer["gradients"]))
    assert set(answer["gradients"]) == set(calculus)
    for name, value in answer["gradients"].items():
        row = page.locator(f'#gradients tr[data-input="{name}"]')
        assert json.loads(row.get_attribute("data-value") or "null") == value
        shown = ui.shown_number(row.locator(".grad").text_content())
        assert ui.close(shown, value), (name, shown, value)
        assert ui.close(shown, calculus[name]), (name, shown, calculus[name])
        assert math.isclose(value, calculus[name], rel_tol=1e-12)
    for card in answer["nodes"]:
        if card["op"] == "input":
            grad = ui.shown_number(ui.node(page, card["id"]).locator(".node-grad").text_content())
            assert ui.close(grad, answer["gradients"][card["name"]]), card["name"]


@pytest.mark.parametrize(("source", "marked"), [
    ("x + foo(y)", "foo"),
    ("sin(x*", "*"),
    ("x $ y", "$"),
    ("a = x*2\nb = a + zz\nb", "zz"),
])
def test_an_error_underlines_exactly_the_characters_at_fault(
        page: Page, base_url: str, api: httpx.Client, artifacts: Path,
        source: str, marked: str) -> None:
    start, end = ui.api_error(api, source, VALUES)["span"]
    assert source[start:end] == marked
    ui.open_app(page, base_url)
    ui.run(page, source, VALUES_TEXT)
    alert = page.locator("#error")
    expect(alert).to_be_visible()
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).not_to_be_empty()
    mark = page.locator("mark.error-span")
    expect(mark).to_have_count(1)
    assert mark.text_content() == marked
    if marked == "foo":
        page.screenshot(path=artifacts / "error.png")


def test_fixing_the_source_clears_the_error(
        page: Page, base_url: str, answer: dict[str, Any]) -> None:
    ui.open_app(page, base_url)
    ui.run(page, "x + foo(y)", VALUES_TEXT)
    expect(page.locator("mark.error-span")).to_have_count(1)
    ui.run(page, SOURCE, VALUES_TEXT)
    ui.expect_graph(page, answer)
    expect(page.locator("mark.error-span")).to_have_count(0)
    shown_error = page.locator("#error").filter(visible=True).filter(has_text=re.compile(r"\S"))
    expect(shown_error).to_have_count(0)


def test_an_error_marks_the_last_good_graph_as_stale(ran: Page) -> None:
    graph = ran.locator("svg#graph")
    expect(graph).not_to_have_class(re.compile(r"\bstale\b"))
    ui.run(ran, "x + foo(y)", VALUES_TEXT)
    expect(graph).to_have_class(re.compile(r"\bstale\b"))
    ui.run(ran, SOURCE, VALUES_TEXT)
    expect(graph).not_to_have_class(re.compile(r"\bstale\b"))


def test_a_shared_link_reopens_the_same_graph_and_step(
        ran: Page, browser: Browser, answer: dict[str, Any]) -> None:
    page = ran
    index = len(ui.forward_steps(answer)) + 2
    ui.step_to(page, index)
    expect(page).to_have_url(re.compile(rf"[#&]step={index}(&|$)"))
    url = page.url
    state = parse_qs(urlparse(url).fragment)
    assert state["source"] == [SOURCE]
    assert "values" in state
    node_id = ui.current_node(page).get_attribute("data-id")
    values = page.get_by_label("Values", exact=True).input_value()

    other = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        shared = other.new_page()
        shared.goto(url)
        ui.expect_graph(shared, answer)
        expect(shared.get_by_label("Expression", exact=True)).to_have_value(SOURCE)
        expect(shared.get_by_label("Values", exact=True)).to_have_value(values)
        expect(ui.slider(shared)).to_have_value(str(index))
        expect(ui.current_node(shared)).to_have_attribute("data-id", node_id or "")
        expect(shared.locator("#phase")).to_contain_text("Backward pass")
    finally:
        other.close()


def test_arrow_keys_step_and_space_plays_when_focus_is_outside_text_fields(ran: Page) -> None:
    page = ran
    bar = ui.slider(page)
    expect(bar).to_have_value("0")
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for index in range(1, 4):
        page.keyboard.press("ArrowRight")
        expect(bar).to_have_value(str(index))
    page.keyboard.press("ArrowLeft")
    expect(bar).to_have_value("2")
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()

    at = bar.input_value()
    page.get_by_label("Expression", exact=True).focus()
    page.keyboard.press("ArrowRight")
    expect(bar).to_have_value(at)


def test_space_on_a_focused_button_presses_that_button_not_play(ran: Page) -> None:
    page = ran
    bar = ui.slider(page)
    expect(bar).to_have_value("0")
    page.get_by_role("button", name="Fit to screen").focus()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
    page.wait_for_timeout(1200)  # long enough for a started player to have moved on
    expect(bar).to_have_value("0")
    page.get_by_role("button", name="Next step").focus()
    page.keyboard.press("Space")
    expect(bar).to_have_value("1")


def test_editing_the_source_leaves_the_examples_menu(page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    menu = page.get_by_label("Examples", exact=True)
    menu.select_option(index=1)
    expect(menu).not_to_have_value("")
    page.get_by_label("Expression", exact=True).press("End")
    page.get_by_label("Expression", exact=True).press_sequentially(" + 1")
    expect(menu).to_have_value("")


def test_ctrl_enter_in_the_editor_runs(
        page: Page, base_url: str, answer: dict[str, Any]) -> None:
    ui.open_app(page, base_url)
    page.get_by_label("Values", exact=True).fill(VALUES_TEXT)
    editor = page.get_by_label("Expression", exact=True)
    editor.fill(SOURCE)
    editor.press("Control+Enter")
    ui.expect_graph(page, answer)
    expect(editor).to_have_value(SOURCE)


def test_an_example_runs_and_its_fan_out_step_shows_the_running_sum(
        page: Page, base_url: str, api: httpx.Client) -> None:
    example = next(e for e in api.get("/api/v1/examples").json()
                   if e["source"] == "x*y + sin(x)")
    answer = ui.backprop(api, example["source"], example["values"])
    ui.open_app(page, base_url)
    option = page.locator("#examples option", has_text=example["title"])
    index = option.evaluate("(o) => o.index")
    page.get_by_label("Examples", exact=True).select_option(index=index)
    expect(page.get_by_label("Expression", exact=True)).to_have_value(example["source"])
    # Choosing the example ran it already; this second run's answer, once it is in, is the one
    # stepped (were the first one's steps taken, the second would set the player back to 0).
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    ui.expect_graph(page, answer)

    evaluations = answer["check"]["evaluations"]
    check = page.locator("#check")
    expect(check).to_contain_text("2N")
    expect(check).to_contain_text(re.compile(rf"(?<![\d.]){evaluations}(?![\d.])"))

    position, term = next((i, t) for i, step in enumerate(answer["backward"])
                          for t in step["terms"] if t["accumulated"])
    assert math.isclose(term["before"] + term["contribution"], term["after"])
    ui.step_to(page, len(ui.forward_steps(answer)) + position)
    expect(page.locator("#narration")).to_have_text(answer["backward"][position]["text"])
    panel = page.locator("#step-panel")
    expect(panel).to_contain_text(re.compile(r"\d"))
    shown = ui.numbers_in(panel.text_content() or "")
    for part in ("before", "contribution", "after"):
        assert any(ui.close(n, term[part]) for n in shown), (part, term[part], shown)


def test_export_json_downloads_the_apis_gradients(
        ran: Page, answer: dict[str, Any]) -> None:
    page = ran
    with page.expect_download() as info:
        page.get_by_role("button", name="Export JSON", exact=True).click()
    download = info.value
    assert download.suggested_filename.endswith(".json")
    exported = json.loads(Path(download.path()).read_text())
    assert exported["version"] == 2, "the compact answer, as the API sent it"
    assert exported["gradients"] == answer["gradients"]
    assert len(exported["columns"]["nodes"]["op"]) == len(answer["nodes"])
    assert len(exported["columns"]["steps"]["node"]) == len(answer["backward"])
    expect(page.locator("#share-status")).to_contain_text("compact answer")
    for name in ("Copy link", "Export SVG", "Export PNG"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()


def test_hovering_a_node_highlights_its_span_in_the_source(
        ran: Page, answer: dict[str, Any]) -> None:
    page = ran
    card = next(n for n in answer["nodes"] if n["op"] == "mul")
    start, end = card["span"]
    ui.node(page, card["id"]).hover()
    expect(page.locator(".node-span")).to_have_text(SOURCE[start:end])


def test_the_page_stays_on_127_0_0_1_and_logs_no_errors(
        page: Page, base_url: str, answer: dict[str, Any]) -> None:
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(_url(request)))
    page.on("console", lambda msg: errors.extend(_console_error(msg)))
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    ui.open_app(page, base_url)
    ui.run(page, SOURCE, VALUES_TEXT)
    ui.expect_graph(page, answer)
    ui.step_to(page, len(ui.forward_steps(answer)) + 1)
    page.get_by_role("button", name="Fit to screen", exact=True).click()
    ui.node(page, answer["output"]["node"]).hover()
    expect(page.locator("#gradients tr[data-input]")).to_have_count(len(answer["gradients"]))

    assert requests, "no request recorded"
    outside = [u for u in requests
               if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname != "127.0.0.1"]
    assert outside == []
    assert errors == []


def test_the_api_docs_render_from_our_own_server(page: Page, base_url: str) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(_url(request)))
    page.goto(f"{base_url}/docs")
    expect(page.get_by_text("/api/v1/backprop").first).to_be_visible()
    expect(page.get_by_text("/api/v1/optimize").first).to_be_visible()
    outside = [u for u in requests
               if urlparse(u).scheme not in ("data", "blob") and urlparse(u).hostname != "127.0.0.1"]
    assert outside == []


def test_a_phone_screen_shows_graph_and_controls_without_horizontal_overflow(
        browser: Browser, base_url: str, answer: dict[str, Any], artifacts: Path) -> None:
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        ui.open_app(page, base_url)
        ui.run(page, SOURCE, VALUES_TEXT)
        ui.expect_graph(page, answer)
        expect(page.locator("svg#graph")).to_be_visible()
        for name in ("Run", "Previous step", "Next step", "Play"):
            expect(page.get_by_role("button", name=name, exact=True)).to_be_visible()
        expect(ui.slider(page)).to_be_visible()
        box = page.locator("svg#graph").bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5
        widths = page.evaluate("""() => ({
            document: document.documentElement.scrollWidth,
            body: document.body.scrollWidth,
            viewport: window.innerWidth })""")
        page.screenshot(path=artifacts / "phone.png", full_page=True)
        assert widths["viewport"] == 390, f"no <meta name=viewport> for phones: {widths}"
        assert widths["document"] <= widths["viewport"], widths
        assert widths["body"] <= widths["viewport"], widths
    finally:
        phone.close()


@pytest.mark.parametrize("width", [390, 320])
def test_each_colour_of_the_legend_stays_beside_its_words_on_a_phone(
        browser: Browser, base_url: str, width: int) -> None:
    phone = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = phone.new_page()
        ui.open_app(page, base_url)
        items = page.evaluate("""() => [...document.querySelectorAll('.legend .swatch')].map(s => {
            const box = s.getBoundingClientRect();
            const words = document.createRange();
            words.selectNodeContents(s.nextSibling);  // the words after the swatch
            const lines = [...words.getClientRects()].filter(r => r.width > 0);
            return { swatch: box.top + box.height / 2, lines: lines.map(r => [r.top, r.bottom]),
                     text: s.nextSibling.textContent.trim() }; })""")
        assert [i["text"].split()[0] for i in items] == ["value", "gradient", "tangent"]
        for item in items:  # the words on one line, and the swatch's middle on that line
            (top, bottom), *more = item["lines"]
            assert all(abs(t - top) < 2 for t, _ in more), item
            assert top <= item["swatch"] <= bottom, item
    finally:
        phone.close()


def _url(request: Request) -> str:
    return request.url


def _console_error(message: ConsoleMessage) -> list[str]:
    if message.type != "error":
        return []
    return [f"console: {message.text} at {message.location.get('url')}"]
