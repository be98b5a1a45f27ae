"""Where the server computes: a pool of worker processes, each computation killable.

The event loop only reads requests, queues them and answers. Every computation (parse, graph,
sweeps, check, encoding) runs in one of `workers` processes of a pebble ProcessPool:
- its own deadline (LIMITS.max_seconds) stops it from inside, as in the Python API; should a
  loop miss it, the pool kills the worker KILL_GRACE seconds later and starts another, and the
  client gets the same 503 `timeout`;
- each worker's address space is capped (`memory_mb` above what it holds idle): a computation
  that asks for more gets a MemoryError, answered 422 `limit`;
- a client that leaves cancels its computation (a running one is killed with its worker);
- at most `workers + queue` requests are admitted; the next is refused at once with a 429 and
  `Retry-After`, never held open;
- a heavy request (a body of LIGHT_BYTES or more: a long program or big arrays) may take all
  workers but one, so that a typical expression never waits behind network-sized work.
Workers come from a forkserver that has imported the library once, so a replacement starts in
milliseconds, forked from a process with no threads.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import math
import multiprocessing
import os
import pickle
import resource
import signal
import time
from collections.abc import Callable, Mapping
from concurrent.futures import BrokenExecutor, CancelledError
from concurrent.futures import TimeoutError as PoolTimeout
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from pebble import ProcessExpired, ProcessPool

from ..answer.encoding import MIN_COMPRESSED_BYTES, encode_answer, negotiate
from ..errors import ChainruleError, Deadline
from ..settings import GC_THRESHOLDS, LIMITS, Limits

KILL_GRACE = 1.0  # seconds past the deadline before the pool kills a computation's worker
TRIM_AFTER_BYTES = 1 << 20  # after an answer this large (or a failure), memory is given back
LIGHT_BYTES = 16 * 1024  # a request body under this is light: it may use the reserved worker
HEAVY_POLL_SECONDS = 0.005  # how often a waiting heavy request looks for a free slot
PRELOAD = ["chainrule.differentiate", "chainrule.analyses.methods", "chainrule.optimize",
           "chainrule.grading"]  # in the forkserver
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back: the encoded answer, or a user's mistake (ChainruleError's
    fields: exceptions with their own constructor do not always survive pickling)."""

    body: bytes = b""
    coding: str | None = None
    error: tuple[str, tuple[int, int] | None, str] | None = None


def compute(function: Callable[..., object], kwargs: Mapping[str, Any], coding: str | None,
            limits: Limits, fork: bool = False) -> Outcome:
    """In a worker: `function(**kwargs, limits=limits, deadline=...)`, encoded; a
    ChainruleError or a MemoryError as an Outcome's error. With `fork`, in a child of the
    worker that exits once it has sent its outcome: a heavy computation's memory goes back to
    the system whole (a Python process keeps much of what it once used), and the worker stays
    as small as it was."""
    if fork:
        try:
            return _in_child(lambda: compute(function, kwargs, coding, limits))
        finally:
            _return_memory()  # what the request's arguments and the answer's bytes took
    large = True  # a computation that failed may have held much
    try:
        deadline = Deadline(limits.max_seconds)
        data = function(**kwargs, limits=limits, deadline=deadline)
        encoded = encode_answer(data, max_bytes=limits.max_answer_bytes, deadline=deadline,
                                coding=coding)
        large = encoded.plain_bytes > TRIM_AFTER_BYTES
        return Outcome(encoded.body, encoded.coding)
    except ChainruleError as err:
        return Outcome(error=(err.message, err.span, err.kind))
    except MemoryError:
        message = ("the computation needed more memory than a worker may use (its address "
                   f"space is capped at {_cap_mb():,} MB): use smaller arrays or a smaller "
                   "program")
        return Outcome(error=(message, None, "limit"))
    finally:
        if large:
            _return_memory()


