"""Running the real server in tests: a free port, waiting for its health, its processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port of 127.0.0.1 free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes] | None = None,
                 seconds: float = 60) -> None:
    """Return once `url`/healthz answers 200; raise if `process` exits first or the time is
    up (polling the server's start-up, not the page)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url}/healthz did not answer within {seconds:.0f} s")


def stop(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Stop a server the tests started: terminate, then kill if it is still there after
    `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def children(pid: int) -> list[tuple[int, bytes]]:
    """The child processes of `pid`, each with its command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append((int(entry.name), cmdline))
    return found


def workers_of(pid: int) -> list[int]:
    """The server's worker processes: the children of its forkserver (a child of the server
    running multiprocessing's forkserver), which forks each one."""
    servers = [child for child, cmdline in children(pid) if b"forkserver" in cmdline]
    return [worker for server in servers for worker, _ in children(server)]


ROOT = Path(__file__).resolve().parents[1]
SERVE = [sys.executable, "-m", "chainrule.server"]


@contextmanager
def running_server(**env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m chainrule.server` on a free loopback port with these environment variables
    (CHAINRULE_WORKERS=..., ...); its URL and process, stopped (SIGINT, then killed) after."""
    port = free_port()
    proc = subprocess.Popen(SERVE, env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port),
                                        **env},
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, proc
    finally:
        stop(proc, 20)
