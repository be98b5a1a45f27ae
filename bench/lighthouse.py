"""The page as Lighthouse judges it: not a test, a measurement (`make bench`, issue 19).

The app is started as `make run` starts it (bench/browser.py's `serve()`), then Lighthouse
(frontend/node_modules, pinned in package.json) audits "/" in Debian's Chromium: the mobile
preset (its default: a simulated mid-range phone on a slow 4G link) and the desktop preset,
each `--runs` times, the run of median performance kept. Scores (performance, accessibility,
best practices), first and largest contentful paint, total blocking time, and the
opportunities that would save the most.

Each measurement is kept under its label in docs/lighthouse.json (`--label`, "now" by
default; "before" is the page before issue 19's speed work) and docs/lighthouse.md is written
from all of them, so a new run replaces its own rows and keeps the others.

    .venv/bin/python bench/lighthouse.py [--label now] [--runs 3] [--report extra.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from browser import CHROMIUM, serve

REPO_ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = REPO_ROOT / "frontend" / "node_modules" / "lighthouse" / "cli" / "index.js"
DOCS = REPO_ROOT / "docs"
RESULTS = DOCS / "lighthouse.json"
REPORT = DOCS / "lighthouse.md"
CHROME_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync"]
PRESETS = ["mobile", "desktop"]
CATEGORIES = ["performance", "accessibility", "best-practices"]
METRICS = {"FCP": "first-contentful-paint", "LCP": "largest-contentful-paint",
           "TBT": "total-blocking-time", "SI": "speed-index"}
# Issue 19's targets, for the mobile preset.
TARGETS = {"performance": 0.95, "accessibility": 1.0, "best-practices": 1.0,
           "LCP": 2000.0, "TBT": 150.0}
TOP_OPPORTUNITIES = 5


def lighthouse(url: str, preset: str) -> dict[str, Any]:
    """One Lighthouse run of `url` with `preset`: its JSON report (the "lhr")."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        command = ["node", str(LIGHTHOUSE), url, f"--chrome-path={CHROMIUM}",
                   f"--chrome-flags={' '.join(CHROME_FLAGS)}", "--output=json",
                   f"--output-path={out}", "--quiet",
                   f"--only-categories={','.join(CATEGORIES)}"]
        if preset != "mobile":
            command.append(f"--preset={preset}")
        subprocess.run(command, check=True, timeout=300, env={**os.environ, "CHROME_PATH": CHROMIUM})
        lhr: dict[str, Any] = json.loads(out.read_text())
    return lhr


def summary(lhr: dict[str, Any]) -> dict[str, Any]:
    """Scores, metrics (ms) and the largest opportunities of one report."""
    audits = lhr["audits"]
    opportunities = []
    for audit in audits.values():
        details = audit.get("details") or {}
        saving_ms = details.get("overallSavingsMs") or 0
        saving_bytes = details.get("overallSavingsBytes") or 0
        if details.get("type") == "opportunity" and (saving_ms >= 1 or saving_bytes >= 1024):
            opportunities.append({"title": audit["title"], "ms": saving_ms,
                                  "bytes": saving_bytes})
    opportunities.sort(key=lambda o: (-o["ms"], -o["bytes"]))
    return {
        "scores": {c: lhr["categories"][c]["score"] for c in CATEGORIES},
        "metrics": {name: audits[key]["numericValue"] for name, key in METRICS.items()},
        "opportunities": opportunities[:TOP_OPPORTUNITIES],
        "failed": sorted(a["title"] for a in audits.values()
                         if a.get("score") is not None and a["score"] < 1
                         and a.get("scoreDisplayMode") == "binary"),
        "lighthouse": lhr["lighthouseVersion"],
        "chrome": lhr["environment"]["hostUserAgent"],
    }


