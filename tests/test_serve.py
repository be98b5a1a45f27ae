"""The production server command, as docker-compose.yml and `make serve-prod` run it: uvicorn
computing in two worker processes, on a free loopback port; its answers, its body limit on a
real socket, and a killed worker replaced while the others keep answering."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator

import httpx
import pytest
import requests
from chainrule.settings import MAX_BODY_BYTES

from .servers import ROOT, running_server, workers_of

WORKERS = 2


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with running_server(CHAINRULE_WORKERS=str(WORKERS)) as (url, proc):
        yield url, proc


def test_compose_and_make_run_this_command() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "build: ." in compose  # the image of the Dockerfile, whose command is chainrule serve
    assert 'CMD ["chainrule", "serve"]' in dockerfile
    recipe = re.search(r"^serve-prod:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe and "-m chainrule.server" in recipe.group(1)


def test_chainrule_serve_is_this_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule import cli, settings
    from chainrule.server import main as serve

    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(serve, "serve", lambda *args: calls.append(args))
    assert cli.main(["serve"]) == 0
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "3"]) == 0
    assert calls == [(settings.HOST, settings.PORT, settings.WORKERS), ("0.0.0.0", 8123, 3)]


def test_server_answers_health_and_backprop_with_its_workers(server) -> None:
    url, proc = server
    health = httpx.get(f"{url}/healthz").json()
    assert health["status"] == "ok" and health["workers"] == WORKERS and health["accepting"]
    r = httpx.post(f"{url}/api/v1/backprop", json={"source": "x*y", "values": {"x": 2, "y": 3}})
    assert r.status_code == 200
    assert r.json()["gradients"] == {"x": 3.0, "y": 2.0}
    assert len(workers_of(proc.pid)) == WORKERS


def _chunked_post(port: int, chunks: Iterable[bytes]) -> bytes:
    """POST a chunked body (no Content-Length) on a raw socket, stopping early if the server
    answers before the body is complete; return the raw response."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /api/v1/backprop HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for chunk in chunks:
                if select.select([s], [], [], 0)[0]:
                    break  # answered already
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            else:
                s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed while the body was still coming
        response = b""
        while not response.rstrip().endswith(b"}"):
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            response += data
        return response


def test_chunked_body_over_the_limit_is_413_on_a_real_socket(server) -> None:
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    chunk = b" " * 65536
    start = time.monotonic()
    response = _chunked_post(port, (chunk for _ in range(2 * MAX_BODY_BYTES // len(chunk))))
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b'"kind": "limit"' in response
    assert time.monotonic() - start < 10


def test_chunked_body_under_the_limit_is_answered(server) -> None:
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    response = _chunked_post(port, [b'{"source": "x*x", ', b'"values": {"x": 3}}'])
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert b'"gradients":{"x":6.0}' in response


BIG_BODY = b'{"source": "x", "values": {"x": 1}, "padding": "' + b" " * (15 << 20) + b'"}'
JSON_TYPE = {"content-type": "application/json"}


def _in_chunks(body: bytes, size: int = 65536) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start:start + size]


def _urllib(url: str, body: bytes | Iterable[bytes]) -> tuple[int, bytes]:
    # An iterable body without a length is sent chunked by urllib.
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=JSON_TYPE),
                                    timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _requests(url: str, body: bytes | Iterable[bytes]) -> tuple[int, bytes]:
    response = requests.post(url, data=body, headers=JSON_TYPE, timeout=60)
    return response.status_code, response.content


def _httpx(url: str, body: bytes | Iterable[bytes]) -> tuple[int, bytes]:
    response = httpx.post(url, content=body, headers=JSON_TYPE, timeout=60)
    return response.status_code, response.content


CLIENTS: dict[str, Callable[[str, bytes | Iterable[bytes]], tuple[int, bytes]]] = {
    "urllib.request": _urllib, "requests": _requests, "httpx": _httpx}


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("client", CLIENTS.values(), ids=CLIENTS.keys())
def test_python_clients_read_the_413_of_a_15_mb_body(server, client, chunked: bool) -> None:
    url, _ = server
    status, body = client(f"{url}/api/v1/backprop",
                          _in_chunks(BIG_BODY) if chunked else BIG_BODY)
    assert status == 413
    error = json.loads(body)["error"]
    assert error["kind"] == "limit" and f"{MAX_BODY_BYTES:,} bytes" in error["message"]


def test_a_killed_worker_is_replaced_and_the_others_keep_answering(server) -> None:
    url, proc = server
    victim = workers_of(proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    for _ in range(20):
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    end = time.monotonic() + 30
    while time.monotonic() < end:
        workers = workers_of(proc.pid)
        if len(workers) == WORKERS and victim not in workers:
            break
        time.sleep(0.2)
    assert len(workers_of(proc.pid)) == WORKERS and victim not in workers_of(proc.pid)
