"""The page, the embed view and /docs under the server's Content-Security-Policy in Chromium:
they run with no violation and no console error, and only /embed can be framed by another site."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

from . import ui
from .conftest import OtherSite

# Every violation, from the page's own event, as a console error that names the directive.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => console.error(
  `CSP violation: ${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`));
"""


class Problems:
    """What went wrong on a page: console errors (CSP violations among them), uncaught
    exceptions, and answers of 400 or more."""

    def __init__(self, page: Page) -> None:
        self.found: list[str] = []
        page.add_init_script(REPORT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.found.append(f"uncaught: {exc}"))
        page.on("response", lambda r: self.found.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)
        page.on("requestfailed", lambda r: self.found.append(f"failed: {r.url}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.found.append(f"console: {message.text}")


def _download(page: Page, button: str) -> Path:
    with page.expect_download() as download:
        page.get_by_role("button", name=button, exact=True).click()
    return Path(download.value.path())


def test_the_page_embed_and_docs_run_under_the_policy_with_no_violation(
        page: Page, base_url: str) -> None:
    problems = Problems(page)
    ui.open_app(page, base_url)  # the default example runs on its own
    expect(ui.nodes(page).first).to_be_visible()
    page.keyboard.press("End")  # the backward pass: KaTeX's formulas and fonts
    expect(page.locator("#gradients")).to_have_class(re.compile(r"\bcomplete\b"))
    expect(page.locator("#step-panel .katex").first).to_be_visible()
    svg = _download(page, "Export SVG").read_text()
    assert re.search(r'<g [^>]*class="node[^>]*style="[^"]*fill:', svg), "styles written out"
    assert _download(page, "Export PNG").read_bytes().startswith(b"\x89PNG")
    assert "chainrule-answer" in _download(page, "Export HTML").read_text()

    page.goto(f"{base_url}/embed#source={quote(ui.SOURCE)}&values={quote(ui.VALUES_TEXT)}&step=3")
    expect(page.locator("#player-root")).to_have_attribute("data-status", "ready")
    page.keyboard.press("End")
    expect(page.locator("#player-root .katex").first).to_be_visible()

    page.goto(f"{base_url}/docs")
    page.get_by_text("/api/v1/backprop", exact=True).first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first).to_have_text("200")
    assert problems.found == []


def test_only_the_embed_view_can_be_framed_by_another_site(
        page: Page, base_url: str, other_site: OtherSite) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(other_site.serve(
        f'<!doctype html><title>notes</title>'
        f'<iframe id="embed" src="{base_url}/embed#source=sin(x)&amp;values=x=1"></iframe>'
        f'<iframe id="page" src="{base_url}/"></iframe>'))
    expect(page.frame_locator("#embed").locator("#player-root")).to_have_attribute(
        "data-status", "ready")
    framed = page.locator("#page").element_handle().content_frame()
    assert framed is not None and framed.url.startswith("chrome-error://")
    assert any("frame-ancestors 'none'" in text for text in console), console


def test_the_embed_view_plays_in_notes_opened_from_a_file(
        context: BrowserContext, base_url: str, tmp_path: Path) -> None:
    """frame-ancestors * would refuse a file:// parent: /embed sends no frame-ancestors."""
    notes = tmp_path / "notes.html"
    notes.write_text(f'<iframe id="embed" src="{base_url}/embed#source=sin(x)&amp;values=x=1">'
                     "</iframe>")
    page = context.new_page()
    page.goto(notes.as_uri())
    expect(page.frame_locator("#embed").locator("#player-root")).to_have_attribute(
        "data-status", "ready")