def _in_child(call: Callable[[], Outcome]) -> Outcome:
    """`call()` in a forked child of this worker, its outcome read back through a pipe. The
    child dies with the worker (PR_SET_PDEATHSIG), so killing the worker stops it too."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, exit without running any cleanup of the parent's
        status = 1
        try:
            os.close(read)
            if _LIBC is not None:
                _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            with os.fdopen(write, "wb") as pipe:
                pipe.write(pickle.dumps(call()))
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not data:  # killed (the kernel's OOM killer) or crashed before it could answer
        message = (f"the computation's process ended without an answer (wait status "
                   f"{status}): it may have run out of memory; try a smaller program")
        return Outcome(error=(message, None, "limit"))
    outcome: Outcome = pickle.loads(data)  # our own child's bytes
    return outcome


def _start_worker(memory_mb: int) -> None:
    """In each new worker: the server's garbage-collector thresholds (a large answer makes
    millions of short-lived objects: with Python's defaults the collector costs a third of
    the request), and its address space capped at what it holds now plus `memory_mb`."""
    gc.set_threshold(*GC_THRESHOLDS)
    if memory_mb > 0:
        cap = _address_space() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _cap_mb() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return -1 if soft == resource.RLIM_INFINITY else soft // (1024 * 1024)


def _return_memory() -> None:
    """Give freed heap back to the system (glibc keeps it otherwise), so that a worker's
    memory returns near its idle level after a large computation."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc
        return None


_LIBC = _libc()


class _PoolBroke(Exception):
    """The pool broke while a computation waited for it (see Computations._compute)."""


