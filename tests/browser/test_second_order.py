"""Second order in the page: the backward pass of grad(grad(L, x), x), built as nodes, stepped
through with each card's gradient equal to sympy's partial; the Second order panel's Hessian
and its Hessian-vector products both ways equal to sympy's; keyboard-operable and axe clean."""

from __future__ import annotations

from typing import Any

import httpx
import sympy as sp
from playwright.sync_api import Browser, Page, expect

from . import ui
from .conftest import TIMEOUT_MS
from .test_a11y import report, run_axe

L_TEXT = "sin(x * y) + x**2"
PROGRAM = f"L = {L_TEXT}\ng = grad(L, x)\nh = grad(g, x)"
VALUES = {"x": 0.7, "y": 1.3}
X, Y = sp.symbols("x y")
L = sp.sin(X * Y) + X**2
AT = {X: VALUES["x"], Y: VALUES["y"]}

# The ops of this program's graph, as sympy writes them.
SYMPY_OPS = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "pow": lambda a, b: a**b, "sin": sp.sin, "cos": sp.cos, "neg": lambda a: -a,
}


def partials(answer: dict[str, Any]) -> dict[str, float]:
    """d output / d node for every node of the answer's graph, by sympy: the node's value
    replaced by a symbol t (its own inputs held), the output rebuilt and differentiated in t."""
    nodes = {n["id"]: n for n in answer["nodes"]}
    out = answer["nodes"][-1]["id"]
    t = sp.Symbol("t")
    result = {}
    for k in nodes:
        built: dict[str, sp.Expr] = {}
        for n in answer["nodes"]:
            if n["id"] == k:
                built[n["id"]] = t
            elif n["op"] == "input":
                built[n["id"]] = sp.Symbol(n["name"])
            elif n["op"] == "const":
                built[n["id"]] = sp.nsimplify(n["value"])
            else:
                built[n["id"]] = SYMPY_OPS[n["op"]](*(built[i] for i in n["inputs"]))
        value = sp.sympify(nodes[k]["value"]) if nodes[k]["op"] != "input" else AT[sp.Symbol(nodes[k]["name"])]
        result[k] = float(sp.diff(built[out], t).subs(AT).subs(t, value))
    return result


def press(page: Page, name: str) -> None:
    """Press a button from the keyboard: focus it, then Enter."""
    page.get_by_role("button", name=name, exact=True).focus()
    page.keyboard.press("Enter")


def test_the_second_backward_pass_steps_with_sympys_partials(page: Page, base_url: str,
                                                               api: httpx.Client) -> None:
    answer = ui.backprop(api, PROGRAM, VALUES)
    exact = partials(answer)
    # The output h = d²L/dx², so its gradients are third derivatives.
    assert abs(exact["n0"] - float(sp.diff(L, X, 3).subs(AT))) < 1e-12
    assert abs(exact["n1"] - float(sp.diff(L, X, X, Y).subs(AT))) < 1e-12
    ui.open_app(page, base_url)
    ui.run(page, PROGRAM, "x=0.7, y=1.3")
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    ui.expect_graph(page, answer)
    # The backward graph's cards say what they stand for.
    expect(ui.node(page, "n7")).to_contain_text("seed dL/dL")
    expect(ui.node(page, "n16")).to_contain_text("dL/dx")
    expect(ui.node(page, "n17")).to_contain_text("seed dg/dg")
    assert page.locator("svg#graph g.node.stands-for").count() > 10
    checked: set[str] = set()
    bar = ui.slider(page)
    last = int(bar.get_attribute("max") or "0")
    page.get_by_role("button", name="Next step", exact=True).focus()
    for at in range(int(bar.input_value()) + 1, last + 1):
        page.keyboard.press("Enter")
        expect(bar).to_have_value(str(at))
        if page.locator("#phase").get_attribute("data-phase") != "backward":
            continue
        card = ui.current_node(page)
        node_id = card.get_attribute("data-id") or ""
        shown = ui.shown_number(card.locator(".node-grad").text_content())
        assert ui.close(shown, exact[node_id]), (node_id, shown, exact[node_id])
        checked.add(node_id)
    # Every node of the second backward graph visited, the inputs last: third derivatives.
    assert {"n0", "n1", "n21", "n22", "n29", "n30", "n31"} <= checked, checked
    ui.expect_gradients(page, {"x": exact["n0"], "y": exact["n1"]})


def test_the_hessian_panel_equals_sympys_hessian_and_is_axe_clean(browser: Browser,
                                                                    base_url: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    ui.open_app(page, base_url)
    ui.run(page, L_TEXT, "x=0.7, y=1.3")
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    page.get_by_label("v", exact=True).fill("1, 2")
    press(page, "Hessian")
    panel = page.locator("#hessian")
    expect(panel).to_have_attribute("data-status", "ready")
    next_column = page.get_by_role("button", name="Next column", exact=True)
    # Column by column: one HVP each; Next column fills the next from the keyboard.
    if next_column.is_enabled():
        next_column.focus()
        while next_column.is_enabled():
            page.keyboard.press("Enter")
    expect(page.locator("#hessian-figure")).to_have_attribute("data-done", "true")
    hessian = sp.hessian(L, (X, Y)).subs(AT)
    for i in range(2):
        for j in range(2):
            cell = page.locator(f'#hessian-table td[data-row="{i}"][data-col="{j}"]')
            assert ui.close(ui.number(cell.text_content() or ""), float(hessian[i, j]), 1e-5), (i, j)
    hv = hessian * sp.Matrix([1, 2])
    for way in ("forward-over-reverse", "reverse-over-reverse"):
        shown = ui.numbers_in(panel.locator(f".hessian-way.{way} .hessian-hv").text_content() or "")
        assert len(shown) == 2 and all(ui.close(shown[k], float(hv[k])) for k in range(2)), (way, shown)
    # A cell's number on focus, and the arrow keys move between cells.
    page.locator("#hessian-figure g.cell").first.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#hessian-readout")).to_contain_text("∂x∂y")
    value = ui.numbers_in(page.locator("#hessian-readout").text_content() or "")[-1]
    assert ui.close(value, float(hessian[0, 1]), 1e-5)
    violations = run_axe(page)
    assert not violations, report(violations)
    context.close()


def test_the_hvp_example_fills_the_panel_by_itself(page: Page, base_url: str) -> None:
    ui.open_app(page, base_url)
    page.get_by_label("Examples", exact=True).select_option(label="Hessian-vector product, two ways")
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    expect(page.get_by_label("v", exact=True)).to_have_value("1, 2")
    expect(page.locator("#hessian-figure")).to_have_attribute("data-done", "true")
    expect(page.locator("#hessian-table td")).to_have_count(4)
    expect(page.locator(".hessian-way")).to_have_count(2)
