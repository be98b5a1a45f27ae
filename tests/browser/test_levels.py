"""A network seen by levels: micrograd's moons demo (bench/moons.py), in its offline file and in
the notebook widget, opens at its top level (data, layers, loss, regularization) as a few readable boxes that never
overlap, steps a layer at a time, opens a layer and a neuron in place, and steps single edges
inside them with upstream × local = contribution; the gradients shown are micrograd's own."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chainrule import from_micrograd, show
from chainrule.export import offline_html
from playwright.sync_api import Browser, Page, expect

from . import ui
from .test_widget import open_widget

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from micrograd.engine import Value
from moons import ALPHA, SEED, build_loss, moons, new_model  # the benchmark's own demo

POINTS = 20  # about 13,000 nodes: well over the 300 where a graph opens at its top level
MAX_BOXES = 40
MIN_TEXT_PX = 11


@pytest.fixture(scope="module", params=["offline file", "widget"])
def demo(request: pytest.FixtureRequest, built_frontend: Path, browser: Browser,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Page, Any, list[str]]]:
    loss, model, _ = build_loss(POINTS)
    result = from_micrograd(loss, model)
    loss.backward()
    if request.param == "widget":
        page, blocked = open_widget(browser, show(result))
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        expect(page.locator(".player-view")).to_have_attribute("data-status", "ready")
    else:
        out = tmp_path_factory.mktemp("levels") / "moons.html"
        out.write_text(offline_html(result))
        page, blocked, errors = ui.open_offline(browser, out)
    assert not blocked, blocked
    yield page, model, errors
    page.context.close()


def press(page: Page, key: str) -> None:
    """A key for the player: the widget hears keys while focus is inside it (a notebook has
    other keys of its own); the offline file hears them anywhere."""
    page.locator(".player-view").first.focus()
    page.keyboard.press(key)


def boxes(page: Page) -> list[dict[str, Any]]:
    """The group boxes drawn, with their screen rectangles and the size of their names."""
    return page.locator("svg#graph .node.group-box").evaluate_all("""els => els.map(el => {
        const r = el.querySelector('.card').getBoundingClientRect();
        const label = el.querySelector('.node-label');
        return {id: el.dataset.id, name: label.firstChild.textContent, x: r.x, y: r.y,
                w: r.width, h: r.height, text: label.getBoundingClientRect().height};
    })""")


def cards(page: Page) -> list[dict[str, Any]]:
    """The single nodes' cards drawn, with their screen rectangles."""
    return page.locator("svg#graph .node:not(.group-box) .card").evaluate_all("""els => els.map(el => {
        const r = el.getBoundingClientRect();
        return {id: el.parentNode.dataset.id, x: r.x, y: r.y, w: r.width, h: r.height};
    })""")


def drawn(page: Page) -> list[dict[str, Any]]:
    """The boxes, the cards and the edge counts drawn, read at one instant (the view may be
    panning to the current step): {id, kind (box, card, label), x, y, w, h}."""
    return page.locator("svg#graph").evaluate("""svg => {
        const rect = (el, id, kind) => {
            const r = el.getBoundingClientRect();
            return {id, kind, x: r.x, y: r.y, w: r.width, h: r.height};
        };
        return [
            ...[...svg.querySelectorAll('.node')].map(el => rect(el.querySelector('.card'), el.dataset.id,
                el.classList.contains('group-box') ? 'box' : 'card')),
            ...[...svg.querySelectorAll('text.edge-count')].map((el, k) => rect(el, `label${k}`, 'label')),
        ];
    }""")


def overlapping(rects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(a["id"], b["id"]) for i, a in enumerate(rects) for b in rects[i + 1:]
            if a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]]


def open_box(page: Page, name: str) -> None:
    """Press the + of the box named `name` (from the keyboard: the box may be out of view)."""
    toggle = page.locator("svg#graph .node.group-box").filter(
        has=page.locator(".node-label", has_text=re.compile(rf"^{re.escape(name)}(\s|$)"))).first.locator(".fold-toggle")
    toggle.focus()
    page.keyboard.press("Enter")  # the toggle's own key, not the player's


def step_count(page: Page) -> int:
    return int(ui.slider(page).input_value()) + 1


def test_the_demo_opens_at_its_top_level_as_a_few_readable_boxes(demo: tuple[Page, Any, list[str]]) -> None:
    page, _, errors = demo
    shown = boxes(page)
    names = {b["name"] for b in shown}
    assert {"data", "layers[0]", "layers[1]", "layers[2]", "loss", "regularization"} <= names, names
    assert len(shown) <= MAX_BOXES
    assert not overlapping(shown)
    assert min(b["text"] for b in shown) >= MIN_TEXT_PX, "names readable at the first view"
    assert page.locator("svg#graph .node:not(.group-box)").count() == 0, "only boxes at the top level"
    assert not errors, errors


