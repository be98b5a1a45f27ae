"""How fast the UI draws big graphs, in headless Chromium: not a test, a measurement.

For graphs of about 100, 1,000 and 5,000 nodes (a chain `a{i} = sin(a{i-1}) * x`), typed into
the editor and run through the UI: the time from pressing Run to the frame where every node card
is in the SVG (the API's share of it apart), then the longest frame (requestAnimationFrame delta)
while the player plays at its fastest speed. Prints a table and appends it to docs/browser-benchmarks.md.

    .venv/bin/python bench/browser.py [--sizes 100 1000 5000] [--play-seconds 3]
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
from playwright.sync_api import Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORT = REPO_ROOT / "docs" / "browser-benchmarks.md"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DRAW_TIMEOUT_MS = 180_000

# Resolves once every node card is in the SVG, from inside a requestAnimationFrame callback,
# with the time elapsed since window.__benchStart (null past `limit` ms).
WAIT_DRAWN = """([n, limit]) => new Promise((resolve) => {
  const poll = () => {
    const elapsed = performance.now() - window.__benchStart;
    if (document.querySelectorAll('svg#graph g.node').length >= n) {
      resolve(elapsed);
    } else if (elapsed > limit) {
      resolve(null);
    } else {
      requestAnimationFrame(poll);
    }
  };
  requestAnimationFrame(poll);
})"""

# Milliseconds the last /api/v1/backprop request took, from its start to its response's end.
API_TIME = """() => {
  const entries = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/v1/backprop'));
  const last = entries[entries.length - 1];
  return last ? last.responseEnd - last.startTime : null;
}"""

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
        [str(uvicorn), "chainrule.app:create_app", "--factory", "--host", "127.0.0.1",
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


def measure(page: Page, url: str, source: str, nodes: int, play_ms: int) -> dict[str, float]:
    """Run `source` through the UI; time the first full draw, then the longest frame playing."""
    page.goto(url)
    page.get_by_label("Expression", exact=True).fill(source)
    page.get_by_label("Values", exact=True).fill("")
    page.evaluate("() => performance.clearResourceTimings()")
    page.evaluate("() => { window.__benchStart = performance.now(); }")
    page.get_by_role("button", name="Run", exact=True).click()
    drawn = page.evaluate(WAIT_DRAWN, [nodes, DRAW_TIMEOUT_MS])
    if drawn is None:
        drawn_count = page.locator("svg#graph g.node").count()
        raise RuntimeError(f"{drawn_count} of {nodes} nodes drawn after {DRAW_TIMEOUT_MS} ms")
    api = page.evaluate(API_TIME)
    idle = page.evaluate(LONGEST_FRAME, 500)
    fastest_speed(page)
    page.get_by_role("button", name="Play", exact=True).click()
    playing = page.evaluate(LONGEST_FRAME, play_ms)
    page.get_by_role("button", name="Pause", exact=True).click()
    return {"drawn": float(drawn), "api": float(api) if api is not None else float("nan"),
            "idle_frame": float(idle["longest"]), "play_frame": float(playing["longest"]),
            "frames": float(playing["frames"])}


def table(rows: list[tuple[int, dict[str, float]]]) -> str:
    """The figures as a markdown table."""
    header = ("| nodes | Run to first full draw (ms) | of which API (ms) | layout + draw (ms) "
              "| longest frame idle (ms) | longest frame playing (ms) | frames playing |")
    lines = [header,
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for nodes, m in rows:
        lines.append(f"| {nodes:,} | {m['drawn']:.0f} | {m['api']:.0f} | "
                     f"{m['drawn'] - m['api']:.0f} | {m['idle_frame']:.0f} | "
                     f"{m['play_frame']:.0f} | {m['frames']:.0f} |")
    return "\n".join(lines)


def main() -> None:
    """Measure every size, print the table and append it to docs/browser-benchmarks.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--play-seconds", type=float, default=3.0)
    parser.add_argument("--report", type=Path, default=REPORT, help="markdown file to append to")
    args = parser.parse_args()
    rows: list[tuple[int, dict[str, float]]] = []
    failures: list[str] = []
    with serve() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for size in args.sizes:
            source = chain_program(size)
            answer = httpx.post(f"{url}/api/v1/backprop", json={"source": source, "check": False},
                                timeout=120)
            answer.raise_for_status()
            nodes = len(answer.json()["nodes"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(DRAW_TIMEOUT_MS)
            try:
                rows.append((nodes, measure(page, url, source, nodes,
                                            int(args.play_seconds * 1000))))
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