class Busy(Exception):
    """Every worker is busy and the queue is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("busy")
        self.retry_after = retry_after


class Computations:
    """The server's pool of worker processes, started at the first computation (or at the
    app's startup) and stopped at its shutdown."""

    def __init__(self, workers: int, queue: int, memory_mb: int,
                 limits: Limits = LIMITS) -> None:
        self.workers = max(1, workers)
        self.queue = max(0, queue)
        self.memory_mb = memory_mb
        self.limits = limits
        self.pool: ProcessPool | None = None
        self.admitted: dict[int, float] = {}  # requests computing or waiting -> since when
        # Heavy requests in the pool at once: all workers but one, which light ones keep.
        self.heavy_slots = max(1, self.workers - 1)
        self.heavy = 0
        self.recent = 0.05  # seconds a request took, smoothed (for Retry-After)

    def start(self) -> ProcessPool:
        """The pool, started if it is not running. A pool broken by a crash (pebble counts a
        worker that dies while idle as one) is stopped and replaced."""
        if self.pool is not None and not self.pool.active:
            self.stop()
        if self.pool is None:
            os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core a worker
            os.environ.setdefault("OMP_NUM_THREADS", "1")
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            self.pool = ProcessPool(max_workers=self.workers, initializer=_start_worker,
                                    initargs=(self.memory_mb,), context=context)
        return self.pool

    def stop(self) -> None:
        """Kill the workers, whatever they compute (the server is stopping, or the pool is
        broken): pebble's stop only marks the pool, its join ends the workers."""
        if self.pool is not None:
            self.pool.stop()
            self.pool.join()
            self.pool = None

    async def run(self, request: Request, function: Callable[..., object],
                  kwargs: Mapping[str, Any]) -> Response:
        """Compute `function(**kwargs, deadline=...)` in a worker and answer its bytes."""
        if len(self.admitted) >= self.workers + self.queue:
            raise Busy(self._retry_after())
        key = id(request)
        self.admitted[key] = time.monotonic()
        coding = negotiate(request.headers.get("accept-encoding", ""))
        try:
            if len(await request.body()) < LIGHT_BYTES:
                outcome = await self._compute(request, (function, kwargs, coding, self.limits))
            else:  # in a child of the worker, which gives all its memory back as it exits
                outcome = await self._heavy(request,
                                            (function, kwargs, coding, self.limits, True))
        finally:
            took = time.monotonic() - self.admitted.pop(key)
            self.recent = 0.8 * self.recent + 0.2 * took
        if outcome.error is not None:
            message, span, kind = outcome.error
            raise ChainruleError(message, span, kind)
        headers = {}
        if outcome.coding:
            headers["content-encoding"] = outcome.coding
        if outcome.coding or len(outcome.body) < MIN_COMPRESSED_BYTES:
            # Otherwise the app's GZipMiddleware says it (and would say it twice).
            headers["vary"] = "Accept-Encoding"
        return Response(outcome.body, media_type="application/json", headers=headers)

    async def _heavy(self, request: Request, args: tuple[Any, ...]) -> Outcome:
        """`_compute` once fewer than `heavy_slots` heavy requests are in the pool. (A count
        polled, not an asyncio.Semaphore: that binds to one event loop, and the app may be
        called from several, as the tests' client does.) The server gives back the memory
        its body and answer took once it is done with them."""
        while self.heavy >= self.heavy_slots:
            await asyncio.sleep(HEAVY_POLL_SECONDS)
        self.heavy += 1
        try:
            return await self._compute(request, args)
        finally:
            self.heavy -= 1
            asyncio.get_running_loop().call_soon(_return_memory)

    async def _compute(self, request: Request, args: tuple[Any, ...]) -> Outcome:
        """`compute(*args)` in a worker: its outcome; the computation cancelled (its worker
        killed if it runs) when the client leaves first or the request is cancelled (the
        server stops). A pool that broke under it (pebble breaks its pool when a worker it
        stopped for another request is found dead) is replaced and the computation, which
        has no effects, is sent once more."""
        try:
            return await self._compute_once(request, args)
        except _PoolBroke:
            return await self._compute_once(request, args, retry=False)

    async def _compute_once(self, request: Request, args: tuple[Any, ...],
                            retry: bool = True) -> Outcome:
        future = self.start().schedule(compute, args=args,
                                       timeout=self.limits.max_seconds + KILL_GRACE)
        result: asyncio.Future[Any] = asyncio.wrap_future(future)
        left: asyncio.Future[Any] = asyncio.ensure_future(_disconnected(request))
        try:
            await asyncio.wait({result, left}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            future.cancel()
            raise
        finally:
            left.cancel()
        if not result.done():
            future.cancel()
            raise ChainruleError("the client left: the computation was stopped", None,
                                 "cancelled")
        try:
            outcome: Outcome = result.result()
        except PoolTimeout:
            raise ChainruleError(
                f"the computation took longer than {self.limits.max_seconds:g} s and was "
                "stopped (its worker process was ended and replaced); try a smaller graph or "
                "skip the finite-difference check", None, "timeout") from None
        except BrokenExecutor:
            if retry:
                raise _PoolBroke from None
            raise ChainruleError(
                "the workers' pool broke while computing this (a worker was killed from "
                "outside) and was replaced; send the request again", None, "timeout") from None
        except ProcessExpired as err:
            raise ChainruleError(
                f"the worker computing this ended abnormally (exit code {err.exitcode}; a "
                "computation over the worker's memory is ended so) and was replaced; try a "
                "smaller graph", None, "timeout") from None
        except CancelledError:
            raise ChainruleError("the computation was cancelled", None, "cancelled") from None
        return outcome

    def _retry_after(self) -> int:
        """Seconds until a worker is likely free: the queue ahead, at the recent pace."""
        ahead = len(self.admitted) / self.workers
        return max(1, min(math.ceil(self.limits.max_seconds), math.ceil(ahead * self.recent)))

    def longest_wait(self) -> float:
        """The longest a request can be admitted: its turn behind a full queue, each ahead
        killed at the latest at its deadline, then its own computation. The slowest lane is
        the heavy one (`heavy_slots` at a time), so every admitted request may be ahead of it
        there."""
        rounds = math.ceil((self.workers + self.queue) / self.heavy_slots)
        return rounds * (self.limits.max_seconds + KILL_GRACE)

    def health(self) -> tuple[bool, dict[str, object]]:
        """Whether the workers can take work, and the numbers that say so. Not healthy: the
        pool is broken, or a request has been admitted for longer than any can be (a
        computation nothing stopped)."""
        oldest = max((time.monotonic() - t for t in self.admitted.values()), default=0.0)
        stuck = oldest > self.longest_wait() + 5
        try:
            self.start()  # a broken pool is replaced here, not at the next request
            broken = False
        except Exception:  # noqa: BLE001 - whatever stops a pool from starting
            broken = True
        admitted = len(self.admitted)
        busy = min(admitted, self.workers)
        return not (stuck or broken), {
            "status": "stuck" if stuck else "broken" if broken else "ok",
            "workers": self.workers, "busy": busy, "waiting": admitted - busy,
            "queue": self.queue,
            "accepting": admitted < self.workers + self.queue and not (stuck or broken),
            "oldest_request_seconds": round(oldest, 3),
            "deadline_seconds": self.limits.max_seconds}


async def _disconnected(request: Request) -> None:
    """Return once the client has disconnected (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
