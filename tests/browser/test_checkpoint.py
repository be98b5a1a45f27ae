"""The memory of reverse mode in the page (issue 31, item 2): the gallery's 12-node chain replayed
under √N checkpointing, step by step, the recomputed segments shown before their backward steps,
every strategy in a table and a plot, chosen and stepped with the keyboard alone.

The oracle: Chen et al.'s (2016) √N schedule for a chain, written here in plain Python: a
checkpoint every k = ⌈√F⌉ positions, the forward pass keeping only them (and the last segment,
whose backward steps come next); then, from the last segment to the first, each segment run
again from its checkpoint before its backward steps.
"""

from __future__ import annotations

import math
import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from . import ui
from .test_a11y import FAILING, report, run_axe

EXAMPLE = "The memory of reverse mode"
F = 12
SOURCE = "\n".join(f"x{i} = sin(x{i - 1})" for i in range(1, F + 1))
STRATEGIES = ["all", "none", "every_k", "sqrt", "revolve"]


def chen_sqrt(length: int) -> list[tuple[str, str]]:
    """The √N schedule of an N-chain x1..xN as (kind, node) steps."""
    k = math.ceil(math.sqrt(length))
    starts = list(range(0, length, k))  # checkpoints: x0 (the input), x_k, x_2k, ...
    steps = [("forward", f"x{p}") for p in range(1, length + 1)]
    for a in reversed(starts):
        b = min(a + k, length)
        if b != length:  # the last segment is still held from the forward pass
            steps += [("recompute", f"x{p}") for p in range(a + 1, b + 1)]
        steps += [("backward", f"x{p}") for p in range(b, a, -1)]
    return steps


