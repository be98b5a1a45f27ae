"""The offline file and the embed view: `chainrule export-html` and the page's Export HTML write
one HTML file that plays from file:// with every network request blocked; /embed#... shows the
player alone, in an iframe as in course notes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from chainrule import backprop
from chainrule.export import offline_html
from playwright.sync_api import Browser, Page, expect

from ..oracles import sympy_gradients
from . import ui
from .conftest import OtherSite

TRUE_GRADIENTS = sympy_gradients(ui.SOURCE, ui.VALUES)  # the oracle


def export_html(out: Path, source: str, *values: str) -> subprocess.CompletedProcess[str]:
    """`chainrule export-html SOURCE VALUES -o OUT`, as a user types it."""
    return subprocess.run([sys.executable, "-m", "chainrule", "export-html", source, *values,
                           "-o", str(out)], capture_output=True, text=True, timeout=120,
                          check=False)


def step_to_the_end_by_next(page: Page, steps: int) -> None:
    """Press Next step once per step, then check that it is the last."""
    for at in range(1, steps):
        page.get_by_role("button", name="Next step", exact=True).click()
        expect(ui.slider(page)).to_have_value(str(at))
    expect(page.get_by_role("button", name="Next step", exact=True)).to_be_disabled()


def katex_fonts_loaded(page: Page) -> list[str]:
    """The KaTeX font faces the page has loaded."""
    fonts: list[str] = page.evaluate("""() => [...document.fonts]
        .filter((f) => f.family.startsWith("KaTeX") && f.status === "loaded")
        .map((f) => f.family)""")
    return fonts


def test_export_html_plays_from_file_with_no_network_to_the_true_gradients(
        built_frontend: Path, browser: Browser, tmp_path: Path, artifacts: Path) -> None:
    out = tmp_path / "steps.html"
    done = export_html(out, ui.SOURCE, "x=1.5", "y=2")
    assert done.returncode == 0, done.stderr
    assert "steps.html" in done.stdout
    html = out.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//|[\w./-]+\.(js|css|woff2?)\b)""", html), \
        "every script, style and font must be inlined"
    answer = backprop(ui.SOURCE, ui.VALUES)
    held = re.search(r'<script type="application/json" id="chainrule-answer">(.*?)</script>', html,
                     re.DOTALL)
    assert held and json.loads(held[1]) == json.loads(answer.compact_json()), \
        "the file holds the compact answer"
    page, blocked, errors = ui.open_offline(browser, out)
    expect(page.locator(".pv-source")).to_have_text(ui.SOURCE)
    expect(ui.nodes(page)).to_have_count(len(answer.nodes))
    forward = [step for step in answer.forward if step.op != "const"]  # a constant is no step
    expect(page.locator("#narration")).to_have_text(forward[0].text)
    step_to_the_end_by_next(page, len(forward) + len(answer.backward))
    expect(page.locator("#phase")).to_have_text("Backward pass")
    expect(page.locator("#narration")).to_have_text(answer.backward[-1].text)
    ui.expect_gradients(page, TRUE_GRADIENTS)
    expect(page.locator("#step-panel .katex").first).to_be_visible()
    assert "KaTeX_Main" in katex_fonts_loaded(page), "KaTeX's fonts come from the file itself"
    page.screenshot(path=artifacts / "offline-end.png")
    page.context.close()
    assert not blocked and not errors, (blocked, errors)


def test_export_html_of_a_mistake_exits_2_with_a_caret_and_writes_nothing(
        tmp_path: Path) -> None:
    out = tmp_path / "steps.html"
    done = export_html(out, "sin(x*) + 1", "x=1")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "^" in done.stderr
    assert not out.exists()


def test_the_pages_export_html_downloads_a_file_that_plays_offline(
        built_frontend: Path, ran: Page, answer: dict[str, Any], browser: Browser,
        tmp_path: Path) -> None:
    with ran.expect_download() as download:
        ran.get_by_role("button", name="Export HTML", exact=True).click()
    expect(ran.locator("#share-status")).to_contain_text("HTML exported")
    path = tmp_path / download.value.suggested_filename
    assert path.suffix == ".html"
    download.value.save_as(path)
    page, blocked, errors = ui.open_offline(browser, path)
    expect(ui.nodes(page)).to_have_count(len(answer["nodes"]))
    page.keyboard.press("End")
    expect(ui.slider(page)).to_have_value(str(len(ui.forward_steps(answer)) + len(answer["backward"]) - 1))
    ui.expect_gradients(page, TRUE_GRADIENTS)
    page.context.close()
    assert not blocked and not errors, (blocked, errors)


