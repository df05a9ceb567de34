"""OWASP API8:2023 Security Misconfiguration: headers.

Security headers on every kind of response, no credential cached or sent as a cookie, no
unsafe request id reflected, HSTS and a refusal to start with a weak secret key in
production, and on a real socket: no server banner, and no response header written by a
request.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conduit.core.config import DEFAULT_SECRET_KEY
from conduit.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, auth, sign_up
from tests.live import CONDUIT, LiveServer, free_port, start_server

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
BANNERS = ("server", "x-powered-by", "x-aspnet-version", "x-runtime", "via")
REQUEST_ID = re.compile(r"[0-9a-f]{32}")


# --- headers ----------------------------------------------------------------------------------

RESPONSES: list[tuple[str, str, Any, int]] = [
    ("GET", "/api/tags", None, 200),
    ("POST", "/api/users", {"user": {}}, 422),
    ("GET", "/api/user", None, 401),
    ("GET", "/api/articles/nope", None, 404),
    ("GET", "/api/nowhere", None, 404),
    ("DELETE", "/api/tags", None, 405),
    ("GET", "/health", None, 200),
    ("GET", "/openapi.json", None, 200),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"), RESPONSES, ids=[f"{m} {p}" for m, p, _, _ in RESPONSES]
)
async def test_api8_security_headers_on_every_kind_of_response(
    client: httpx.AsyncClient, method: str, path: str, body: Any, status: int
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == status, response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    # Nothing is stored by a cache, except the public reads that revalidate (ETag).
    expected = "no-cache" if (method, path) == ("GET", "/api/tags") else "no-store"
    assert response.headers["cache-control"] == expected
    assert REQUEST_ID.fullmatch(response.headers["x-request-id"])
    for banner in BANNERS:
        assert banner not in response.headers
    assert "set-cookie" not in response.headers


async def test_api8_credentials_are_never_cached_or_sent_as_cookies(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice")
    responses = [
        await client.post(
            "/api/users/login",
            json={"user": {"email": "alice@example.com", "password": PASSWORD}},
        ),
        await client.get("/api/user", headers=auth(alice["token"])),
        await client.post("/api/auth/refresh", json={"refresh_token": alice["refreshToken"]}),
        await client.post("/api/api-keys", json={"name": "k"}, headers=auth(alice["token"])),
    ]
    for response in responses:
        assert response.is_success, response.text
        assert response.headers["cache-control"] == "no-store"
        assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "request_id",
    ["<script>alert(1)</script>", "a b", "x" * 129, "id;rm -rf /", "é"],
    ids=["html", "space", "too-long", "shell", "non-ascii"],
)
async def test_api8_an_unsafe_request_id_is_never_reflected(
    client: httpx.AsyncClient, request_id: str
) -> None:
    response = await client.get("/api/nowhere", headers={b"X-Request-ID": request_id.encode()})
    assert REQUEST_ID.fullmatch(response.headers["x-request-id"])
    assert request_id not in response.text


async def test_api8_production_adds_hsts(database_url: str) -> None:
    settings = make_settings(database_url, environment="production", secret_key="p" * 40)
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as client:
        response = await client.get("/api/tags")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert app.debug is False


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "short-secret"], ids=["default", "short"])
def test_api8_production_refuses_a_weak_secret_key(tmp_path: Path, secret: str) -> None:
    env = {
        **os.environ,
        "ENVIRONMENT": "production",
        "SECRET_KEY": secret,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        "SMTP_PASSWORD": "smtp-password-never-shown",
        "METRICS_TOKEN": "metrics-token-never-shown",
    }
    result = subprocess.run(  # noqa: S603 - our own command
        [CONDUIT, "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).decode()
    assert "SECRET_KEY" in output
    # The refusal names the setting, never the values read (they end up in logs).
    for value in (secret, "smtp-password-never-shown", "metrics-token-never-shown"):
        assert value not in output


# --- a real socket ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("api8"),
        extra_env={"ENVIRONMENT": "production", "MAX_BODY_BYTES": "2048"},
    )
    yield live
    live.terminate()
    assert "Traceback" not in live.log()


def raw(server: LiveServer, request: bytes) -> bytes:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_api8_a_real_server_sends_no_banner_on_any_answer(server: LiveServer) -> None:
    answers = [
        raw(server, b"GET /api/tags HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        raw(server, b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        raw(server, b"TRACE /api/tags HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        raw(
            server,
            b"POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\nConnection: close\r\n\r\n" + b" " * 5000,
        ),
        raw(server, b"GARBAGE\r\n\r\n"),  # not HTTP at all: uvicorn answers by itself
    ]
    for answer in answers:
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert head.startswith(b"http/1.1 "), answer[:200]
        assert b"\r\nserver:" not in head, head
        assert b"uvicorn" not in answer.lower()
        assert b"x-powered-by" not in head
    statuses = [answer.split(b" ", 2)[1] for answer in answers]
    assert statuses[:4] == [b"200", b"404", b"405", b"413"]
    assert b"strict-transport-security: max-age=" in answers[0].lower()


def test_api8_a_real_server_never_lets_a_request_write_response_headers(
    server: LiveServer,
) -> None:
    """CR/LF smuggled into the path or the query (encoded) comes back as data, never as a
    header of the response."""
    for target in (
        b"/api/articles?tag=x%0d%0aSet-Cookie:%20injected=1",
        b"/api/articles/x%0d%0aSet-Cookie:%20injected=1",
        b"/api/user/%0d%0aSet-Cookie:%20injected=1/",
        b"/api/profiles/x%0d%0aLocation:%20https://evil.example",
    ):
        answer = raw(
            server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert b"\r\nset-cookie:" not in head, head
        assert b"injected" not in head
        assert b"evil.example" not in head


def test_api8_a_real_server_answers_a_bare_cr_or_lf_in_a_header_with_400(
    server: LiveServer,
) -> None:
    answer = raw(
        server,
        b"GET /api/tags HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\rSet-Cookie: b=1\r\n"
        b"Connection: close\r\n\r\n",
    )
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 400"), answer[:200]
    assert b"set-cookie" not in head
