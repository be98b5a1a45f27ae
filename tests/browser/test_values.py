"""Values and literals never disagree silently: the source is the truth for the literals it
assigns, and a value in Values overrides one only when it was typed there for this source."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from . import ui

PROGRAM = "x = 1.5\ny = -2.0\nz = 0.5\nf = (x*y + sin(x)) * exp(z*x)"


def f(x: float, y: float, z: float) -> float:
    """The program's output, computed here."""
    return (x * y + math.sin(x)) * math.exp(z * x)


def output_shown(page: Page) -> float:
    """The output card's value, at the end of the forward pass."""
    page.keyboard.press("End")
    return ui.shown_number(page.locator("svg#graph g.node.output .node-value").text_content())


def forward_step_of(page: Page, answer: dict[str, Any], name: str) -> None:
    """Stand at the forward step that evaluates the input `name`."""
    node = next(n["id"] for n in answer["nodes"] if n["name"] == name)
    ui.step_to(page, next(s["index"] for s in answer["forward"] if s["node"] == node))


def test_an_examples_leftover_value_does_not_override_a_typed_literal(
        page: Page, base_url: str, api: httpx.Client, artifacts: Path) -> None:
    first = api.get("/api/v1/examples").json()[0]
    assert first["values"].get("y") == 2.0, "the scenario needs an example that leaves y = 2"
    ui.open_app(page, base_url)
    values = page.get_by_label("Values", exact=True)
    expect(values).to_have_value("x=1.5, y=2")  # the first example, chosen on start

    page.get_by_label("Expression", exact=True).fill(PROGRAM)  # typed over the example
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    assert ui.close(output_shown(page), f(1.5, -2.0, 0.5))
    expect(values).to_have_value("")  # nothing stale stays in force
    note = page.locator("#values-note")
    expect(note).to_contain_text("y=2 left Values")
    expect(note).to_contain_text("line 2")
    expect(page.locator("svg#graph g.node.overridden")).to_have_count(0)
    page.screenshot(path=artifacts / "values-literal-stands.png")

    # Now y = 2 typed in Values for this source: it overrides the literal, and says so.
    values.fill("y=2")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(note).to_be_empty()
    answer = ui.backprop(api, PROGRAM, {"y": 2.0})
    y = next(n for n in answer["nodes"] if n["name"] == "y")
    assert y["literal"]["overridden"] and y["literal"]["text"] == "-2.0"
    card = ui.node(page, y["id"])
    expect(card).to_have_class(re.compile(r"\boverridden\b"))
    expect(card.locator(".node-sub")).to_have_text("overrides -2.0")
    assert ui.close(output_shown(page), f(1.5, 2.0, 0.5))
    forward_step_of(page, answer, "y")
    expect(page.locator("#narration")).to_have_text(
        "Input y = 2, overriding the literal -2.0 of line 2.")
    expect(page.locator("#step-panel")).to_contain_text("overriding the literal -2.0 of line 2")
    page.screenshot(path=artifacts / "values-override-marked.png")

    # Editing the source makes the typed value stale: the literal stands again.
    page.get_by_label("Expression", exact=True).fill(PROGRAM.replace("z = 0.5", "z = 0.25"))
    page.get_by_role("button", name="Run", exact=True).click()
    expect(note).to_contain_text("y=2 left Values")
    expect(values).to_have_value("")
    expect(page.locator("svg#graph g.node.overridden")).to_have_count(0)
    assert ui.close(output_shown(page), f(1.5, -2.0, 0.25))


def test_switching_examples_leaves_no_stale_value_in_force(
        page: Page, base_url: str, api: httpx.Client) -> None:
    examples = api.get("/api/v1/examples").json()
    with_literals = next(i for i, e in enumerate(examples) if not e["values"])
    ui.open_app(page, base_url)
    expect(page.get_by_label("Values", exact=True)).to_have_value("x=1.5, y=2")
    page.get_by_label("Examples", exact=True).select_option(value=str(with_literals))
    expect(page.get_by_label("Values", exact=True)).to_have_value("")
    example = examples[with_literals]
    answer = ui.backprop(api, example["source"], {})
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    ui.expect_graph(page, answer)
    assert ui.close(output_shown(page), answer["output"]["value"])
    assert all(not (n["literal"] or {}).get("overridden") for n in answer["nodes"])
    expect(page.locator("svg#graph g.node.overridden")).to_have_count(0)
