"""The notebook widget: `chainrule.show(...)` is an anywidget whose ES module, loaded in real
Chromium with a minimal stand-in for anywidget's `model` (get, set, on, off, save_changes) and
every network request blocked, draws the answer and steps it to the true gradients, keeping
the model's `step` in step both ways."""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import pytest
from anywidget._util import remove_buffers
from chainrule import ChainruleError, backprop, from_micrograd, show
from chainrule.answer.records import spelled_out
from chainrule.widget import FLOAT_COLUMNS, esm_path
from micrograd.engine import Value
from playwright.sync_api import Browser, Page, Route, expect

from ..oracles import sympy_gradients
from . import ui

ORIGIN = "http://notebook.test"  # no server: the test answers every request itself
TRUE_GRADIENTS = sympy_gradients(ui.SOURCE, ui.VALUES)  # the oracle

# What a notebook does with an anywidget module, reduced to what anywidget's front end
# promises it: `render({model, el})`, with a model that has get, set, on, off, save_changes.
# The state travels as Jupyter's widget messages carry it: JSON with the binary parts taken
# out (`buffer_paths`, `buffers`, here base64), put back in as DataViews (ipywidgets'
# put_buffers).
HARNESS = """<!doctype html><html><head><meta charset="utf-8"></head><body>
<p>A notebook cell's output:</p><div id="output" OUTPUT_STYLE></div>
<script type="module">
  const listeners = new Map();
  const message = JSON.parse(document.getElementById("state").textContent);
  const state = message.state;
  message.buffer_paths.forEach((path, k) => {
    const bytes = Uint8Array.from(atob(message.buffers[k]), (c) => c.charCodeAt(0));
    const holder = path.slice(0, -1).reduce((o, key) => o[key], state);
    holder[path.at(-1)] = new DataView(bytes.buffer);
  });
  window.saved = [];
  window.model = {
    get: (key) => state[key],
    set(key, value) {
      state[key] = value;
      for (const f of listeners.get(`change:${key}`) ?? []) f();
    },
    on: (name, f) => listeners.set(name, [...(listeners.get(name) ?? []), f]),
    off: (name, f) => listeners.set(name, (listeners.get(name) ?? []).filter((g) => g !== f)),
    save_changes() { window.saved.push({ step: state.step }); },
  };
  const { default: widget } = await import("./widget.js");
  window.cleanup = widget.render({ model: window.model, el: document.getElementById("output") });
</script>
<script type="application/json" id="state">STATE</script>
</body></html>"""


def open_widget(browser: Browser, widget: anywidget.AnyWidget, *, hidden: bool = False
                ) -> tuple[Page, list[str]]:
    """The widget's module (`widget._esm`, as the notebook gets it) rendered in a page whose
    every other request is aborted; returns the page and the aborted requests. `hidden`: the
    output has no size yet (a notebook may render a widget before showing it), so the player
    waits, half built, until the test shows it."""
    state, paths, buffers = remove_buffers({"answer": widget.answer, "step": widget.step})
    state = json.dumps({"state": state, "buffer_paths": paths,
                        "buffers": [base64.b64encode(b).decode() for b in buffers]}
                       ).replace("<", "\\u003c")
    page = browser.new_context(viewport={"width": 1100, "height": 1000}).new_page()
    blocked: list[str] = []

    def route(r: Route) -> None:
        if r.request.url == f"{ORIGIN}/":
            html = HARNESS.replace("OUTPUT_STYLE", 'style="display: none"' if hidden else "")
            r.fulfill(body=html.replace("STATE", state), content_type="text/html")
        elif r.request.url == f"{ORIGIN}/widget.js":
            r.fulfill(body=widget._esm, content_type="text/javascript")
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(f"{ORIGIN}/")
    return page, blocked


@pytest.fixture
def shown(browser: Browser) -> Iterator[tuple[Page, list[str], dict[str, Any]]]:
    """The widget's page, the requests it tried, and its answer spelled out as records (v1):
    the widget holds the compact answer, which the page writes out step by step."""
    widget = show(ui.SOURCE, **ui.VALUES)
    assert widget.answer["version"] == 2 and "nodes" not in widget.answer, "the compact answer"
    page, blocked = open_widget(browser, widget)
    yield page, blocked, spelled_out(compact(widget.answer))
    page.context.close()


