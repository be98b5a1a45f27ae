"""The mistake at its own step: a rule of the learner's own that the gradient check finds wrong
is marked where the backward pass applies it (the card, its edge, the step's narration and
formula, the source's underline in words), and a right rule is not."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from . import ui

WRONG = "Your own rule, wrong: sigmoid"
RIGHT = "Your own rule: softplus"
MARK = "✗ your rule"


def example(api: httpx.Client, title: str) -> dict[str, object]:
    """The gallery example titled `title`."""
    return next(e for e in api.get("/api/v1/examples").json() if e["title"] == title)


def open_example(page: Page, base_url: str, title: str) -> None:
    """Open the page and choose the example from the menu (it runs)."""
    ui.open_app(page, base_url)
    page.get_by_label("Examples", exact=True).select_option(label=title)
    page.wait_for_function("() => document.body.dataset.status !== 'loading'")


def step_to_backward_of(page: Page, node_id: str) -> None:
    """Press Next step until the current step is node_id's backward step."""
    for _ in range(60):
        current = ui.current_node(page)
        if (current.count() == 1 and current.get_attribute("data-id") == node_id
                and "backward" in page.locator("#step-panel h3").first
                .inner_text().lower()):
            return
        page.get_by_role("button", name="Next step", exact=True).click()
    raise AssertionError(f"never reached {node_id}'s backward step")


def custom_node(answer: dict[str, object], primitive: str) -> str:
    """The id of the (only) node of the program's own primitive."""
    return next(n["id"] for n in answer["nodes"] if n["op"] == primitive)  # type: ignore[index,union-attr]


def test_the_wrong_rule_is_marked_at_its_own_step(page: Page, base_url: str,
                                                  api: httpx.Client) -> None:
    chosen = example(api, WRONG)
    answer = ui.backprop(api, chosen["source"], chosen["values"])  # type: ignore[arg-type]
    sigmoid = custom_node(answer, "sigmoid")
    open_example(page, base_url, WRONG)
    card = ui.node(page, sigmoid)
    expect(card).to_have_class(re.compile(r"\bwrong-rule\b"))
    expect(card.locator(".node-body")).to_have_attribute("aria-label", re.compile(MARK))
    expect(card.locator(".node-sub")).to_contain_text(MARK)
    # the edge into it that carries the wrong local derivative
    expect(page.locator(f'svg#graph path.edge.wrong-rule[data-target="{sigmoid}"]')).to_have_count(1)
    step_to_backward_of(page, sigmoid)
    for where in (page.locator("#narration"), page.locator("#step-panel")):
        expect(where).to_contain_text("0.5744")
        expect(where).to_contain_text("0.2445")
    expect(page.locator("#narration")).to_contain_text(
        "your rule gives 0.5744 here; finite differences give 0.2445")
    term = page.locator('#step-panel .term[data-wrong-rule="true"]')
    expect(term).to_have_count(1)
    expect(term.locator(".katex")).to_have_count(3)  # the rule, the chain, yours ≠ numeric
    note = page.locator("#source-rules")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Underlined in red, line 1")
    expect(note).to_contain_text("gives 0.5744, finite differences give 0.2445")
    describedby = page.get_by_label("Expression", exact=True).get_attribute("aria-describedby")
    assert describedby is not None and "source-rules" in describedby.split()
    # the underline still there, and its words go as soon as the text is not the one that ran
    assert page.locator("#source-mirror mark.rule-span").count() >= 1
    page.get_by_label("Expression", exact=True).press("End")
    page.get_by_label("Expression", exact=True).type(" ")
    expect(note).to_be_hidden()


def test_a_right_rule_is_not_marked(page: Page, base_url: str, api: httpx.Client) -> None:
    chosen = example(api, RIGHT)
    answer = ui.backprop(api, chosen["source"], chosen["values"])  # type: ignore[arg-type]
    softplus = custom_node(answer, "softplus")
    open_example(page, base_url, RIGHT)
    step_to_backward_of(page, softplus)
    expect(ui.node(page, softplus)).not_to_have_class(re.compile(r"\bwrong-rule\b"))
    expect(page.locator("svg#graph .wrong-rule")).to_have_count(0)
    expect(page.locator("#step-panel [data-wrong-rule]")).to_have_count(0)
    expect(page.locator("#narration")).not_to_contain_text("finite differences")
    expect(page.locator("#source-rules")).to_be_hidden()



# Two statements share the parameter w, which stands in neither's box; c is used only in y and
# gets no gradient (0 * c). Folded, y's ‖∂L/∂θ‖ is over the inputs it uses, w with them: it read
# 0 when it counted only c, while gradient flows through it.
SHARED = "def unit(w, v):\n    return tanh(w * v)\n\nh = unit(w, x)\ny = unit(w, h) + 0 * c"


def test_a_folded_statements_norm_is_defined_and_counts_what_it_uses(
        page: Page, base_url: str, api: httpx.Client) -> None:
    grad_w = ui.backprop(api, SHARED, {"w": 0.7, "x": 1.2, "c": 3.0})["gradients"]["w"]
    ui.open_app(page, base_url)
    ui.run(page, SHARED, "w=0.7, x=1.2, c=3")
    page.locator('svg#graph [aria-label="Fold y"]').press("Enter")
    box = page.locator("svg#graph g.node.group-box")
    expect(box).to_have_count(1)
    page.get_by_role("button", name="Next step", exact=True).click()
    ui.slider(page).press("End")
    body = box.locator(".node-body")
    expect(body).to_have_attribute("aria-label", re.compile(
        r"‖∂L/∂θ‖ \S+, the size of the gradient of L with respect to this group's parameters"))
    label = body.get_attribute("aria-label") or ""
    assert ui.close(ui.number(label.split("‖∂L/∂θ‖ ")[1].split(",")[0]), abs(grad_w)), label
    expect(box.locator(".node-body > title")).to_contain_text("the size of the gradient of L")
    # the step panel, at the box's backward run, writes the definition under the norm
    for _ in range(12):
        if page.locator("#step-panel .norm-definition").count():
            break
        page.get_by_role("button", name="Previous step", exact=True).click()
    expect(page.locator("#step-panel .norm-definition")).to_contain_text(
        "‖∂L/∂θ‖ is the size of the gradient of L with respect to this group's parameters")
    expect(page.locator("#narration")).to_contain_text("‖∂L/∂θ‖ = 0.9055")
