"""What the server hands out besides the API, and the headers on every answer.

Public: the page at "/", the embed view at "/embed", the files they load (settings.ASSETS),
the API docs at "/docs" (our own template, its init script and the three swagger-ui files it
loads), "/openapi.json", "/healthz" and the API. Any other path is 404: the frontend's
package files, build script and tests, and the rest of node_modules/ (swagger-ui-dist's demo
page among them) are not part of the site.

Every answer carries a Content-Security-Policy, `X-Content-Type-Options: nosniff` and
`Referrer-Policy: no-referrer`, and HEAD is answered wherever GET is. The built page's files
(settings.HASHED_ASSETS, named by their content) are cached for a year; the pages and every
other file are revalidated each time (`Cache-Control: no-cache`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import swagger_ui_default_parameters
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..settings import FRONTEND_DIR, HASHED_ASSETS, PAGES

router = APIRouter(include_in_schema=False)

IMMUTABLE = "public, max-age=31536000, immutable"  # a content-hashed name never changes
REVALIDATE = "no-cache"  # kept, but asked again (ETag, Last-Modified) before each use

SWAGGER_UI = "/node_modules/swagger-ui-dist"  # installed from npm with the frontend
DOCS_INIT = "/docs/swagger-ui-init.js"
DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chainrule API</title>
<link rel="stylesheet" href="{SWAGGER_UI}/swagger-ui.css">
<link rel="icon" href="{SWAGGER_UI}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{SWAGGER_UI}/swagger-ui-bundle.js"></script>
<script src="{DOCS_INIT}"></script>
</body>
</html>
"""
# FastAPI's own Swagger UI settings, as its default /docs page has them, in a file rather than
# an inline script, so that /docs runs under `script-src 'self'`.
DOCS_SCRIPT = (
    "window.ui = SwaggerUIBundle(Object.assign("
    f"{json.dumps({'url': '/openapi.json', **swagger_ui_default_parameters})},"
    " {presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset]}));\n")


def _page(name: str) -> FileResponse:
    path = FRONTEND_DIR / name
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(path, headers={"Cache-Control": REVALIDATE})


@router.get("/")
async def page() -> FileResponse:
    """The page: editor, graph, player and panels."""
    return _page(PAGES["/"])


@router.get("/embed")
async def embed() -> FileResponse:
    """The player alone, for an iframe: /embed#source=...&values=... (as the page's links)."""
    return _page(PAGES["/embed"])


@router.get("/docs")
async def docs() -> HTMLResponse:
    """The API's documentation, drawn by our own copy of Swagger UI (npm), never a CDN's."""
    return HTMLResponse(DOCS_PAGE)


@router.get(DOCS_INIT)
async def docs_script() -> Response:
    """The script that starts Swagger UI on /docs."""
    return Response(DOCS_SCRIPT, media_type="text/javascript")


class PublicFiles(StaticFiles):
    """The frontend's files named in `assets` (a name ending in "/" is a directory and
    everything under it); any other path is 404, whether or not it exists."""

    def __init__(self, directory: Path, assets: Iterable[str]) -> None:
        super().__init__(directory=directory)
        self.files = frozenset(a for a in assets if not a.endswith("/"))
        self.directories = tuple(a for a in assets if a.endswith("/"))

    def is_public(self, path: str) -> bool:
        """Whether `path` (normalized by StaticFiles: no "..", no leading "/") is served."""
        path = path.replace(os.sep, "/")
        return path in self.files or path.startswith(self.directories)

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not self.is_public(path):
            raise HTTPException(404)
        response = await super().get_response(path, scope)
        immutable = path.replace(os.sep, "/").startswith(HASHED_ASSETS)
        response.headers["Cache-Control"] = IMMUTABLE if immutable else REVALIDATE
        return response


class Frontend(Mount):
    """The public files at "/", for GET and HEAD outside /api/. Elsewhere it does not match,
    so that the router answers its own 404, and its 405 with the right `Allow` header."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get("method") not in ("GET", "HEAD") or scope["path"].startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


def _policy(*directives: str) -> str:
    return "; ".join(directives)


def content_security_policies() -> dict[str, str]:
    """The Content-Security-Policy of each path that has its own ("/embed", "/docs"), and of
    every other answer (key "")."""
    page = (
        "default-src 'none'",
        "script-src 'self'",  # the built modules only: no inline script, no eval
        "worker-src 'self'",  # ELK's layout, in a Web Worker of its own file
        # No inline style: KaTeX, d3 and the exports set styles through the CSSOM
        # (element.style), which a CSP does not restrict, never as markup or attributes.
        "style-src 'self'",
        "img-src 'self' data:",  # data: for the page's empty icon and Export PNG's image
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
    )
    return {
        "": _policy(*page, "frame-ancestors 'none'"),
        # For iframes anywhere: no frame-ancestors at all, since `frame-ancestors *` matches
        # only http(s) parents and would refuse course notes opened from file:// or a notebook
        # in VS Code (vscode-webview:).
        "/embed": _policy(*page),
        "/docs": _policy(
            "default-src 'none'", "script-src 'self'", "style-src 'self'",
            "img-src 'self' data:",  # swagger-ui.css draws its icons from data: URIs
            "connect-src 'self'",
            "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'"),
    }


class SecurityHeaders:
    """Add the Content-Security-Policy of the path (`policies`, "" for any other path),
    `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer` to every answer.

    no-referrer rather than strict-origin-when-cross-origin: the server reads no Referer and
    its pages ask nothing of other sites, so there is no use for one, not even the origin."""

    def __init__(self, app: ASGIApp, policies: Mapping[str, str]) -> None:
        self.app = app
        self.policies = policies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self.policies.get(scope["path"], self.policies[""])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = policy
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadAsGet:
    """Answer HEAD wherever GET is answered: the request runs as a GET, and the answer's
    headers (its length included) are sent without its body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
