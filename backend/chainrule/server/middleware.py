"""An ASGI middleware that bounds the request body, whether or not it declares its length.

Reading `Content-Length` alone is not enough: a chunked request has none. So the body is read
here, its bytes counted as they arrive, and the request answered 413 once the count passes the
limit; the app then receives the body that was read, in one message.

A 413 sent while the client is still sending, followed by a close, reaches most clients as
"connection reset by peer": the unread bytes make the kernel reset the connection, and Python's
urllib.request and requests only read the answer once they have sent the whole body. So, as
nginx does (its "lingering close"), the rest of the body is read and thrown away before the 413
is sent, up to DISCARD_BYTES and DISCARD_SECONDS; a client that sends more, or slower, is
answered and closed at that point.
"""

from __future__ import annotations

import asyncio
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DISCARD_BYTES = 64 * 1024 * 1024  # the most of a refused body read and thrown away
DISCARD_SECONDS = 10.0  # the longest a refused body is read for


class BodyLimit:
    """Answer 413 to any HTTP request whose body is longer than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared > self.max_bytes:
            if declared <= DISCARD_BYTES:
                await _discard(receive, declared)
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                if message.get("more_body", False):
                    await _discard(receive, DISCARD_BYTES - size)
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, send: Send) -> None:
        body = json.dumps({"error": {
            "message": f"the request body is larger than {self.max_bytes:,} bytes",
            "kind": "limit", "span": None}}).encode()
        # Closed after the answer: the rest of the body may not have been read.
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


async def _discard(receive: Receive, max_bytes: int) -> None:
    """Read and drop the rest of the body: at most `max_bytes`, for at most DISCARD_SECONDS."""
    end = time.monotonic() + DISCARD_SECONDS
    while max_bytes > 0:
        try:
            message = await asyncio.wait_for(receive(), end - time.monotonic())
        except TimeoutError:
            return
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            return
        max_bytes -= len(message.get("body", b""))


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the whole body once, then defers to the server's (disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
