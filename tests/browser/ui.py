"""What the browser tests do with the page, named after the user's actions, and the API's answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Locator, Page, Route, expect

# The expression most tests start from, as typed into the page and as sent to the API.
SOURCE = "sin(x*y) + x**2"
VALUES_TEXT = "x=1.5, y=2"
VALUES = {"x": 1.5, "y": 2.0}

NUMBER = re.compile(r"[-−]?(?:\d+\.?\d*|\.\d+)(?:e[-−+]?\d+)?")


def backprop(api: httpx.Client, source: str, values: dict[str, Any]) -> dict[str, Any]:
    """The API's answer to the request the UI makes for this source and these values."""
    response = api.post("/api/v1/backprop", json={"source": source, "values": values})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def forward_steps(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The forward steps the player shows: the API's, without the constants (a constant is not
    a step: its value is on its card from the start)."""
    constants = {n["id"] for n in answer["nodes"] if n["op"] == "const"}
    return [step for step in answer["forward"] if step["node"] not in constants]


def api_error(api: httpx.Client, source: str, values: dict[str, Any]) -> dict[str, Any]:
    """The API's error for a bad source."""
    response = api.post("/api/v1/backprop", json={"source": source, "values": values})
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def open_app(page: Page, url: str) -> None:
    """Open the UI at `url` and wait until it has started: the examples are in their menu and
    the run the page makes by itself (the first example, or the link's source) is over."""
    response = page.goto(url)
    assert response is not None and response.ok, f"GET {url}: {response and response.status}"
    # Typing while the page's own first run is on its way raced it: twice in clean-clone CI
    # runs the graph drawn stayed the first example's after the test's Run.
    page.wait_for_function("() => document.querySelectorAll('#examples option').length > 1"
                           " && document.body.dataset.status !== 'loading'")
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_enabled()


# Longer sources are pasted: one input event, as a paste is (Playwright's fill of a
# 2,000-line program takes it 10 s or more on a loaded machine; the page's own input handler
# takes 2 ms).
PASTE_ABOVE = 4_000


def run(page: Page, source: str, values: str) -> None:
    """Type (or, when long, paste) a source and values, then press Run."""
    editor = page.get_by_label("Expression", exact=True)
    if len(source) > PASTE_ABOVE:
        editor.evaluate("(el, text) => { el.value = text; "
                        "el.dispatchEvent(new Event('input', {bubbles: true})); }", source)
    else:
        editor.fill(source)
    page.get_by_label("Values", exact=True).fill(values)
    page.get_by_role("button", name="Run", exact=True).click()


def nodes(page: Page) -> Locator:
    """The node cards of the graph."""
    return page.locator("svg#graph g.node")


def node(page: Page, node_id: str) -> Locator:
    """The card of one node."""
    return page.locator(f'svg#graph g.node[data-id="{node_id}"]')


def expect_graph(page: Page, answer: dict[str, Any]) -> None:
    """The graph drawn is the answer's: one card per node, one edge per edge. When it is not,
    the failure says what the page showed instead (its status, its error, its source)."""
    try:
        expect(nodes(page)).to_have_count(len(answer["nodes"]))
    except AssertionError as err:
        shown = page.evaluate("""() => ({status: document.body.dataset.status,
            error: document.getElementById('error').textContent,
            source: document.getElementById('source').value.slice(0, 80)})""")
        raise AssertionError(f"{err}\nthe page showed: {shown}") from None
    expect(page.locator("svg#graph .edge")).to_have_count(len(answer["edges"]))


def slider(page: Page) -> Locator:
    """The step slider."""
    return page.get_by_role("slider", name="Step", exact=True)


def current_node(page: Page) -> Locator:
    """The card marked as the current step's node (there must be exactly one)."""
    return page.locator("svg#graph g.node.current")


def step_to(page: Page, index: int) -> None:
    """Press "Next step" or "Previous step" until the slider shows `index`."""
    bar = slider(page)
    at = int(bar.input_value())
    while at != index:
        name = "Next step" if at < index else "Previous step"
        page.get_by_role("button", name=name, exact=True).click()
        at += 1 if at < index else -1
        expect(bar).to_have_value(str(at))


def number(text: str) -> float:
    """A number as the UI formats it (4 significant digits, a typographic minus, ∞)."""
    clean = text.strip().replace("−", "-").replace("∞", "inf")
    return float(clean)


def shown_number(text: str | None) -> float:
    """The one number a card or a cell shows, whatever words surround it."""
    found = numbers_in(text or "")
    assert len(found) == 1, f"expected one number in {text!r}"
    return found[0]


def numbers_in(text: str) -> list[float]:
    """Every number written in a text."""
    return [number(match) for match in NUMBER.findall(text)]


def close(shown: float, exact: float, rel: float = 1e-3) -> bool:
    """Whether a number shown with 4 significant digits stands for `exact`."""
    return abs(shown - exact) <= rel * max(abs(exact), 1e-12)


def block_all_but(prefix: str, page: Page) -> list[str]:
    """Abort every request of `page` whose URL does not start with `prefix` ("file://" for an
    offline file, a server's origin); returns the aborted URLs, filled as the page runs."""
    blocked: list[str] = []

    def route(r: Route) -> None:
        if r.request.url.startswith(prefix):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return blocked


def gradient_shown(page: Page, name: str) -> float:
    """The gradient the Gradients table shows for input `name`."""
    return shown_number(page.locator(f'#gradients tr[data-input="{name}"] td.grad').text_content())


def open_offline(browser: Browser, path: Path, *, width: int = 1280, height: int = 900
                 ) -> tuple[Page, list[str], list[str]]:
    """An offline file opened from file:// with every other request aborted; returns the page,
    the aborted requests and the page's errors (both filled as it runs)."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    blocked = block_all_but("file://", page)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    expect(page.locator("#player-root")).to_have_attribute("data-status", "ready")
    return page, blocked, errors


def expect_gradients(page: Page, exact: dict[str, float]) -> None:
    """The Gradients table is complete and shows `exact` (by input name)."""
    expect(page.locator("#gradients")).to_have_class(re.compile(r"\bcomplete\b"))
    for name, value in exact.items():
        assert close(gradient_shown(page, name), value), name