def compact(answer: dict[str, Any]) -> dict[str, Any]:
    """The widget's answer with its binary columns read back: the compact answer."""
    columns = {table: dict(fields) for table, fields in answer["columns"].items()}
    for table, field in FLOAT_COLUMNS:
        if isinstance(columns[table][field], memoryview):
            numbers = np.frombuffer(columns[table][field], dtype="<f8").tolist()
            columns[table][field] = [None if math.isnan(x) else x for x in numbers]
    return {**answer, "columns": columns}


def test_show_is_an_anywidget_holding_backprops_answer(built_frontend: Path) -> None:
    widget = show(ui.SOURCE, **ui.VALUES)
    assert isinstance(widget, anywidget.AnyWidget)
    assert compact(widget.answer) == json.loads(
        backprop(ui.SOURCE, ui.VALUES).model_dump_json(by_alias=True))
    state, paths, buffers = remove_buffers({"answer": widget.answer})
    assert paths == [["answer", "columns", table, field] for table, field in FLOAT_COLUMNS], \
        "a scalar graph's values, gradients, locals and contributions travel as float64 buffers"
    assert len(json.dumps(state, separators=(",", ":"))) + sum(len(b) for b in buffers) < len(
        backprop(ui.SOURCE, ui.VALUES).compact_json())
    assert widget.step == 0
    assert widget._esm == esm_path().read_text(), "the module is the built dist/widget.js"


def test_show_takes_a_result_already_computed() -> None:
    result = backprop(ui.SOURCE, ui.VALUES, mode="forward", wrt="x")
    assert show(result).answer["tangent"]["wrt"] == "x"
    a, b = Value(1.5), Value(2.0)
    loss = (a * b).relu() + a**2
    assert show(from_micrograd(loss)).answer["gradients"]


def test_show_refuses_a_mistake_and_what_it_cannot_show() -> None:
    with pytest.raises(ChainruleError) as err:
        show("sin(x*) + 1", x=1)
    assert err.value.span is not None
    with pytest.raises(TypeError):
        show(backprop(ui.SOURCE, ui.VALUES), x=2)
    with pytest.raises(TypeError):
        show(42)  # type: ignore[arg-type]


def test_the_widgets_module_draws_and_steps_to_the_true_gradients_offline(
        shown: tuple[Page, list[str], dict[str, Any]], artifacts: Path) -> None:
    page, blocked, answer = shown
    root = page.locator("#output .player-view")  # inside the widget's shadow root
    expect(root).to_have_attribute("data-status", "ready")
    expect(ui.nodes(page)).to_have_count(len(answer["nodes"]))
    expect(page.locator("#narration")).to_have_text(ui.forward_steps(answer)[0]["text"])

    page.get_by_role("button", name="Next step", exact=True).click()
    expect(page.locator("#narration")).to_have_text(ui.forward_steps(answer)[1]["text"])
    assert page.evaluate("window.model.get('step')") == 1, "the step goes back to the model"
    assert page.evaluate("window.saved") == [{"step": 1}]

    last = len(ui.forward_steps(answer)) + len(answer["backward"]) - 1
    page.evaluate(f"window.model.set('step', {last})")  # as Python's `widget.step = last`
    expect(ui.slider(page)).to_have_value(str(last))
    expect(page.locator("#phase")).to_have_text("Backward pass")
    ui.expect_gradients(page, TRUE_GRADIENTS)
    expect(page.locator("#step-panel .katex").first).to_be_visible()
    fonts = page.evaluate("""() => [...document.fonts].filter((f) => f.status === "loaded")
        .map((f) => f.family)""")
    assert "KaTeX_Main" in fonts, "KaTeX's fonts come from the module itself"
    page.screenshot(path=artifacts / "widget-end.png")
    assert not blocked, blocked


def test_the_widget_keeps_its_styles_to_itself(
        shown: tuple[Page, list[str], dict[str, Any]]) -> None:
    page, _, _ = shown
    expect(page.locator("#output .player-view")).to_have_attribute("data-status", "ready")
    notebook_text = page.locator("p").first
    assert notebook_text.evaluate("(p) => getComputedStyle(document.body).margin") == "8px", \
        "the page's body rules must not reach the notebook"
    value_colour = page.locator(".node-value").first.evaluate("(t) => getComputedStyle(t).fill")
    assert value_colour != "rgb(0, 0, 0)", "the widget's own palette applies inside it"


