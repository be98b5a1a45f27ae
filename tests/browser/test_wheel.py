"""The wheel, as a learner installs it: `make wheel`'s file installed into a fresh venv, then
served by `chainrule serve` with no Node on the PATH, opened in Chromium with every request
that is not to that server blocked, and the command line run from it.

The fresh venv gets its dependencies (fastapi, numpy, ...) from the test's own environment by a
.pth file, and chainrule from the wheel alone (`pip install --no-index --no-deps`), so the test
needs no network and checks that the wheel, not the checkout, is what runs."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from chainrule.settings import ASSETS, PACKED_NOT_SERVED, PAGES
from playwright.sync_api import Browser, expect

from ..oracles import sympy_gradients
from ..servers import free_port, stop, wait_healthy
from . import ui

ROOT = Path(__file__).resolve().parents[2]
SOURCE, VALUES = ui.SOURCE, ui.VALUES
TRUE_GRADIENTS = sympy_gradients(SOURCE, VALUES)  # the oracle


class Venv:
    """A fresh virtual environment with the wheel installed in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bin = path / "bin"
        self.env = {"PATH": str(self.bin), "HOME": str(path), "LANG": "C.UTF-8"}  # no node

    def run(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run a command of the venv's bin/ in `cwd`, with the venv's environment only."""
        return subprocess.run([str(self.bin / args[0]), *args[1:]], cwd=cwd, env=self.env,
                              capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make wheel`'s file, built into a scratch directory."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "build_wheel.py"), "--out",
                           str(out)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    path = Path(done.stdout.strip().splitlines()[-1])
    assert path.name == "chainrule-0.1.0-py3-none-any.whl"
    return path


@pytest.fixture(scope="session")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv (no pip of its own) with only the wheel installed into it."""
    path = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    env = Venv(path)
    site = Path(subprocess.run([str(env.bin / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "test-dependencies.pth").write_text("\n".join(sorted(deps)) + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(env.bin / "python"),
                           "install", "--no-index", "--no-deps", "--disable-pip-version-check",
                           "--quiet", str(wheel)], capture_output=True, text=True, check=False,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr
    return env


@pytest.fixture(scope="session")
def wheel_server(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`chainrule serve --port P` from the venv, in an empty directory."""
    port = free_port()
    process = subprocess.Popen([str(venv.bin / "chainrule"), "serve", "--port", str(port)],
                               cwd=tmp_path_factory.mktemp("empty"), env=venv.env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, 30)
        yield url
    finally:
        stop(process, 10)


def test_the_venv_runs_the_wheels_chainrule_not_the_checkouts(venv: Venv, tmp_path: Path) -> None:
    done = venv.run("python", "-c", "import chainrule, chainrule.settings as s; "
                    "print(chainrule.__file__); print(s.FRONTEND_DIR)", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    module, frontend = done.stdout.split()
    assert Path(module).is_relative_to(venv.path) and Path(frontend).is_relative_to(venv.path)
    assert (Path(frontend) / "dist" / "index.html").is_file(), "the built page is packed"


def test_the_command_line_from_the_wheel_gives_the_true_gradients(venv: Venv,
                                                                   tmp_path: Path) -> None:
    done = venv.run("chainrule", SOURCE, *(f"{k}={v}" for k, v in VALUES.items()), "--json",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    gradients = json.loads(done.stdout)["gradients"]
    for name, exact in TRUE_GRADIENTS.items():
        assert gradients[name] == pytest.approx(exact, rel=1e-12)


def test_the_wheel_serves_the_api_and_its_docs(wheel_server: str) -> None:
    with httpx.Client(base_url=wheel_server, timeout=30) as http:
        answer = http.post("/api/v1/backprop", json={"source": SOURCE, "values": VALUES})
        assert answer.status_code == 200
        for name, exact in TRUE_GRADIENTS.items():
            assert answer.json()["gradients"][name] == pytest.approx(exact, rel=1e-12)
        docs = http.get("/docs")
        assert docs.status_code == 200
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert http.get(f"/node_modules/swagger-ui-dist/{asset}").status_code == 200
            assert asset in docs.text


def test_the_wheel_packs_what_the_server_serves_and_no_more(wheel: Path) -> None:
    listed = [*PAGES.values(), *ASSETS, *PACKED_NOT_SERVED]
    directories = tuple(path for path in listed if path.endswith("/"))
    with zipfile.ZipFile(wheel) as archive:
        packed = {name.removeprefix("chainrule/frontend/") for name in archive.namelist()
                  if name.startswith("chainrule/frontend/")}
    assert {name for name in packed if name not in listed and not name.startswith(directories)} \
        == set()
    assert {path for path in listed if not any(name.startswith(path) for name in packed)} == set()


def test_the_wheel_serves_the_pages_with_their_headers_and_nothing_else(wheel_server: str) -> None:
    with httpx.Client(base_url=wheel_server, timeout=30) as http:
        for path in ("/", "/embed", "/docs"):
            page, head = http.get(path), http.head(path)
            assert page.status_code == head.status_code == 200
            assert head.headers["content-length"] == page.headers["content-length"]
            assert page.headers["x-content-type-options"] == "nosniff"
            policy = page.headers["content-security-policy"]
            assert "default-src 'none'" in policy
            # No inline script anywhere: the pages load their built, hashed modules.
            assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        module = re.search(r'<script type="module" src="([^"]+)"', http.get("/").text)
        assert module, "the packaged page loads its built module"
        built = http.get(module.group(1))
        assert built.status_code == 200 and "immutable" in built.headers["cache-control"]
        for path in ("/node_modules/", "/dist/widget.js", "/index.html",
                     "/node_modules/katex/LICENSE"):
            assert http.get(path).status_code == 404, path


def test_the_page_served_from_the_wheel_runs_and_steps_to_the_gradients(
        wheel_server: str, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    blocked = ui.block_all_but(wheel_server, page)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400
            else None)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    with httpx.Client(base_url=wheel_server, timeout=30) as http:
        answer: dict[str, Any] = ui.backprop(http, ui.SOURCE, ui.VALUES)
    ui.open_app(page, wheel_server)
    ui.run(page, ui.SOURCE, ui.VALUES_TEXT)
    ui.expect_graph(page, answer)
    expect(page.locator("#step-panel .katex").first).to_be_attached()  # KaTeX from the wheel
    page.keyboard.press("End")
    ui.expect_gradients(page, TRUE_GRADIENTS)
    context.close()
    assert not blocked and not failed and not errors, (blocked, failed, errors)


def test_export_html_from_the_wheel_plays_offline_to_the_true_gradients(
        venv: Venv, browser: Browser, tmp_path: Path) -> None:
    done = venv.run("chainrule", "export-html", SOURCE,
                    *(f"{k}={v}" for k, v in VALUES.items()), "-o", "steps.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page, blocked, errors = ui.open_offline(browser, tmp_path / "steps.html")
    page.keyboard.press("End")
    ui.expect_gradients(page, TRUE_GRADIENTS)
    page.context.close()
    assert not blocked and not errors, (blocked, errors)


def test_the_notebook_widget_from_the_wheel_carries_its_module(venv: Venv,
                                                               tmp_path: Path) -> None:
    done = venv.run("python", "-c", "import chainrule, chainrule.widget as w; "
                    f"s = chainrule.show({SOURCE!r}, x=1.5, y=2); "
                    "print(w.esm_path()); print(len(s._esm)); print(s.answer['gradients'])",
                    cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    path, size, gradients = done.stdout.strip().splitlines()
    assert Path(path).is_relative_to(venv.path) and int(size) > 100_000
    for name, exact in TRUE_GRADIENTS.items():
        assert json.loads(gradients.replace("'", '"'))[name] == pytest.approx(exact, rel=1e-12)


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions (name, arguments), continuation lines joined, by stage."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, args = line.strip().partition(" ")
        if name == "FROM":
            stages.append([])
        stages[-1].append((name, args.strip()))
    return stages


def arguments(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [args for n, args in stage if n == name]


def test_the_image_builds_the_wheel_then_runs_only_it_as_a_user_without_privileges() -> None:
    build, runtime = dockerfile_stages()
    assert arguments(build, "FROM") == ["python:3.11-slim AS build"]
    assert any("make wheel" in run for run in arguments(build, "RUN"))
    assert arguments(runtime, "FROM") == ["python:3.11-slim"]
    runs = " ".join(arguments(runtime, "RUN"))
    assert not re.search(r"apt-get|npm|node|curl|wget|git ", runs), "the runtime installs no tools"
    installs = [i for run in arguments(runtime, "RUN") for i in re.findall(r"pip install ([^&]*)", run)]
    assert [i.split()[-1] for i in installs] == ["/tmp/requirements.txt",
                                                 "/tmp/dist/chainrule-*.whl"]
    assert "--no-deps" in installs[1]
    user = arguments(runtime, "USER")
    assert user == ["chainrule"] and "useradd --create-home --uid 10001" in runs
    assert [n for n, _ in runtime].index("USER") < [n for n, _ in runtime].index("CMD")
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "build: ." in compose
    assert not re.search(r"^\s*(command|volumes):|apt-get|npm", compose, re.MULTILINE), \
        "the service runs the image as built: nothing installed or mounted at start"


def test_the_images_command_and_health_check_run_from_the_wheel_with_no_network(
        venv: Venv, tmp_path: Path) -> None:
    _, runtime = dockerfile_stages()
    env = dict(kv.split("=", 1) for kv in " ".join(arguments(runtime, "ENV")).split())
    command = json.loads(arguments(runtime, "CMD")[0])
    health = arguments(runtime, "HEALTHCHECK")[0]
    check = json.loads(health[health.index("CMD ") + 4:])
    # In a network namespace of its own (loopback only): nothing can be fetched at start.
    tools = {name: shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin") or name
             for name in ("unshare", "ip", "sh")}
    script = "\n".join([
        f"{tools['ip']} link set lo up",
        f"{shlex.join(check)} 2>/dev/null && exit 3  # no server yet: the check must fail",
        f"{shlex.join(command)} >server.log 2>&1 & server=$!",
        "status=1; i=0",
        f"while [ $i -lt 300 ]; do {shlex.join(check)} 2>/dev/null && status=0 && break",
        "i=$((i+1)); done",
        "kill $server; wait $server",
        "exit $status"])
    done = subprocess.run([tools["unshare"], "--net", tools["sh"], "-c", script], cwd=tmp_path,
                          env={**venv.env, **env, "PORT": str(free_port()), "HOME": str(tmp_path)},
                          capture_output=True, text=True, timeout=120, check=False)
    log = (tmp_path / "server.log").read_text() if (tmp_path / "server.log").exists() else ""
    assert done.returncode == 0, (done.returncode, done.stderr, log)
    assert "Started parent process" in log or "Uvicorn running" in log, log


WHEEL_PYTHON_API = """
import json, random
import numpy as np
import chainrule
from micrograd.nn import MLP

def f(x, y):
    return np.sin(x * y) + x ** 2

traced = chainrule.trace(f, x=1.5, y=2.0)
random.seed(0)
model = MLP(3, [4, 1])
loss = (model([1.0, -2.0, 0.5]) - 1.0) ** 2
converted = chainrule.from_micrograd(loss, model.parameters())
model.zero_grad()
loss.backward()
widget = chainrule.show(converted)
print(json.dumps({"module": chainrule.__file__, "traced": traced.gradients,
                  "ours": [converted.gradients[f"p{k}"] for k in range(len(model.parameters()))],
                  "micrograd": [p.grad for p in model.parameters()],
                  "widget": widget.answer["gradients"] == converted.gradients}))
"""


def test_the_wheels_python_api_traces_converts_an_mlp_and_shows_it(venv: Venv,
                                                                   tmp_path: Path) -> None:
    done = venv.run("python", "-c", WHEEL_PYTHON_API, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert Path(out["module"]).is_relative_to(venv.path)
    for name, exact in TRUE_GRADIENTS.items():
        assert out["traced"][name] == pytest.approx(exact, rel=1e-12)
    assert out["ours"] == pytest.approx(out["micrograd"], rel=1e-9, abs=1e-12)
    assert out["widget"]
