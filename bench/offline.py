"""What the offline file, the embed view and the wheel cost: a measurement, not a test.

- Sizes: the wheel, the offline page and the widget's module (each carries the player, d3,
  elkjs and KaTeX's fonts).
- In Chromium, for the same answer: the offline file from file:// (no server; everything is
  inlined, so the browser parses 2.5 MB before it draws), the embed view and the page, both
  from a local server (the baseline: modules and the answer fetched over loopback). Each time
  runs from navigation until the player is ready; the median of a few loads in one browser.

Writes docs/offline.md.

    .venv/bin/python bench/offline.py
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "offline.md"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SOURCE = "h = tanh(w1*x + b1)\ny = w2*h + b2\nL = (y - 1)**2"
VALUES = {"x": 0.5, "w1": 1.2, "b1": -0.3, "w2": 0.8, "b2": 0.1}
LOADS = 7


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready_ms(page: Page, url: str, selector: str) -> float:
    """Milliseconds from navigating to `url` until `selector` is there."""
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(selector, state="attached", timeout=60_000)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    """Measure and write docs/offline.md."""
    scratch = Path(tempfile.mkdtemp(prefix="chainrule-offline-"))
    start = time.perf_counter()
    built = subprocess.run([sys.executable, str(ROOT / "tools" / "build_wheel.py"), "--out",
                            str(scratch)], capture_output=True, text=True, check=True)
    build_s = time.perf_counter() - start
    wheel = Path(built.stdout.strip().splitlines()[-1])
    values = [f"{k}={v}" for k, v in VALUES.items()]
    offline = scratch / "steps.html"
    subprocess.run([sys.executable, "-m", "chainrule", "export-html", SOURCE, *values, "-o",
                    str(offline)], check=True, capture_output=True)
    sizes = {"wheel": wheel.stat().st_size, "offline file": offline.stat().st_size,
             "widget module": (ROOT / "frontend" / "dist" / "widget.js").stat().st_size}

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "chainrule.server.app:create_app",
                               "--factory", "--port", str(port), "--log-level", "warning"],
                              cwd=ROOT, env={**os.environ})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        hash_ = f"#source={quote(SOURCE)}&values={quote(', '.join(values))}"
        targets = {
            "offline file (file://)": (offline.as_uri(), "#player-root[data-status=ready]"),
            "embed view (server)": (f"{base}/embed{hash_}", "#player-root[data-status=ready]"),
            "page (server, baseline)": (f"{base}/{hash_}", "body[data-status=ready]"),
        }
        times: dict[str, list[float]] = {name: [] for name in targets}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for _ in range(LOADS):  # interleaved, so that a slow moment hits every target
                for name, (url, selector) in targets.items():
                    context = browser.new_context(viewport={"width": 1280, "height": 800})
                    times[name].append(ready_ms(context.new_page(), url, selector))
                    context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait()
    medians = {name: statistics.median(t) for name, t in times.items()}
    baseline = medians["page (server, baseline)"]
    lines = ["# Offline file, embed view and wheel", "",
             "Written by `bench/offline.py` (a measurement, not a test), on this machine, with the",
             (f"two-layer example ({len(VALUES)} inputs). The wheel was built in {build_s:.1f} s "
             "(`tools/build_wheel.py`: esbuild's bundles, then `pip wheel`)."), "",
             "| file | size |", "|---|---|"]
    lines += [f"| {name} | {size / 1e6:.2f} MB |" for name, size in sizes.items()]
    lines += ["", (f"Time from navigation until the player is ready in Chromium, median of {LOADS} "
              "loads each, interleaved:"), "", "| view | ms | against the page |", "|---|---|---|"]
    lines += [f"| {name} | {ms:.0f} | {ms / baseline:.2f}× |" for name, ms in medians.items()]
    lines += ["", (f"The offline file carries everything ({sizes['offline file'] / 1e6:.1f} MB, "
              "of which elkjs is 1.6 MB) and asks for"),
              "nothing; the page and the embed view fetch their modules and the answer from the",
              "server."]
    REPORT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
