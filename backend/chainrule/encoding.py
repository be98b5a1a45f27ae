"""Answers as JSON bytes, bounded in size and in time, gzip-compressed when the client accepts it.

`json.dumps` of a whole answer is one C call that nothing can interrupt: a 50 MB answer took
seconds, past any deadline, and its size was known only at the end. So the answer is encoded in
pieces (each key of an object, a few hundred items of a list at a time), and between pieces the
running size is compared with the ceiling and the clock with the deadline: an answer too large or
too late is abandoned as soon as that is known, with a `limit` or `timeout` ChainruleError.
The pieces are encoded by orjson (5-10 times faster than the standard library's json): compact
UTF-8 JSON, floats in their shortest form. The data holds no NaN or infinite float (values.encode
writes them as strings), so nothing is lost.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import orjson
from pydantic import BaseModel

from .errors import ChainruleError, Deadline

ITEMS_PER_PIECE = 256  # list items encoded by one call of the encoder
FLUSH_BYTES = 256 * 1024  # plain bytes handed to the compressor at once
GZIP_LEVEL = 1  # numbers compress about 2-7x at level 1; higher levels cost far more time
GZIP_MIN_BYTES = 1024  # smaller answers are sent as they are


def _dumps(value: object) -> bytes:
    """Compact JSON bytes by orjson, or by the standard library for what orjson refuses:
    integers past 64 bits (the exact path counts of /paths)."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode()


@dataclass(frozen=True)
class Encoded:
    """An encoded answer: its bytes (gzip-compressed when `gzip` is true) and its plain size."""

    body: bytes
    gzip: bool
    plain_bytes: int


def encode_answer(data: object, *, max_bytes: int, deadline: Deadline | None = None,
                  gzip: bool = False) -> Encoded:
    """Encode `data` (plain JSON data or a pydantic model) as compact UTF-8 JSON, gzip-compressed
    if `gzip` and the answer is not tiny; raise a `limit` ChainruleError as soon as the bytes to
    send pass `max_bytes`, and the deadline's `timeout` once it is spent."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True)
    sink = _Sink(max_bytes, gzip)
    for piece in _pieces(data):
        sink.add(piece)
        if deadline is not None:
            deadline.check()
    return sink.finish()


class _Sink:
    """Collects the pieces, compressing them once the answer is past GZIP_MIN_BYTES, and counts
    the bytes that would be sent."""

    def __init__(self, max_bytes: int, gzip: bool) -> None:
        self.max_bytes, self.gzip = max_bytes, gzip
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.plain_bytes = 0
        self.out: list[bytes] = []
        self.sent_bytes = 0
        self.compressor: zlib._Compress | None = None

    def add(self, piece: bytes) -> None:
        self.pending.append(piece)
        self.pending_bytes += len(piece)
        self.plain_bytes += len(piece)
        if self.pending_bytes >= FLUSH_BYTES:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        chunk = b"".join(self.pending)
        self.pending, self.pending_bytes = [], 0
        if self.gzip and self.compressor is None and self.plain_bytes >= GZIP_MIN_BYTES:
            self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        if self.compressor is not None:
            chunk = self.compressor.compress(chunk)
            if final:
                chunk += self.compressor.flush()
        self.out.append(chunk)
        self.sent_bytes += len(chunk)
        if self.sent_bytes > self.max_bytes:
            raise ChainruleError(self._too_large(), None, "limit")

    def _too_large(self) -> str:
        size = f"{self.max_bytes:,} bytes{' compressed' if self.compressor else ''}"
        hint = "" if self.gzip else (", or accept it gzip-compressed (Accept-Encoding: gzip, "
                                     "as browsers do; curl --compressed)")
        return (f"the answer would be larger than {size}, the ceiling of every answer: ask "
                f"for less (a smaller program or fewer steps){hint}")

    def finish(self) -> Encoded:
        self._flush(final=True)
        return Encoded(b"".join(self.out), self.compressor is not None, self.plain_bytes)


def _pieces(value: object) -> Iterator[bytes]:
    """The JSON text of `value` in pieces, none holding more than ITEMS_PER_PIECE list items."""
    if isinstance(value, Mapping):
        yield b"{"
        for k, (key, item) in enumerate(value.items()):
            yield (b"," if k else b"") + _dumps(key) + b":"
            yield from _pieces(item)
        yield b"}"
    elif isinstance(value, list) and len(value) <= ITEMS_PER_PIECE and value and isinstance(
            value[0], Mapping | list):  # a few items, each maybe large: one at a time
        yield b"["
        for k, item in enumerate(value):
            if k:
                yield b","
            yield from _pieces(item)
        yield b"]"
    elif isinstance(value, list) and len(value) > ITEMS_PER_PIECE:
        yield b"["
        for start in range(0, len(value), ITEMS_PER_PIECE):
            part = _dumps(value[start:start + ITEMS_PER_PIECE])[1:-1]
            yield (b"," if start else b"") + part
        yield b"]"
    else:
        yield _dumps(value)