def test_the_widgets_keys_step_it_when_it_has_focus(
        shown: tuple[Page, list[str], dict[str, Any]]) -> None:
    page, _, answer = shown
    expect(page.locator("#output .player-view")).to_have_attribute("data-status", "ready")
    page.keyboard.press("ArrowRight")  # the notebook has the focus: the widget does not move
    expect(ui.slider(page)).to_have_value("0")
    page.locator("#output .player-view").focus()
    page.keyboard.press("End")
    expect(ui.slider(page)).to_have_value(str(len(ui.forward_steps(answer)) + len(answer["backward"]) - 1))


def test_the_widget_plays_and_removing_its_view_stops_its_clock(
        shown: tuple[Page, list[str], dict[str, Any]]) -> None:
    page, _, _ = shown
    expect(page.locator("#output .player-view")).to_have_attribute("data-status", "ready")
    page.get_by_role("button", name="Play", exact=True).click()
    # It plays on, reporting each step (read as at least 3: a loaded machine may pass 3 between
    # two of expect's polls).
    page.wait_for_function("(slider) => Number(slider.value) >= 3",
                           arg=ui.slider(page).element_handle())
    assert page.evaluate("window.model.get('step')") >= 3
    page.evaluate("window.cleanup()")  # what anywidget calls when the output is cleared
    at = ui.slider(page).input_value()
    page.wait_for_timeout(1500)  # three ticks at 2 steps/s, had the clock gone on
    assert ui.slider(page).input_value() == at


def test_a_step_set_while_the_player_is_built_wins_over_its_first_step(
        built_frontend: Path, browser: Browser) -> None:
    # Run All in JupyterLab: `w = show(...)`, then `w.step = 5` arrives while the player is
    # still being built. It must show step 5 and leave the model's step at 5, not write 0 back.
    widget = show(ui.SOURCE, **ui.VALUES)
    page, _ = open_widget(browser, widget, hidden=True)
    root = page.locator("#output .player-view")
    expect(root).to_be_attached()
    page.evaluate("window.model.set('step', 5)")  # as Python's `w.step = 5`
    assert root.get_attribute("data-status") != "ready", "the player is still being built"
    page.evaluate("document.getElementById('output').style.display = ''")
    expect(root).to_have_attribute("data-status", "ready")
    expect(ui.slider(page)).to_have_value("5")
    expect(page.locator("#step-count")).to_have_text(re.compile(r"^6 / \d+$"))
    assert page.evaluate("window.model.get('step')") == 5
    assert page.evaluate("window.saved") == [], "nothing is written back over the model's step"
    page.evaluate("window.model.set('step', 999)")  # past the end: the last step, reported
    expect(page.get_by_role("button", name="Next step", exact=True)).to_be_disabled()
    assert page.evaluate("window.model.get('step')") == int(ui.slider(page).input_value())
    page.context.close()


def test_the_widget_takes_jupyterlabs_theme_over_the_systems(browser: Browser) -> None:
    page, blocked = open_widget(browser, show(ui.SOURCE, **ui.VALUES))
    try:
        page.emulate_media(color_scheme="dark")  # the system is dark
        player = page.locator(".player-view")
        expect(player).to_have_attribute("data-status", "ready")
        palette = "el => getComputedStyle(el).getPropertyValue('--bg').trim()"
        assert player.evaluate(palette) == "#15171a", "no notebook theme: the system's"
        page.evaluate("() => { document.body.dataset.jpThemeLight = 'true'; }")  # JupyterLab Light
        expect(page.locator("#output")).to_have_attribute("data-theme", "light")
        assert player.evaluate(palette) == "#f7f7f5"
        page.emulate_media(color_scheme="light")
        page.evaluate("() => { document.body.dataset.jpThemeLight = 'false'; }")  # JupyterLab Dark
        expect(page.locator("#output")).to_have_attribute("data-theme", "dark")
        assert player.evaluate(palette) == "#15171a"
        assert not blocked
    finally:
        page.context.close()
