"""How fast the UI draws big graphs, in headless Chromium: not a test, a measurement.

For graphs of about 1,000, 5,000 and 20,000 nodes (a chain `a{i} = sin(a{i-1}) * x`, one
statement a line), typed into the editor and run through the UI: the time from the end of the
API's answer to the first frame after the graph is drawn (the API's own time apart); then the
longest task (PerformanceObserver "longtask", over 50 ms) while stepping with the arrow keys
and jumping (End, Home, the slider to the middle), and the longest frame (requestAnimationFrame
delta) while the player plays at its fastest speed. Prints a table and appends it to
docs/browser-benchmarks.md.

    .venv/bin/python bench/browser.py [--sizes 1000 5000 20000] [--play-seconds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORT = REPO_ROOT / "docs" / "browser-benchmarks.md"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DRAW_TIMEOUT_MS = 180_000

# Resolves at the first frame after the page says it is ready (the graph drawn), with that
# time and the end of the API's answer, both since window.__benchStart (null past `limit` ms).
WAIT_DRAWN = r"""(limit) => new Promise((resolve) => {
  const poll = () => {
    const elapsed = performance.now() - window.__benchStart;
    if (document.body.dataset.status === 'ready' &&
        document.querySelector('svg#graph[data-nodes]')) {
      const answers = performance.getEntriesByType('resource')
        .filter((e) => /\/api\/v[12]\/backprop/.test(e.name));  // whichever the page asks
      const last = answers[answers.length - 1];
      resolve({ drawn: elapsed, answered: last ? last.responseEnd - window.__benchStart : null });
    } else if (elapsed > limit) {
      resolve(null);
    } else {
      requestAnimationFrame(poll);
    }
  };
  requestAnimationFrame(poll);
})"""

# Start recording long tasks (the browser reports tasks over 50 ms).
WATCH_TASKS = """() => {
  window.__tasks = [];
  window.__taskObserver?.disconnect();
  window.__taskObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__tasks.push(e.duration);
  });
  window.__taskObserver.observe({ type: 'longtask' });
}"""

# The longest task recorded since WATCH_TASKS (0 if none over 50 ms), after two frames.
LONGEST_TASK = """() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(
  () => resolve(Math.max(0, ...window.__tasks)))))"""

# The longest requestAnimationFrame delta over `ms` milliseconds, and the frame count.
LONGEST_FRAME = """(ms) => new Promise((resolve) => {
  let last = null, longest = 0, frames = 0;
  const start = performance.now();
  const tick = (now) => {
    if (last !== null) { longest = Math.max(longest, now - last); frames += 1; }
    last = now;
    if (now - start < ms) requestAnimationFrame(tick);
    else resolve({ longest, frames });
  };
  requestAnimationFrame(tick);
})"""


def chain_program(nodes: int) -> str:
    """A program of about `nodes` nodes: x, then a sin and a mul per line."""
    lines = max(1, (nodes - 1) // 2)
    body = ["x = 0.5", "a0 = sin(x) * x"]
    body += [f"a{i} = sin(a{i - 1}) * x" for i in range(1, lines)]
    return "\n".join(body)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve() -> Iterator[str]:
    """The app under uvicorn on a free port, as `make run` starts it."""
    port = _free_port()
    uvicorn = Path(sys.executable).with_name("uvicorn")
    process = subprocess.Popen(
        [str(uvicorn), "chainrule.server.app:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"], cwd=REPO_ROOT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def fastest_speed(page: Page) -> None:
    """Set the Speed control to its fastest setting (the last option, or the range's max)."""
    speed = page.get_by_label("Speed", exact=True)
    if speed.evaluate("(el) => el.tagName") == "SELECT":
        speed.select_option(index=speed.evaluate("(el) => el.options.length - 1"))
    else:
        speed.evaluate("(el) => { el.value = el.max; el.dispatchEvent(new Event('input', "
                       "{bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); }")


def measure(page: Page, url: str, source: str, play_ms: int) -> dict[str, float]:
    """Run `source` through the UI; time its first draw, the longest task stepping and
    jumping, and the longest frame playing."""
    page.goto(url)
    # A locator, not wait_for_function: the page's CSP forbids evaluating a string.
    expect(page.locator("body")).to_have_attribute("data-status", "ready")
    # As a paste: one input event (typing 20,000 nodes' worth of text key by key is not a use).
    page.get_by_label("Expression", exact=True).evaluate(
        "(el, text) => { el.value = text; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        source)
    page.get_by_label("Values", exact=True).fill("")
    page.evaluate("() => performance.clearResourceTimings()")
    page.evaluate("() => { window.__benchStart = performance.now(); }")
    page.get_by_role("button", name="Run", exact=True).click()
    page.wait_for_timeout(50)  # the page leaves its last ready state
    times = page.evaluate(WAIT_DRAWN, DRAW_TIMEOUT_MS)
    if times is None or times["answered"] is None:
        raise RuntimeError(f"not drawn after {DRAW_TIMEOUT_MS} ms")
    page.evaluate(WATCH_TASKS)
    page.locator("svg#graph").click(position={"x": 5, "y": 5})  # keys go to the page
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    for key in ("End", "Home", "End"):
        page.keyboard.press(key)
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    page.get_by_role("slider", name="Step", exact=True).evaluate(
        "(el) => { el.value = String(Math.floor(el.max / 2)); "
        "el.dispatchEvent(new Event('input', {bubbles: true})); }")
    stepping = page.evaluate(LONGEST_TASK)
    page.keyboard.press("Home")
    fastest_speed(page)
    page.get_by_role("button", name="Play", exact=True).click()
    playing = page.evaluate(LONGEST_FRAME, play_ms)
    page.get_by_role("button", name="Pause", exact=True).click()
    return {"api": float(times["answered"]), "drawn": float(times["drawn"] - times["answered"]),
            "task": float(stepping), "play_frame": float(playing["longest"]),
            "frames": float(playing["frames"])}


def table(rows: list[tuple[int, dict[str, float]]]) -> str:
    """The figures as a markdown table."""
    header = ("| nodes | Run to answer (ms, API) | answer to graph drawn (ms) "
              "| longest task stepping and jumping (ms) | longest frame playing (ms) "
              "| frames playing |")
    lines = [header, "|---:|---:|---:|---:|---:|---:|"]
    for nodes, m in rows:
        task = f"{m['task']:.0f}" if m["task"] else "none over 50"
        lines.append(f"| {nodes:,} | {m['api']:.0f} | {m['drawn']:.0f} | {task} | "
                     f"{m['play_frame']:.0f} | {m['frames']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    """Measure every size, print the table and append it to docs/browser-benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--play-seconds", type=float, default=3.0)
    parser.add_argument("--report", type=Path, default=REPORT, help="markdown file to append to")
    args = parser.parse_args()
    rows: list[tuple[int, dict[str, float]]] = []
    failures: list[str] = []
    with serve() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for size in args.sizes:
            source = chain_program(size)
            answer = httpx.post(f"{url}/api/v2/backprop", json={"source": source, "check": False},
                                timeout=120)
            answer.raise_for_status()
            nodes = len(answer.json()["columns"]["nodes"]["op"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(DRAW_TIMEOUT_MS)
            try:
                rows.append((nodes, measure(page, url, source, int(args.play_seconds * 1000))))
                print(f"{nodes:,} nodes measured", file=sys.stderr)
            except PlaywrightError as exc:  # a renderer crash is a result too
                failures.append(f"{nodes:,} nodes: {str(exc).splitlines()[0]}")
                print(failures[-1], file=sys.stderr)
            page.close()
        version = browser.version
        browser.close()
    text = table(rows) + "".join(f"\n\nFailed: {failure}" for failure in failures)
    print(text)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    heading = "" if args.report.exists() else (
        "# Browser benchmarks\n\nAppended by `bench/browser.py`: a chain "
        "`a{i} = sin(a{i-1}) * x` run through the UI in headless Chromium (no GPU).\n")
    with args.report.open("a") as report:
        report.write(f"{heading}\n## {dt.date.today().isoformat()}, Chromium {version}, "
                     f"{platform.machine()}, {os.cpu_count()} CPUs\n\n{text}\n")


if __name__ == "__main__":
    main()
