"""Build the wheel, UI included: `python tools/build_wheel.py [--out dist]` (make wheel).

The wheel's `chainrule/frontend/` holds what the server serves and nothing else: the pages and
the files they load, as chainrule/settings.py lists them (PAGES, ASSETS: the frontend's own
files, the offline page `npm run build` writes to frontend/dist/, the npm files the page and
/docs load), and PACKED_NOT_SERVED (the notebook widget's module, the npm files' licences).
backend/ is copied to a scratch directory, the frontend added there, and `pip wheel` builds
from it with no build isolation, so nothing is downloaded. Node is needed here, at build time
only; the installed wheel needs neither Node nor the network.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = ROOT / "frontend"
SETTINGS = ROOT / "backend" / "chainrule" / "settings.py"


def _settings() -> ModuleType:
    """chainrule/settings.py, loaded by its path: it needs only the standard library, while
    the package needs its dependencies, which the build's venv does not have."""
    spec = importlib.util.spec_from_file_location("chainrule_settings", SETTINGS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def packed_files() -> list[str]:
    """The paths under frontend/ that the wheel carries ("/" at the end: a directory)."""
    settings = _settings()
    return [*settings.PAGES.values(), *settings.ASSETS, *settings.PACKED_NOT_SERVED]


def build_frontend() -> None:
    """`npm run build` in frontend/, when the frontend has a build script."""
    if '"build"' in (FRONTEND / "package.json").read_text():
        subprocess.run(["npm", "run", "--silent", "build"], cwd=FRONTEND, check=True)


def stage_frontend(target: Path) -> None:
    """Copy what the server serves from frontend/ into `target`."""
    target.mkdir(parents=True)
    for path in packed_files():
        source = FRONTEND / path
        if not source.exists():
            raise SystemExit(f"{source} is missing: run `npm ci` and `npm run build` in frontend/")
        _copy(source, target / path)


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
