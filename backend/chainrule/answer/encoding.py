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

import itertools
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import orjson
import zstandard
from pydantic import BaseModel

from ..errors import ChainruleError, Deadline

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


class Records:
    """A list in an answer whose items are still to be made (v1's backward steps): written as
    they come, so that the size cap and the deadline are checked while they are rendered."""

    def __init__(self, items: Iterable[object]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[object]:
        return iter(self.items)


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
    if coding is not None and coding not in CODINGS:
        raise ValueError(f"unknown coding {coding!r}")
    sink = _Sink(coding, max_bytes, deadline)
    for piece in _pieces(data):
        sink.write(piece)
    return sink.finish()


class _Sink:
    """Bytes of JSON as they are written: compressed (once past MIN_COMPRESSED_BYTES, when a
    coding is asked for) in chunks of at most CHUNK_BYTES, the size to send and the clock
    checked after each chunk."""

    def __init__(self, coding: str | None, max_bytes: int, deadline: Deadline | None) -> None:
        self.coding, self.max_bytes, self.deadline = coding, max_bytes, deadline
        self.plain: list[bytes] = []  # uncompressed, until there is enough to compress
        self.plain_bytes = 0
        self.compressor: _Compressor | None = None
        self.out: list[bytes] = []
        self.sent = 0

    def write(self, piece: bytes) -> None:
        _check(self.deadline)
        self.plain_bytes += len(piece)
        if self.compressor is None:
            self.plain.append(piece)
            if self.coding is None:
                self._within(self.plain_bytes, compressed=False)
                return
            if self.plain_bytes < MIN_COMPRESSED_BYTES:
                return
            self.compressor = _compressor(self.coding)
            piece, self.plain = b"".join(self.plain), []
        for start in range(0, len(piece), CHUNK_BYTES):
            self.out.append(self.compressor.compress(piece[start:start + CHUNK_BYTES]))
            self.sent += len(self.out[-1])
            self._within(self.sent, compressed=True)
            _check(self.deadline)

    def finish(self) -> Encoded:
        _check(self.deadline)
        if self.compressor is None:
            return Encoded(b"".join(self.plain), None, self.plain_bytes)
        self.out.append(self.compressor.flush())
        self._within(self.sent + len(self.out[-1]), compressed=True)
        return Encoded(b"".join(self.out), self.coding, self.plain_bytes)

    def _within(self, size: int, compressed: bool) -> None:
        if size > self.max_bytes:
            raise ChainruleError(_too_large(self.max_bytes, self.coding, compressed), None,
                                 "limit")


RECORDS_AT_ONCE = 256  # records of a Records list encoded in one call


def _pieces(data: object) -> Iterator[bytes]:
    """`data` as JSON, in pieces: the whole at once, unless it is a dict holding Records,
    whose items are encoded RECORDS_AT_ONCE at a time as they are made."""
    if not (isinstance(data, dict) and any(isinstance(v, Records) for v in data.values())):
        yield _dumps(data)
        return
    yield b"{"
    for k, (key, value) in enumerate(data.items()):
        yield (b"," if k else b"") + _dumps(key) + b":"
        if not isinstance(value, Records):
            yield _dumps(value)
            continue
        yield b"["
        items = iter(value)
        first = True
        while batch := list(itertools.islice(items, RECORDS_AT_ONCE)):
            yield (b"" if first else b",") + _dumps(batch)[1:-1]
            first = False
        yield b"]"
    yield b"}"


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
