"""Build the wheel, UI included: `python tools/build_wheel.py [--out dist]` (make wheel).

The wheel's `chainrule/frontend/` holds what the server serves: the frontend's own files, the
bundles `npm run build` writes to frontend/dist/, and the files of the npm libraries that the
page loads (below). backend/ is copied to a scratch directory, the frontend added there, and
`pip wheel` builds from it with no build isolation, so nothing is downloaded. Node is needed
here, at build time only; the installed wheel needs neither Node nor the network.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
# The frontend's own files that are not served.
NOT_SERVED = {"node_modules", "test", "package.json", "package-lock.json", ".npmrc", "build.mjs"}
# The npm files the page, the embed view and /docs load, by package (paths inside it).
NPM_SERVED = {
    "d3": ["dist/d3.min.js", "LICENSE"],
    "elkjs": ["lib/elk.bundled.js", "LICENSE.md"],
    "katex": ["dist/katex.min.css", "dist/katex.mjs", "dist/fonts", "LICENSE"],
    "swagger-ui-dist": ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"],
}


def build_frontend() -> None:
    """`npm run build` in frontend/, when the frontend has a build script."""
    if '"build"' in (FRONTEND / "package.json").read_text():
        subprocess.run(["npm", "run", "--silent", "build"], cwd=FRONTEND, check=True)


def stage_frontend(target: Path) -> None:
    """Copy what the server serves from frontend/ into `target`."""
    target.mkdir(parents=True)
    for entry in FRONTEND.iterdir():
        if entry.name not in NOT_SERVED:
            _copy(entry, target / entry.name)
    for package, paths in NPM_SERVED.items():
        for path in paths:
            source = FRONTEND / "node_modules" / package / path
            if not source.exists():
                raise SystemExit(f"{source} is missing: run `npm ci` in frontend/")
            _copy(source, target / "node_modules" / package / path)


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.map"))
    else:
        shutil.copy2(source, target)


def build_wheel(out: Path, frontend_build: bool = True) -> Path:
    """Build the wheel into `out`; returns its path."""
    if frontend_build:
        build_frontend()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="chainrule-wheel-") as scratch:
        source = Path(scratch) / "backend"
        shutil.copytree(ROOT / "backend", source, ignore=shutil.ignore_patterns(
            "__pycache__", "*.egg-info", "build", "frontend"))
        shutil.copy2(ROOT / "README.md", source / "README.md")
        stage_frontend(source / "chainrule" / "frontend")
        before = set(out.glob("chainrule-*.whl"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-build-isolation", "--disable-pip-version-check",
                        "--wheel-dir", str(out), str(source)], check=True)
    built = sorted(out.glob("chainrule-*.whl"), key=lambda p: p.stat().st_mtime)
    return next((p for p in reversed(built) if p not in before), built[-1])


def main() -> None:
    """Build the wheel and print its path."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the wheel goes")
    parser.add_argument("--no-frontend-build", action="store_true",
                        help="use frontend/dist/ as it is instead of running `npm run build`")
    args = parser.parse_args()
    print(build_wheel(args.out.resolve(), frontend_build=not args.no_frontend_build))


if __name__ == "__main__":
    main()
