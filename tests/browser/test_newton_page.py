"""Newton's method beside gradient descent in the optimizer panel: both paths on the contour
plot, and the Hessian at the iterate the slider chooses equal to sympy's there."""

from __future__ import annotations

import httpx
import sympy as sp
from playwright.sync_api import Page, expect

from . import ui

X, Y = sp.symbols("x y")
ROSENBROCK = (1 - X)**2 + 100 * (Y - X**2)**2
SOURCE = "(1 - x)**2 + 100*(y - x**2)**2"


def hessian_shown(page: Page) -> list[list[float]]:
    """The Hessian table's numbers, row by row."""
    rows = page.locator("#newton-hessian-table tr").all()[1:]
    return [[ui.number(td.text_content() or "") for td in row.locator("td").all()] for row in rows]


def expect_hessian_at(page: Page, x: float, y: float) -> None:
    exact = sp.hessian(ROSENBROCK, (X, Y)).subs({X: x, Y: y})
    shown = hessian_shown(page)
    for i in range(2):
        for j in range(2):
            assert ui.close(shown[i][j], float(exact[i, j])), (i, j, shown, exact)


def test_newton_runs_beside_gradient_descent_with_its_hessian(page: Page, base_url: str,
                                                              api: httpx.Client) -> None:
    ui.open_app(page, base_url)
    ui.run(page, SOURCE, "x=-1.2, y=1")
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    page.get_by_label("Method", exact=True).select_option("newton")
    page.get_by_label("Learning rate", exact=True).fill("0.001")
    page.get_by_label("Iterations", exact=True).fill("8")
    run = page.get_by_role("button", name="Run Newton and gradient descent", exact=True)
    run.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#optimizer")).to_have_attribute("data-status", "ready")
    expect(page.locator("#contour-plot .newton-path rect")).to_have_count(9)
    expect(page.locator("#contour-plot .descent-path circle")).to_have_count(9)
    expect_hessian_at(page, -1.2, 1.0)
    newton = api.post("/api/v1/optimize", json={"source": SOURCE, "values": {"x": -1.2, "y": 1.0},
                                                 "method": "newton", "steps": 8}).json()
    page.get_by_label("Hessian at iterate", exact=True).focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#newton-iterate-text")).to_contain_text("k = 1")
    at = newton["iterations"][1]["values"]
    expect_hessian_at(page, at["x"], at["y"])
    # Newton ends at the minimum (1, 1), gradient descent far from it.
    assert abs(newton["iterations"][-1]["values"]["x"] - 1) < 1e-6