def measure(url: str, runs: int) -> dict[str, Any]:
    """Each preset `runs` times; the run of median performance score, and every run's score."""
    out = {}
    for preset in PRESETS:
        done = []
        for i in range(runs):
            print(f"lighthouse {preset}, run {i + 1} of {runs} ...", flush=True)
            done.append(summary(lighthouse(url + "/", preset)))
        done.sort(key=lambda s: s["scores"]["performance"])
        kept = done[(len(done) - 1) // 2]
        kept["runs"] = [s["scores"]["performance"] for s in done]
        kept["date"] = dt.date.today().isoformat()
        kept["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                                        capture_output=True, text=True,
                                        check=False).stdout.strip()
        out[preset] = kept
    return out


def _score(s: float | None) -> str:
    return "—" if s is None else f"{s:.2f}"


def _ms(v: float) -> str:
    return f"{v / 1000:.1f} s" if v >= 1000 else f"{v:.0f} ms"


def met(run: dict[str, Any]) -> list[str]:
    """Issue 19's mobile targets, each "met" or "not met" with its figure."""
    scores, metrics = run["scores"], run["metrics"]
    out = []
    for key, aim in TARGETS.items():
        if key in scores:
            value, shown, aim_shown = scores[key], _score(scores[key]), f"≥ {aim:.2f}"
            ok = value is not None and value >= aim
        else:
            value, shown, aim_shown = metrics[key], _ms(metrics[key]), f"≤ {_ms(aim)}"
            ok = value <= aim
        out.append(f"- {key} {aim_shown}: {shown}, {'met' if ok else '**not met**'}")
    return out


def tables(results: dict[str, dict[str, Any]]) -> list[str]:
    """The scores table (a row per label and preset) and each run's top opportunities."""
    lines = [("| page | preset | performance (runs) | accessibility | best practices | FCP | "
             "LCP | TBT | speed index |"), "|---|---|---|---|---|---|---|---|---|"]
    for label, presets in results.items():
        for preset, r in presets.items():
            s, m = r["scores"], r["metrics"]
            runs = ", ".join(_score(x) for x in r["runs"])
            lines.append(f"| {label} ({r['commit']}, {r['date']}) | {preset} | "
                         f"{_score(s['performance'])} ({runs}) | {_score(s['accessibility'])} | "
                         f"{_score(s['best-practices'])} | {_ms(m['FCP'])} | {_ms(m['LCP'])} | "
                         f"{_ms(m['TBT'])} | {_ms(m['SI'])} |")
    for label, presets in results.items():
        for preset, r in presets.items():
            lines += ["", f"Top opportunities, {label}, {preset}:"]
            lines += [f"- {o['title']}: {_ms(o['ms'])}" + (
                f", {o['bytes'] / 1024:.0f} KB" if o["bytes"] else "")
                for o in r["opportunities"]] or ["- none"]
            if r["failed"]:
                lines.append("- audits failed: " + "; ".join(r["failed"]))
    return lines


def report(results: dict[str, dict[str, Any]]) -> str:
    """docs/lighthouse.md: what was run, the tables, and the targets against the latest run."""
    latest = next(reversed(results.values()))
    any_run = next(iter(latest.values()))
    lines = [
        "# Lighthouse", "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "), "",
        (f"Lighthouse {any_run['lighthouse']}, {any_run['chrome']}; the machine is shared "
        "(2 cores), so scores move by a few hundredths from run to run."), "",
        *tables(results), "",
        f"## Issue 19's targets, mobile, {next(reversed(results))}", "",
        *met(latest["mobile"]), "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--label", default="now", help="the rows' name in the report")
    parser.add_argument("--runs", type=int, default=3, help="runs per preset (median kept)")
    parser.add_argument("--report", type=Path, help="also write the tables here (bench/run.py)")
    args = parser.parse_args()
    with serve() as url:
        measured = measure(url, args.runs)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.pop(args.label, None)
    results[args.label] = measured
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    REPORT.write_text(report(results))
    print(REPORT.read_text())
    if args.report:
        args.report.write_text(f"## Lighthouse, {args.label}\n\n" + "\n".join(
            [*tables({args.label: measured}), "", *met(measured["mobile"])]) + "\n")


if __name__ == "__main__":
    main()
