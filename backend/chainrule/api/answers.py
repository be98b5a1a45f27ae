"""How every computing endpoint answers, in one place: its turn, its deadline, its bytes.

A route calls `computed(request, lambda deadline: library_call(..., deadline=deadline))`:
- it waits for one of the worker's computation slots (the others wait their turn, blocked, not
  competing for the GIL, which bounds the worker's memory and keeps /healthz answering);
- the deadline (LIMITS.max_seconds) starts once it computes, and covers the encoding too;
- the answer is encoded by `encoding.encode_answer`, zstd- or gzip-compressed when the client
  accepts it, and refused with 422 `limit` once its bytes pass LIMITS.max_answer_bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import Request, Response

from ..encoding import encode_answer, negotiate
from ..errors import Deadline
from ..settings import COMPUTATIONS_PER_WORKER, LIMITS, Limits

_COMPUTING = threading.BoundedSemaphore(COMPUTATIONS_PER_WORKER)


def computed(request: Request, compute: Callable[[Deadline], object],
             limits: Limits = LIMITS) -> Response:
    """Run `compute(deadline)` in turn and answer its data as bounded (maybe gzipped) JSON."""
    with _COMPUTING:
        deadline = Deadline(limits.max_seconds)
        data = compute(deadline)
        encoded = encode_answer(data, max_bytes=limits.max_answer_bytes, deadline=deadline,
                                coding=negotiate(request.headers.get("accept-encoding", "")))
    headers = {"vary": "Accept-Encoding"}
    if encoded.coding:
        headers["content-encoding"] = encoded.coding
    return Response(encoded.body, media_type="application/json", headers=headers)
