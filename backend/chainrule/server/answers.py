"""How every computing endpoint answers, in one place: its turn, its worker, its deadline, its
bytes.

A route calls `await computed(request, library_function, **arguments)`: the app's pool
(api/pool.py) runs `library_function(**arguments, deadline=...)` in a worker process, which
encodes the answer with `encoding.encode_answer` (zstd- or gzip-compressed when the client
accepts it, refused with 422 `limit` once its bytes pass LIMITS.max_answer_bytes) and is
killed and replaced if it runs past the deadline.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response

from .pool import Computations


async def computed(request: Request, function: Callable[..., object],
                   **arguments: object) -> Response:
    """Compute `function(**arguments, deadline=...)` in one of the app's worker processes and
    answer its data as bounded (maybe compressed) JSON."""
    computations: Computations = request.app.state.computations
    return await computations.run(request, function, arguments)
