"""Browser fixtures: the app served as `make run` serves it, one headless Chromium, a page a test."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from ..servers import free_port, stop, wait_healthy
from . import ui

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 15_000
STARTUP_SECONDS = 30.0

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def base_url() -> Iterator[str]:
    """The app started as `make run` starts it, on a free port of 127.0.0.1."""
    port = free_port()
    uvicorn = Path(sys.executable).with_name("uvicorn")
    process = subprocess.Popen(
        [str(uvicorn), "chainrule.server.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO_ROOT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, STARTUP_SECONDS)
        yield url
    finally:
        stop(process, 10)


@pytest.fixture(scope="session")
def built_frontend() -> Path:
    """frontend/dist/ built from the tree under test (`npm run build`): the offline page and
    the notebook widget's module."""
    subprocess.run(["npm", "run", "--silent", "build"], cwd=REPO_ROOT / "frontend", check=True,
                   stdout=subprocess.DEVNULL)
    return REPO_ROOT / "frontend" / "dist"


@pytest.fixture(scope="session")
def api(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client of the same server, for the answers the UI should show."""
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium (Debian's package) for the whole session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: `make chromium` installs Debian's package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser context (no shared storage) at a desktop size."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A fresh page of a fresh context."""
    return context.new_page()


SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def themed(browser: Browser, request: pytest.FixtureRequest) -> Iterator[BrowserContext]:
    """A context of the (size, colour scheme) in the test's parameters (indirect: `themed`).
    Its CSP is bypassed so that axe's script can be injected inline: the page's own policy
    allows no inline script."""
    size, scheme = request.param
    width, height = SIZES[size]
    ctx = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme,
                              reduced_motion="reduce", bypass_csp=True)
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/artifacts/, where screenshots of key states go (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def answer(api: httpx.Client) -> dict[str, Any]:
    """The API's (reverse-mode) answer for ui.SOURCE and ui.VALUES."""
    return ui.backprop(api, ui.SOURCE, ui.VALUES)


@pytest.fixture
def ran(page: Page, base_url: str, answer: dict[str, Any]) -> Page:
    """The page after running ui.SOURCE with ui.VALUES."""
    ui.open_app(page, base_url)
    ui.run(page, ui.SOURCE, ui.VALUES_TEXT)
    ui.expect_graph(page, answer)
    return page


class OtherSite:
    """A site of another origin (another port of 127.0.0.1, so that Chromium lets its pages
    reach the app on loopback: a page on a public address may not), serving the pages a test
    gives it, such as course notes with an iframe of /embed."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, html: str) -> str:
        """The URL of a new page of this site holding `html`."""
        path = f"/page-{len(self.pages)}.html"
        self.pages[path] = html.encode()
        return self.url + path


@pytest.fixture(scope="session")
def other_site() -> Iterator[OtherSite]:
    """A server of static pages on another origin than the app's."""
    site = OtherSite()
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()