LONG_SOURCE = "\n".join(["a0 = x * y", *(f"a{k} = sin(a{k - 1}) + x * {k}" for k in range(1, 30))])


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_an_offline_file_of_a_long_program_opens_on_its_graph_its_source_folded(
        built_frontend: Path, browser: Browser, tmp_path: Path, width: int, height: int) -> None:
    out = tmp_path / "long.html"
    out.write_text(offline_html(backprop(LONG_SOURCE, {"x": 1.5, "y": 2})))
    page, blocked, errors = ui.open_offline(browser, out, width=width, height=height)
    expect(page.locator(".pv-source")).to_have_text(re.compile(r"^30 lines · \d+ nodes · output "))
    assert "\n" not in page.title() and page.title().startswith("chainrule: 30 lines")
    listing = page.locator("details.pv-listing")
    expect(listing.locator("summary")).to_have_text("Source (30 lines)")
    assert listing.evaluate("(d) => d.open") is False, "the source panel starts closed"
    graph = page.locator("#graph").bounding_box()
    assert graph is not None
    shown = min(graph["y"] + graph["height"], height) - max(graph["y"], 0)
    assert shown >= 0.4 * height, f"the first screen shows {shown:.0f} px of the graph"
    first = ui.nodes(page).first.bounding_box()
    assert first is not None and first["y"] + first["height"] <= height, "a card is in view"
    listing.locator("summary").click()
    expect(listing.locator(".pv-listing-text")).to_contain_text("a29 = sin(a28) + x * 29")
    page.context.close()
    assert not blocked and not errors, (blocked, errors)


def embed_url(base_url: str, source: str, values: str, step: int = 0) -> str:
    return f"{base_url}/embed#source={quote(source)}&values={quote(values)}&step={step}"


def test_the_embed_view_shows_the_player_alone_at_the_links_step(
        page: Page, base_url: str, answer: dict[str, Any]) -> None:
    page.goto(embed_url(base_url, ui.SOURCE, ui.VALUES_TEXT, step=3))
    expect(page.locator("#player-root")).to_have_attribute("data-status", "ready")
    expect(ui.nodes(page)).to_have_count(len(answer["nodes"]))
    expect(ui.slider(page)).to_have_value("3")
    expect(page.locator("#narration")).to_have_text(ui.forward_steps(answer)[3]["text"])
    expect(page.get_by_label("Expression")).to_have_count(0)  # no editor: the player alone
    expect(page.get_by_role("button", name="Run")).to_have_count(0)
    link = page.get_by_role("link", name=re.compile("Open in chainrule"))
    href = link.get_attribute("href") or ""
    assert href.startswith("./#source=") and "step=3" in href
    page.keyboard.press("End")
    ui.expect_gradients(page, TRUE_GRADIENTS)


def test_the_embed_view_plays_inside_an_iframe(page: Page, base_url: str, answer: dict[str, Any],
                                              other_site: OtherSite) -> None:
    # Course notes on another site (the app's own pages may frame nothing: default-src 'none').
    page.goto(other_site.serve(f'<iframe title="chainrule" width="900" height="700" '
                               f'src="{embed_url(base_url, ui.SOURCE, ui.VALUES_TEXT)}"></iframe>'))
    frame = page.frame_locator("iframe")
    expect(frame.locator("#player-root")).to_have_attribute("data-status", "ready")
    frame.get_by_role("button", name="Next step", exact=True).click()
    expect(frame.locator("#narration")).to_have_text(ui.forward_steps(answer)[1]["text"])


@pytest.mark.parametrize(("source", "expected"), [
    ("sin(x*) + 1", None),  # the API's message for a syntax error
    ("", "Nothing to play"),
])
def test_the_embed_view_says_what_is_wrong(page: Page, base_url: str, api: Any, source: str,
                                           expected: str | None) -> None:
    page.goto(embed_url(base_url, source, "x=1") if source else f"{base_url}/embed")
    message = page.get_by_role("alert")
    expect(page.locator("#player-root")).to_have_attribute("data-status", "error")
    if expected is None:
        expected = ui.api_error(api, source, {"x": 1})["message"]
    expect(message).to_contain_text(expected)


def test_copy_embed_code_gives_an_iframe_of_the_player_at_the_pages_step(
        browser: Browser, base_url: str, answer: dict[str, Any], other_site: OtherSite) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    page = context.new_page()
    ui.open_app(page, base_url)
    ui.run(page, ui.SOURCE, ui.VALUES_TEXT)
    ui.expect_graph(page, answer)
    ui.step_to(page, 4)
    page.get_by_role("button", name="Copy embed code", exact=True).click()
    expect(page.locator("#share-status")).to_contain_text("Embed code copied")
    code = page.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(r'<iframe src="[^"]+" title="chainrule" [^>]*></iframe>', code), code
    page.goto(other_site.serve(code))  # pasted into notes on another site
    frame = page.frame_locator("iframe")
    expect(frame.locator("#player-root")).to_have_attribute("data-status", "ready")
    expect(frame.get_by_role("slider", name="Step")).to_have_value("4")
    expect(frame.locator(".pv-source")).to_have_text(ui.SOURCE)
    context.close()
