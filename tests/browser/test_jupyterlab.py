"""The notebook widget in a real JupyterLab (pinned in backend/requirements-dev.txt, so `make
test` installs it), served on loopback with no network: Run All Cells on a notebook that makes a
small widget and sets its step in the next cell, then runs docs/moons.ipynb (the moons demo at 2
points, `w = show(from_micrograd(loss, model))`) and sets its step, and writes the kernel's
steps to a file. A step set while the player is still being built is the one shown, and the
kernel keeps it."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from ..servers import free_port, stop
from .conftest import REPO_ROOT

JUPYTER_LAB = Path(sys.executable).with_name("jupyter-lab")
NOTEBOOK = REPO_ROOT / "docs" / "moons.ipynb"
POINTS = 2  # the demo's moons: 2,314 nodes, as the notebook reads MOONS_POINTS
STARTUP_SECONDS = 90.0
LAB_TIMEOUT_MS = 60_000  # the lab's page, its kernel and the demo on a busy machine


@dataclass
class Lab:
    """A JupyterLab server: its URL, token, and the folder it serves."""

    url: str
    token: str
    root: Path


def lab_settings(config: Path) -> None:
    """A user's settings for a lab that asks the network for nothing: no news, no build
    check (the build is the wheel's own)."""
    apputils = config / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    apputils.mkdir(parents=True)
    (apputils / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    (config / "labconfig").mkdir()
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps({"buildCheck": False, "buildAvailable": False}))


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """`jupyter lab` on a free port of 127.0.0.1, its configuration and data in a fresh folder
    (none of the user's), its kernels making the moons demo at POINTS points."""
    if not JUPYTER_LAB.exists():
        pytest.fail(f"no JupyterLab at {JUPYTER_LAB}: `make test` installs it "
                    "(backend/requirements-dev.txt)")
    root = tmp_path_factory.mktemp("lab")
    home = root / ".home"
    lab_settings(home / "config")
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_DATA_DIR": str(home / "data"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "IPYTHONDIR": str(home / "ipython"), "MOONS_POINTS": str(POINTS)}
    port, token = free_port(), secrets.token_hex(16)
    log = (home / "lab.log").open("w")
    process = subprocess.Popen(
        [str(JUPYTER_LAB), "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--notebook-dir={root}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.extension_manager=readonly"],
        cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(f"{url}/api/status?token={token}"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start:\n{(home / 'lab.log').read_text()}")
            time.sleep(0.2)  # polling the server's start-up, not the page
        yield Lab(url, token, root)
    finally:
        stop(process, 20)
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.TransportError:
        return False


def code_cell(source: str) -> dict[str, object]:
    return {"cell_type": "code", "id": secrets.token_hex(4), "metadata": {}, "source": source,
            "outputs": [], "execution_count": None}


def open_lab(browser: Browser, lab: Lab, notebook: str) -> tuple[Page, list[str]]:
    """The notebook opened in the lab, its kernel idle; every request to another origin is
    aborted and listed."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    blocked: list[str] = []

    def route(r: Route) -> None:
        if r.request.url.startswith((f"{lab.url}/", "data:", "blob:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(f"{lab.url}/lab/tree/{notebook}?token={lab.token}")
    expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=LAB_TIMEOUT_MS)
    return page, blocked


def written(path: Path, page: Page) -> str:
    """The text of `path` once a cell has written it."""
    deadline = time.monotonic() + LAB_TIMEOUT_MS / 1000
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"no cell wrote {path.name}"
        page.wait_for_timeout(100)
    return path.read_text()


SMALL = 'v = show("sin(x*y) + x**2", x=1.5, y=2)\nv'  # 12 steps, drawn in a moment


def test_run_all_keeps_a_step_set_right_after_show(
        built_frontend: Path, browser: Browser, jupyterlab: Lab, artifacts: Path) -> None:
    # A small widget whose `v.step = 5` arrives while its player is being built (as in the
    # issue: lost 3 times of 3 before), then the moons demo (docs/moons.ipynb) and its `w.step`.
    out = jupyterlab.root / "steps.txt"
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    notebook["cells"] = [code_cell(f"from chainrule import show\n{SMALL}"), code_cell("v.step = 5"),
                         *notebook["cells"], code_cell("w.step = 5"),
                         code_cell(f"open({str(out)!r}, 'w').write(f'{{v.step}} {{w.step}}')")]
    (jupyterlab.root / "moons.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    page, blocked = open_lab(browser, jupyterlab, "moons.ipynb")

    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    players = page.locator(".player-view")  # inside the widgets' shadow roots
    expect(players).to_have_count(2, timeout=LAB_TIMEOUT_MS)
    for player in players.all():
        expect(player).to_have_attribute("data-status", "ready", timeout=LAB_TIMEOUT_MS)
        # The small one counts steps; the moons demo, shown by levels, says its stop in words.
        expect(player.locator("#step-count")).to_have_text(
            re.compile(r"^6 / \d+$|stop \d+ of \d+ · node steps? [\d,–]+ of [\d,]+$"))
        expect(player.get_by_role("slider", name="Step", exact=True)).to_have_value("5")
    assert written(out, page) == "5 5"

    # The kernel's steps once the players are drawn (a player that wrote its own step 0 back
    # would have done so by now): the last cell once more.
    out.unlink()
    page.locator(".jp-Notebook .jp-Cell").last.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    assert written(out, page) == "5 5"
    expect(players.first.locator("#step-count")).to_have_text("6 / 12")
    page.screenshot(path=artifacts / "jupyterlab-run-all.png")
    page.context.close()
    assert not blocked, blocked