def test_the_player_steps_a_layer_at_a_time_then_inside_an_opened_layer(
        demo: tuple[Page, Any, list[str]], artifacts: Path) -> None:
    page, model, _ = demo
    press(page, "Home")
    first = step_count(page)
    page.get_by_role("button", name="Next step", exact=True).click()
    expect(page.locator("#narration")).to_contain_text(re.compile(r"^Forward through layer layers\[1\]"))
    assert step_count(page) - first > 100, "one press runs a whole layer's steps"
    expect(page.locator("#step-panel")).to_contain_text("16 neurons")

    open_box(page, "layers[1]")
    frame = page.locator('.frame:has(.frame-title:has-text("layers[1]"))')
    expect(frame).to_have_count(1)
    expect(page.locator(".levels-bar")).to_contain_text("layers[1]")
    neurons = [b for b in boxes(page) if b["name"].startswith("neurons[")]
    assert len(neurons) == len(model.layers[1].neurons)
    assert not overlapping(boxes(page))
    page.screenshot(path=artifacts / "levels-layer-open.png")

    # The backward pass through layer 2's first neuron, box by box, with its gradient's norm.
    press(page, "End")
    for _ in range(40):
        if "neurons[0]" in (page.locator("#narration").text_content() or ""):
            break
        page.get_by_role("button", name="Previous step", exact=True).click()
    narration = page.locator("#narration").text_content() or ""
    assert narration.startswith("Backward through neuron layers[1].neurons[0]"), narration
    neuron = model.layers[1].neurons[0]
    norm = sum(p.grad ** 2 for p in neuron.parameters()) ** 0.5
    shown = ui.numbers_in(narration.split("‖ =")[1])[0]
    assert ui.close(shown, norm), (shown, norm)


def test_an_opened_neuron_steps_single_edges_with_upstream_times_local(
        demo: tuple[Page, Any, list[str]], artifacts: Path) -> None:
    page, model, _ = demo
    page.get_by_role("button", name="Fold all", exact=True).click()
    expect(page.locator(".frame")).to_have_count(0)
    open_box(page, "layers[2]")
    open_box(page, "neurons[0]")  # its ops on the first point, the other points one box
    expect(page.locator(".levels-bar")).to_contain_text("layers[2]")
    expect(page.locator("svg#graph .node.group-box").filter(has_text="sample[0]")).to_have_count(0)
    expect(page.locator(".frame-title").filter(has_text="sample[0]")).to_contain_text(f"1 of {POINTS} samples")
    assert not overlapping([r for r in drawn(page) if r["kind"] != "label"])
    press(page, "End")
    # Back from the end (layer 1's box, layer 2's...) to a single node of the opened sample.
    legend = page.locator("#step-panel .legend-line")
    for _ in range(120):
        page.get_by_role("button", name="Previous step", exact=True).click()
        if legend.count():
            break
    expect(ui.current_node(page)).not_to_have_class(re.compile(r"group-box"))
    expect(legend).to_have_text("upstream gradient × local derivative = contribution")
    expect(page.locator("#step-panel")).to_contain_text(re.compile(r"Backward pass, step \d+ of"))
    page.screenshot(path=artifacts / "levels-neuron-open.png")
    press(page, "End")
    weights = model.layers[2].neurons[0].w
    ui.expect_gradients(page, {})
    shown = ui.gradient_shown(page, "layers[2].neurons[0].w[0]")
    assert ui.close(shown, weights[0].grad), (shown, weights[0].grad)


def test_an_opened_neuron_shows_its_batch_once_and_steps_the_sample_picked(
        demo: tuple[Page, Any, list[str]], artifacts: Path) -> None:
    """Opening a neuron shows its computation on one sample, each card carrying the whole
    batch as a strip, the other samples one box; picking sample 17 shows and steps that
    sample's own numbers: its score is one of micrograd's, with micrograd's .grad."""
    page, _, errors = demo
    page.get_by_role("button", name="Fold all", exact=True).click()
    open_box(page, "layers[2]")
    open_box(page, "neurons[0]")
    expect(page.locator(".frame-title").filter(has_text="sample[0]")).to_have_count(1)
    expect(page.locator("svg#graph .node.group-box").filter(has_text=f"{POINTS - 1} other samples")).to_have_count(1)
    shown = [r for r in drawn(page) if r["kind"] == "box"]
    assert len(shown) <= 12, [b["id"] for b in shown]
    copies = page.locator("svg#graph .node.batch-copy")
    assert copies.count() >= 3, "the sample's cards carry the batch"
    assert page.locator("svg#graph .node.batch-copy .strip .cell").count() >= POINTS
    shapes = drawn(page)
    labels = [r for r in shapes if r["kind"] == "label"]
    assert not overlapping(labels), "edge counts never cross each other"
    assert not [(a["id"], b["id"]) for a in labels for b in shapes if b["kind"] != "label"
                and overlapping([a, b])], "edge counts are never drawn under a box"

    picker = page.get_by_role("spinbutton", name=re.compile(r"^sample of layers\[2\]\.neurons\[0\]"))
    picker.fill("17")
    picker.press("Enter")
    expect(page.locator(".frame-title").filter(has_text="sample[17]")).to_contain_text(f"18 of {POINTS} samples")
    press(page, "End")
    points, labels_ = moons(POINTS, SEED)
    model = new_model(SEED)
    scores = [model(list(map(Value, row))) for row in points.tolist()]
    losses = [(1 + -yi * si).relu() for yi, si in zip(labels_.tolist(), scores, strict=True)]
    loss = sum(losses) * (1.0 / len(losses)) + ALPHA * sum(p * p for p in model.parameters())
    loss.backward()
    said = copies.locator(".node-body").evaluate_all("els => els.map(el => el.getAttribute('aria-label'))")
    shown = [ui.numbers_in(text.split("=", 1)[1]) for text in said if text.startswith("+ =")]
    # micrograd numbers no samples: the reader numbers them in the graph's order, so the score
    # (the neuron's last sum) names the point, and its gradient must be micrograd's .grad.
    value, grad = shown[-1][:2]
    matches = [s for s in scores if ui.close(value, s.data)]
    assert len(matches) == 1, (value, [s.data for s in scores])
    assert ui.close(grad, matches[0].grad), (grad, matches[0].grad)
    page.screenshot(path=artifacts / "levels-batch-sample-17.png")
    assert not errors, errors
