"""The app factory: the API, the health check and error mapping; the pages, their files, /docs
and the headers on every answer come from serving.py."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.middleware.gzip import GZipMiddleware

from ..answer.encoding import MIN_COMPRESSED_BYTES
from ..answer.schemas import HealthResponse
from ..errors import ChainruleError
from ..settings import (
    ASSETS,
    FRONTEND_DIR,
    GC_THRESHOLDS,
    LIMITS,
    MAX_BODY_BYTES,
    QUEUE,
    WORKER_MEMORY_MB,
    WORKERS,
    Limits,
)
from . import pages as serving
from .middleware import BodyLimit
from .pool import Busy, Computations
from .routes import router, router_v2

DESCRIPTION = f"""
chainrule computes the partial derivatives of a function that is a composition of simpler
functions, by applying the chain rule node by node from the output back to the inputs: that is
backpropagation. Not an optimizer, not training: one forward and one backward pass. The answer
also holds a finite-difference check, which needs 2N evaluations for N inputs.

Limits: source {LIMITS.max_source_chars:,} characters, {LIMITS.max_nodes:,} nodes, {LIMITS.max_array_elements:,} elements per array, {LIMITS.max_total_elements:,} elements
in all, brackets nested {LIMITS.max_nesting} deep, request body {MAX_BODY_BYTES:,} bytes. Every answer
is at most {LIMITS.max_answer_bytes:,} bytes as sent (zstd- or gzip-compressed when the request accepts it)
and computed and encoded within {LIMITS.max_seconds:g} s; gradient descent is refused beyond
{LIMITS.optimize_element_budget:,} numbers × iterations or {LIMITS.optimize_node_budget:,} nodes × iterations.
"""


def _error(status: int, message: str, kind: str, span: object = None,
           headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "kind": kind, "span": span}},
                        status_code=status, headers=headers)


async def _user_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ChainruleError)
    status = {"timeout": 503, "cancelled": 499}.get(exc.kind, 422)
    return _error(status, exc.message, exc.kind, list(exc.span) if exc.span else None)


async def _busy(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Busy)
    return _error(429, f"every worker is busy and the queue is full: try again in "
                  f"{exc.retry_after} s", "busy", headers={"Retry-After": str(exc.retry_after)})


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    return _error(422, f"invalid request: {where or 'body'}: {first.get('msg')}", "request")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    kind = "request" if exc.status_code < 500 else "server"
    # Keep the exception's headers: a 405 must say which methods are allowed (`Allow`).
    return _error(exc.status_code, f"invalid request: {exc.detail}", kind, headers=exc.headers)


def create_app(workers: int = WORKERS, queue: int = QUEUE,
               memory_mb: int = WORKER_MEMORY_MB, limits: Limits = LIMITS) -> FastAPI:
    """Build the FastAPI application: its computations run in `workers` worker processes,
    `queue` more requests wait for one, each worker's memory is capped `memory_mb` above its
    idle size (0: no cap), and `limits` bound each computation."""
    gc.set_threshold(*GC_THRESHOLDS)
    computations = Computations(workers, queue, memory_mb, limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        computations.start()  # the workers ready before the first request
        yield
        computations.stop()

    # The docs page is served from our own copy of Swagger UI (npm), never from a CDN.
    app = FastAPI(title="chainrule", version="0.1.0", description=DESCRIPTION,
                  docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.computations = computations
    app.include_router(router)
    app.include_router(router_v2)
    app.add_exception_handler(ChainruleError, _user_error)
    app.add_exception_handler(Busy, _busy)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)

    # The frontend's files and the other answers, gzip-compressed when the client accepts it;
    # the computed answers come compressed already, in zstd or gzip (api/answers.py), so this
    # one leaves them.
    app.add_middleware(GZipMiddleware, minimum_size=MIN_COMPRESSED_BYTES, compresslevel=6)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(serving.SecurityHeaders,
                       policies=serving.content_security_policies())
    app.add_middleware(serving.HeadAsGet)  # outermost: a HEAD is a GET to every layer below
    app.include_router(serving.router)  # the page, /embed, /docs

    @app.get("/healthz", tags=["health"], response_model=HealthResponse, responses={503: {
        "model": HealthResponse, "description": "The workers cannot take work: the pool is "
        "broken, or a request has been admitted far longer than any can be."}})
    async def healthz() -> JSONResponse:
        """Whether the server can compute: answered on the event loop, never queued behind
        computations; 200 with the workers' state, 503 when they cannot take work."""
        healthy, state = computations.health()
        return JSONResponse(state, status_code=200 if healthy else 503)

    if FRONTEND_DIR.is_dir():  # the files the page loads, and no other
        app.router.routes.append(
            serving.Frontend("/", app=serving.PublicFiles(FRONTEND_DIR, ASSETS), name="frontend"))
    return app
