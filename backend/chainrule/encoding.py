"""Answers as JSON bytes, bounded in size and in time, compressed when the client accepts it.

The answer is written at once by orjson (compact UTF-8 JSON, floats in their shortest form), five
to ten times faster than the standard library's json: a 50,000-node answer, the largest, in a
fraction of a second. Then its size is compared with the ceiling, and, compressed in chunks of
CHUNK_BYTES, the compressed size and the clock are checked between chunks: an answer too large or
too late is abandoned as soon as that is known, with a `limit` or `timeout` ChainruleError.

Two codings: zstd (RFC 8878; Chrome, Edge and Firefox ask for it) and gzip (every client). On a
10,000-node answer zstd at level 1 takes a quarter of gzip's time at its fastest level and gives
40 to 60 % of its bytes (bench/run.py measures both), so it is preferred where the client asks.
The data holds no NaN or infinite float (values.encode writes them as strings), so nothing is
lost; integers past 64 bits, which orjson refuses, are written by the standard library.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Protocol

import orjson
import zstandard
from pydantic import BaseModel

from .errors import ChainruleError, Deadline

CHUNK_BYTES = 1 << 20  # plain bytes compressed between two checks of the size and the clock
GZIP_LEVEL = 1  # numbers compress about 2-7x at level 1; higher levels cost far more time
ZSTD_LEVEL = 1  # faster than zstd's default (3), and on these answers no larger
MIN_COMPRESSED_BYTES = 1024  # smaller answers are sent as they are
CODINGS = ("zstd", "gzip")  # the Content-Encodings answers can have, the preferred first


class _Compressor(Protocol):
    def compress(self, data: bytes, /) -> bytes: ...
    def flush(self) -> bytes: ...


def _compressor(coding: str) -> _Compressor:
    if coding == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
    return zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)


@dataclass(frozen=True)
class Encoded:
    """An encoded answer: its bytes, their Content-Encoding (None: plain JSON) and its plain
    size."""

    body: bytes
    coding: str | None
    plain_bytes: int


def encode_answer(data: object, *, max_bytes: int, deadline: Deadline | None = None,
                  coding: str | None = None) -> Encoded:
    """Encode `data` (plain JSON data or a pydantic model) as compact UTF-8 JSON, compressed in
    `coding` (one of CODINGS) unless the answer is tiny; raise a `limit` ChainruleError as soon
    as the bytes to send pass `max_bytes`, and the deadline's `timeout` once it is spent."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True)
    plain = _dumps(data)
    _check(deadline)
    if coding is None or len(plain) < MIN_COMPRESSED_BYTES:
        if len(plain) > max_bytes:
            raise ChainruleError(_too_large(max_bytes, coding, compressed=False), None, "limit")
        return Encoded(plain, None, len(plain))
    if coding not in CODINGS:
        raise ValueError(f"unknown coding {coding!r}")
    compressor = _compressor(coding)
    out: list[bytes] = []
    sent = 0
    for start in range(0, len(plain), CHUNK_BYTES):
        out.append(compressor.compress(plain[start:start + CHUNK_BYTES]))
        sent += len(out[-1])
        if sent > max_bytes:
            raise ChainruleError(_too_large(max_bytes, coding, compressed=True), None, "limit")
        _check(deadline)
    out.append(compressor.flush())
    if sent + len(out[-1]) > max_bytes:
        raise ChainruleError(_too_large(max_bytes, coding, compressed=True), None, "limit")
    return Encoded(b"".join(out), coding, len(plain))


def negotiate(accept_encoding: str) -> str | None:
    """The coding to answer in, from a request's Accept-Encoding header: of CODINGS, the one
    with the highest q (`*` stands for those not named, `x-gzip` for gzip), the preferred one
    on a tie; None (plain JSON) when none has q > 0."""
    quality: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        name, *params = (part.strip() for part in item.split(";"))
        quality[{"x-gzip": "gzip"}.get(name, name)] = _q(params)
    admitted = {coding: quality.get(coding, quality.get("*", 0.0)) for coding in CODINGS}
    best = max(CODINGS, key=admitted.__getitem__)  # the first of equals: the preferred one
    return best if admitted[best] > 0 else None


def _q(params: list[str]) -> float:
    """The q value among a coding's parameters (1 when absent, 0 when unreadable)."""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _dumps(value: object) -> bytes:
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:  # an integer past 64 bits (the exact path counts of /paths)
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate the request carried into the answer
        raise ChainruleError("the request holds half of a UTF-16 surrogate pair (a lone "
                             "\\udXXX escape), which is not a character: send valid Unicode "
                             "text", None, "request") from None


def _check(deadline: Deadline | None) -> None:
    if deadline is not None:
        deadline.check()


def _too_large(max_bytes: int, coding: str | None, compressed: bool) -> str:
    size = f"{max_bytes:,} bytes{' compressed' if compressed else ''}"
    hint = "" if coding else (", or accept it compressed (Accept-Encoding: gzip or zstd, as "
                              "browsers do; curl --compressed)")
    return (f"the answer would be larger than {size}, the ceiling of every answer: ask for less "
            f"(a smaller program or fewer steps){hint}")