def open_example(page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    page.get_by_label("Examples", exact=True).select_option(label=EXAMPLE)
    expect(page.get_by_label("Expression", exact=True)).to_have_value(SOURCE)
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    expect(ui.nodes(page)).to_have_count(F + 1)


def switch_on_by_keyboard(page: Page) -> None:
    """The checkbox and the strategy radios by keys alone: on, revolve, then back to √N."""
    page.get_by_label("Replay under a checkpointing strategy").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # the k field (beside "every k-th"), then the group's stop: √N
    expect(page.get_by_label("k", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name="√N segments")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("radio", name="revolve with c slots")).to_be_checked()
    expect(page.locator(".checkpoint-table tr[aria-current='true']")).to_have_attribute(
        "data-strategy", "revolve")
    page.keyboard.press("ArrowUp")
    expect(page.get_by_role("radio", name="√N segments")).to_be_checked()
    expect(page.locator(".checkpoint-table tr[aria-current='true']")).to_have_attribute(
        "data-strategy", "sqrt")


def shown_steps(page: Page) -> list[tuple[str, str]]:
    buttons = page.locator("button.checkpoint-step")
    return [(b["kind"], b["node"]) for b in buttons.evaluate_all(
        "(bs) => bs.map((b) => ({kind: b.dataset.kind, node: b.dataset.node}))")]


def test_the_sqrt_replay_of_a_12_chain_recomputes_each_segment_before_its_backward_steps(
        page: Page, base_url: str, api: httpx.Client) -> None:
    open_example(page, base_url)
    switch_on_by_keyboard(page)

    steps = shown_steps(page)
    assert steps == chen_sqrt(F)
    # The order, read off the page alone: every recomputed value is recomputed after the
    # forward pass and before its own backward step, with no backward step of it in between.
    kinds = [kind for kind, _ in steps]
    assert "recompute" in kinds
    for i, (kind, name) in enumerate(steps):
        if kind == "recompute":
            later = [j for j, s in enumerate(steps) if s == ("backward", name)]
            assert later and later[0] > i, f"{name} recomputed after its backward step"

    # The runs are grouped and named, each recomputed run before its backward steps.
    groups = page.locator(".checkpoint-group")
    titles = groups.locator(".checkpoint-group-title").all_inner_texts()
    assert titles == [
        "→ Forward x1..x12 (12 steps)", "← Backward x12..x9 (4 steps)",
        "↻ Recompute x5..x8 before their backward steps (4 steps)", "← Backward x8..x5 (4 steps)",
        "↻ Recompute x1..x4 before their backward steps (4 steps)", "← Backward x4..x1 (4 steps)"]

    # The table: one row per strategy; √N's extra forward steps are the oracle's count and
    # the API's summary row.
    body: dict[str, Any] = api.post("/api/v1/memory", json={
        "source": SOURCE, "values": {"x0": 0.5}, "strategy": "sqrt"}).json()
    rows = page.locator(".checkpoint-table tbody tr")
    expect(rows).to_have_count(len(STRATEGIES))
    assert [r.get_attribute("data-strategy") for r in rows.all()] == STRATEGIES
    extra = kinds.count("recompute")
    row = next(r for r in body["summary"] if r["strategy"] == "sqrt")
    assert extra == row["recompute"] == F - math.ceil(math.sqrt(F))
    sqrt_row = page.locator(".checkpoint-table tr[data-strategy='sqrt']")
    expect(sqrt_row.locator("td").first).to_have_text(str(extra))
    expect(sqrt_row.locator("th")).to_contain_text("◀ shown")
    expect(page.locator(".checkpoint-table tr[data-strategy='all'] td").first).to_have_text("0")

    # The plot: one labelled point per strategy, its axes named.
    points = page.locator("svg.checkpoint-plot .checkpoint-point")
    expect(points).to_have_count(len(STRATEGIES))
    assert sorted(p.get_attribute("data-strategy") or "" for p in points.all()) == sorted(STRATEGIES)
    expect(page.locator("svg.checkpoint-plot .checkpoint-point.shown text")).to_contain_text("√N")
    expect(page.locator("svg.checkpoint-plot .axis-label")).to_have_text(
        ["extra forward steps (recomputed)", "peak memory (bytes held)"])

    # A step, chosen with the keyboard, selects its node on the graph.
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('checkpoint-step')"):
            break
    first = page.locator("button.checkpoint-step").first
    expect(first).to_be_focused()
    for _ in range(F + 4):  # down to the first recomputed step, x5
        page.keyboard.press("ArrowDown")
    chosen = page.locator("button.checkpoint-step").nth(F + 4)
    expect(chosen).to_be_focused()
    expect(chosen).to_contain_text("recompute x5")
    page.keyboard.press("Enter")
    expect(chosen).to_have_attribute("aria-pressed", "true")
    expect(ui.node(page, "n5")).to_have_class(re.compile(r"\bselected\b"))


def test_the_strategy_travels_in_the_link(page: Page, base_url: str) -> None:
    open_example(page, base_url)
    page.get_by_label("Replay under a checkpointing strategy").check()
    page.get_by_role("radio", name="revolve with c slots").check()
    page.get_by_label("c", exact=True).fill("1")
    page.get_by_label("c", exact=True).press("Enter")
    expect(page).to_have_url(re.compile(r"checkpoint=revolve&slots=1"))
    link = page.url
    page.goto("about:blank")
    ui.open_app(page, link)
    expect(page.get_by_role("radio", name="revolve with c slots")).to_be_checked()
    expect(page.get_by_label("c", exact=True)).to_have_value("1")
    expect(page.locator(".checkpoint-table tr[aria-current='true'] th")).to_contain_text(
        "revolve (c = 1)")
    assert page.locator("button.checkpoint-step[data-kind='recompute']").count() > 0


@pytest.mark.parametrize("themed", [("desktop", "light"), ("desktop", "dark")], indirect=True)
def test_axe_finds_no_serious_violation_with_the_checkpoint_panel_open(
        themed: BrowserContext, base_url: str) -> None:
    page = themed.new_page()
    open_example(page, base_url)
    page.get_by_label("Replay under a checkpointing strategy").check()
    expect(page.locator("svg.checkpoint-plot .checkpoint-point")).to_have_count(len(STRATEGIES))
    failing = [v for v in run_axe(page) if v["impact"] in FAILING]
    assert not failing, "axe-core:\n" + report(failing)
