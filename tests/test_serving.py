"""What the server hands out besides the API, and the headers on every answer: only the page's
built files, /docs and the API are public; each answer carries its Content-Security-Policy,
nosniff and a referrer policy; the content-hashed files are cached for a year, the rest
revalidated; HEAD is answered wherever GET is."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx
import pytest
from chainrule.settings import ASSETS, FRONTEND_DIR, HASHED_ASSETS, PAGES
from fastapi.testclient import TestClient


def built(pattern: str) -> str:
    """The URL of the one built file in dist/assets/ whose name matches `pattern` (main-*.js)."""
    [path] = (FRONTEND_DIR / HASHED_ASSETS).glob(pattern)
    return f"/{path.relative_to(FRONTEND_DIR).as_posix()}"


MAIN, FONT = "main-*.js", "KaTeX_Main-Regular-*.woff2"  # for built(): a module, a font
# One of each kind of answer: the page, the embed view, the docs, static files, API answers, a 404.
ANSWERS = [
    ("GET", "/"), ("GET", "/embed"), ("GET", "/docs"), ("GET", "/docs/swagger-ui-init.js"),
    ("GET", MAIN), ("GET", FONT), ("GET", "/dist/offline.html"),
    ("GET", "/api/v1/ops"), ("POST", "/api/v1/backprop"), ("GET", "/openapi.json"),
    ("GET", "/healthz"), ("GET", "/package.json"),
]
# Files of the checkout that the server must not hand out (each exists on disk).
PRIVATE = ["package.json", "package-lock.json", "build.mjs", "test/player.test.js",
           "node_modules/swagger-ui-dist/index.html", "node_modules/swagger-ui-dist/package.json",
           "node_modules/katex/package.json", "node_modules/esbuild/package.json",
           "node_modules/d3/dist/d3.js", "node_modules/.package-lock.json", "dist/widget.js",
           "index.html", "embed.html", "dist/index.html", "dist/embed.html",  # at "/", "/embed"
           # the sources of the built files
           "style.css", "src/main.js", "src/elk.js", "node_modules/d3/dist/d3.min.js",
           "node_modules/elkjs/lib/elk.bundled.js", "node_modules/elkjs/lib/elk-worker.min.js",
           "node_modules/katex/dist/katex.mjs", "node_modules/katex/dist/katex.min.css"]
GET_AND_HEAD = ["/", "/embed", "/docs", "/docs/swagger-ui-init.js", MAIN, FONT, "/api/v1/ops",
                "/healthz", "/openapi.json"]


def _request(client: TestClient, method: str, path: str) -> httpx.Response:
    if "*" in path:
        path = built(path)
    if method == "POST":
        return client.post(path, json={"source": "sin(x)", "values": {"x": 1}})
    return client.request(method, path)


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (d.split() for d in policy.split(";") if d.strip())
    return {name: values for name, *values in parts}


@pytest.mark.parametrize(("method", "path"), ANSWERS)
def test_every_answer_carries_a_strict_policy_nosniff_and_no_referrer(
        client: TestClient, method: str, path: str) -> None:
    r = _request(client, method, path)
    assert r.status_code == (404 if path == "/package.json" else 200)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    policy = _directives(r.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["script-src"][0] == "'self'"
    assert all(v.startswith("'sha256-") for v in policy["script-src"][1:])
    assert policy["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in r.headers["content-security-policy"]
    assert "'unsafe-eval'" not in r.headers["content-security-policy"]
    if path == "/embed":  # for an iframe of any page, file:// and notebooks included
        assert "frame-ancestors" not in policy
    else:
        assert policy["frame-ancestors"] == ["'none'"]


@pytest.mark.parametrize("path", ["/", "/embed"])
def test_the_pages_run_one_built_module_and_no_inline_script(
        client: TestClient, path: str) -> None:
    r = client.get(path)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.DOTALL)
    assert len(scripts) == 1
    assert re.fullmatch(r' type="module" src="dist/assets/[\w-]+\.js"', scripts[0][0])
    assert scripts[0][1] == ""
    policy = _directives(r.headers["content-security-policy"])
    assert policy["script-src"] == policy["worker-src"] == ["'self'"]


@pytest.mark.parametrize("path", [MAIN, FONT, "elk-worker-*.js", "katex.min-*.css"])
def test_the_built_files_are_cached_for_a_year(client: TestClient, path: str) -> None:
    for r in (client.get(built(path)), client.head(built(path))):
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("path", ["/", "/embed", "/dist/offline.html"])
def test_the_pages_and_unhashed_files_are_revalidated(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-cache"
    assert "etag" in r.headers or "last-modified" in r.headers


def test_the_docs_run_from_files_only_our_own(client: TestClient) -> None:
    docs = client.get("/docs")
    assert _directives(docs.headers["content-security-policy"])["script-src"] == ["'self'"]
    scripts = re.findall(r"<script([^>]*)>", docs.text)
    assert scripts == [' src="/node_modules/swagger-ui-dist/swagger-ui-bundle.js"',
                       ' src="/docs/swagger-ui-init.js"']
    loaded = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert len(loaded) == 4
    for url in loaded:
        assert url.startswith("/") and client.get(url).status_code == 200, url
    assert "'/openapi.json'" in client.get("/docs/swagger-ui-init.js").text.replace('"', "'")


@pytest.mark.parametrize("path", ["/node_modules/", "/node_modules", "/src/", "/dist/",
                                  "/dist/assets/",
                                  "/test/", "/src/%2e%2e/package.json", "/.npmrc"])
def test_directories_and_paths_out_of_the_list_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404
    assert client.head(path).status_code == 404


@pytest.mark.parametrize("name", PRIVATE)
def test_the_checkouts_other_files_are_404(client: TestClient, name: str) -> None:
    assert (FRONTEND_DIR / name).is_file(), f"{name} should exist for this test to mean anything"
    assert client.get(f"/{name}").status_code == 404
    assert client.head(f"/{name}").status_code == 404


def _references(client: TestClient, path: str) -> set[str]:
    """The same-origin URLs a served HTML, CSS or JS file loads (absolute paths)."""
    text = client.get(path).text
    if path.endswith(".css"):
        found = re.findall(r"""url\(["']?([^)"']+)["']?\)""", text)
    elif path.endswith((".js", ".mjs")):
        found = re.findall(r"""(?:import|from)\s*\(?["'](\.{1,2}/[^"']+)["']""", text)
        # ELK's worker and KaTeX's style sheet, named relative to the page ("/")
        found += ["/" + url for url in re.findall(r'"(dist/assets/[^"]+)"', text)]
    else:
        found = re.findall(r'(?:src|href)="([^"]+)"', text)
    return {urljoin(f"http://testserver{path}", url).removeprefix("http://testserver")
            for url in found if not url.startswith(("data:", "http:", "https:", "#"))}


def test_every_file_the_pages_load_is_served(client: TestClient) -> None:
    """The allow-list is complete: the pages, their styles (KaTeX's fonts) and their modules
    (followed import by import, those loaded later included) all answer 200."""
    seen: set[str] = set()
    todo = set(PAGES)
    while todo:
        path = todo.pop()
        seen.add(path)
        r = client.get(path)
        assert r.status_code == 200, path
        if path in PAGES or path.endswith((".css", ".js", ".mjs")):
            todo |= _references(client, path) - seen
    for later in (FONT, "elk-worker-*.js", "katex.min-*.css", "standalone-*.js"):
        assert built(later) in seen, later


@pytest.mark.parametrize("asset", ASSETS)
def test_every_listed_asset_exists_and_is_served(client: TestClient, asset: str) -> None:
    path = FRONTEND_DIR / asset
    if asset.endswith("/"):
        path = next(p for p in sorted(path.rglob("*")) if p.is_file())
    assert path.is_file(), asset
    r = client.get(f"/{path.relative_to(FRONTEND_DIR).as_posix()}")
    assert r.status_code == 200
    assert r.content == path.read_bytes()


@pytest.mark.parametrize("path", GET_AND_HEAD)
def test_head_is_answered_wherever_get_is(client: TestClient, path: str) -> None:
    path = built(path) if "*" in path else path
    get, head = client.get(path), client.head(path)
    assert get.status_code == head.status_code == 200
    assert head.content == b""
    for name in ("content-type", "content-length", "content-encoding",
                 "content-security-policy", "x-content-type-options", "referrer-policy",
                 "cache-control"):
        assert head.headers.get(name) == get.headers.get(name), name


def test_head_is_refused_where_get_is(client: TestClient) -> None:
    r = client.head("/api/v1/backprop")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
