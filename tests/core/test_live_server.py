"""A real `conduit serve` process: oversized bodies are refused without being read, and
SIGTERM lets a slow request finish."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.factories import PASSWORD
from tests.live import LiveServer, start_server

MIB = 1024 * 1024


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path)
    yield live
    live.terminate()


def _raw_request(url: str, head: bytes, chunk: bytes | None, max_bytes: int) -> tuple[bytes, int]:
    """Send `head`, then `chunk` repeatedly (HTTP chunked framing) until the server answers or
    `max_bytes` went out. Returns (response bytes, body bytes sent)."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        while chunk is not None and sent < max_bytes:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.settimeout(5)
        response = b""
        try:
            while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
                data = sock.recv(65536)
                if not data:
                    break
                response += data
        except (ConnectionResetError, TimeoutError):
            pass
    return response, sent


def _answers_quickly(url: str) -> float:
    started = time.monotonic()
    assert httpx.get(f"{url}/health", timeout=5).status_code == 200
    return time.monotonic() - started


def test_a_50_mib_chunked_body_is_refused_without_being_buffered(server: LiveServer) -> None:
    head = (
        b"POST /api/users HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    response, sent = _raw_request(server.url, head, b" " * 65536, 50 * MIB)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b'"body":["is too large (maximum is 1048576 bytes)"]' in response
    assert b"x-request-id:" in response.lower()
    assert sent < 8 * MIB, f"the server read {sent} bytes before refusing"
    assert _answers_quickly(server.url) < 1.0


def test_a_declared_50_mib_body_is_refused_before_it_is_sent(server: LiveServer) -> None:
    head = (
        b"POST /api/articles HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {50 * MIB}\r\n\r\n".encode()
    )
    response, _ = _raw_request(server.url, head, None, 0)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert _answers_quickly(server.url) < 1.0


# --- graceful shutdown ----------------------------------------------------------------


def test_sigterm_lets_a_slow_request_finish(tmp_path: Path) -> None:
    # Registration hashes the password with deliberately costly Argon2id settings: a real
    # request that takes a second or more.
    live = start_server(
        tmp_path, extra_env={"ARGON2_TIME_COST": "8", "ARGON2_MEMORY_COST": "131072"}
    )
    result: dict[str, httpx.Response] = {}
    user = {"username": "slowpoke", "email": "slow@example.com", "password": PASSWORD}

    def register() -> None:
        result["response"] = httpx.post(f"{live.url}/api/users", json={"user": user}, timeout=30)

    thread = threading.Thread(target=register)
    thread.start()
    deadline = time.monotonic() + 10
    while True:  # wait until the server reports the registration in flight (plus this scrape)
        metrics = httpx.get(f"{live.url}/metrics").text
        if "conduit_http_requests_in_flight 2.0" in metrics:
            break
        assert time.monotonic() < deadline, "the slow request never started"
        time.sleep(0.02)
    code = None
    try:
        started = time.monotonic()
        live.process.send_signal(15)  # SIGTERM
        time.sleep(0.3)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{live.url}/health", timeout=2)  # no longer accepting
        thread.join(timeout=30)
        code = live.process.wait(timeout=30)
    finally:
        if code is None:
            live.process.kill()
    response = result["response"]
    assert response.status_code == 201, response.text
    assert response.json()["user"]["username"] == "slowpoke"
    # uvicorn re-raises the signal once it has shut down cleanly: the exit status says
    # "terminated by SIGTERM", as a supervisor expects.
    assert code in {0, -15}
    assert time.monotonic() - started < 30
    log = live.log()
    assert "Traceback" not in log
    assert "Application shutdown complete" in log
    assert "Finished server process" in log
