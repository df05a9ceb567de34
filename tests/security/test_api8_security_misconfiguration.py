"""OWASP API8:2023 Security Misconfiguration.

Security headers on every kind of response, no server banner (on a real socket), CORS only
for configured origins, JSON endpoints that refuse the content types a cross-site form can
send, no cookies, no absolute redirects built from a forged Host, error bodies in the API's
shape (404 and 405 included, with Allow) that never show a stack trace, SQL, a file path or
framework internals, docs that leak nothing, and production settings that refuse to start
insecurely.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conduit.core.config import DEFAULT_SECRET_KEY, Settings
from conduit.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, auth, create_article, error_body, sign_up
from tests.live import CONDUIT, LiveServer, free_port, start_server
from tests.security.support import leaks_in

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}
BANNERS = ("server", "x-powered-by", "x-aspnet-version", "x-runtime", "via")
REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def assert_error_shape(response: httpx.Response) -> None:
    body = response.json()
    assert set(body) == {"errors", "request_id"}, body
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["errors"], body
    for key, messages in body["errors"].items():
        assert isinstance(key, str)
        assert messages
        assert all(isinstance(message, str) for message in messages)
    assert not leaks_in(response.text), response.text


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


# --- CORS ---------------------------------------------------------------------------------

APP_ORIGIN = "https://app.example"
FOREIGN_ORIGINS = [
    "https://evil.example",
    "null",
    "https://app.example.evil.example",
    "https://evilapp.example",
    "http://app.example",
    "https://app.example:8443",
]


@pytest.mark.parametrize("origin", FOREIGN_ORIGINS)
@pytest.mark.settings(cors_origins=[APP_ORIGIN])
async def test_api8_cors_refuses_a_foreign_origin(client: httpx.AsyncClient, origin: str) -> None:
    simple = await client.get("/api/tags", headers={"Origin": origin})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    preflight = await client.options(
        "/api/user",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code >= 400
    assert "access-control-allow-origin" not in preflight.headers

    allowed = await client.get("/api/tags", headers={"Origin": APP_ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "origin" in allowed.headers.get("vary", "").lower()


async def test_api8_no_cors_at_all_without_configured_origins(client: httpx.AsyncClient) -> None:
    for origin in ("https://app.example", "null", "http://localhost:3000"):
        response = await client.get("/api/tags", headers={"Origin": origin})
        assert not [h for h in response.headers if h.startswith("access-control-")]
        preflight = await client.options(
            "/api/user", headers={"Origin": origin, "Access-Control-Request-Method": "PUT"}
        )
        assert not [h for h in preflight.headers if h.startswith("access-control-")]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
    ids=["text-plain", "form-urlencoded", "multipart", "none"],
)
async def test_api8_json_endpoints_refuse_what_a_cross_site_form_can_send(
    client: httpx.AsyncClient, alice: str, content_type: str
) -> None:
    """A form or `text/plain` POST needs no CORS preflight: such bodies must not be taken
    as JSON, or a foreign page could make a signed-in browser write."""
    body = json.dumps({"article": {"title": "csrf", "description": "d", "body": "b"}}).encode()
    headers = {**auth(alice), "Content-Type": content_type} if content_type else auth(alice)
    for path in ("/api/articles", "/api/users", "/api/users/login", "/api/auth/password-reset"):
        response = await client.post(path, content=body, headers=headers)
        assert response.status_code == 415, (path, response.text)
        assert_error_shape(response)
    assert (await client.get("/api/articles")).json()["articlesCount"] == 0


# --- redirects, 404 and 405 ---------------------------------------------------------------------


async def test_api8_no_redirect_is_built_from_a_forged_host(client: httpx.AsyncClient) -> None:
    """A trailing slash must not earn a redirect to whatever host the request named (a
    cache in front of the API would serve it to everyone)."""
    for path in ("/api/user/", "/api/articles/", "/api/tags/", "/api/v1/tags/", "/docs/"):
        response = await client.get(
            path, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
        )
        assert "evil.example" not in response.headers.get("location", ""), path
        assert "evil.example" not in response.text


NOT_FOUND = [
    "/nowhere",
    "/api",
    "/api/",
    "/api/nowhere",
    "/api/v1/nowhere",
    "/api/articles/slug/unknown/deeper",
    "/API/tags",
]


@pytest.mark.parametrize("path", NOT_FOUND)
async def test_api8_unknown_routes_answer_404_in_the_error_shape(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404, response.text
    assert_error_shape(response)
    assert error_body(response) == {"errors": {"route": ["not found"]}}


WRONG_METHODS = [
    ("DELETE", "/api/tags", "GET, HEAD"),
    ("PATCH", "/api/articles/some-slug", "DELETE, GET, HEAD, PUT"),
    ("GET", "/api/users/login", "POST"),
    ("PUT", "/api/profiles/someone/follow", "DELETE, POST"),
    ("POST", "/api/v1/tags", "GET, HEAD"),
    ("TRACE", "/api/articles", "GET, HEAD, POST"),
    ("GET", "/api/admin/articles/some-slug/restore", "POST"),
]


@pytest.mark.parametrize(
    ("method", "path", "allow"), WRONG_METHODS, ids=[f"{m} {p}" for m, p, _ in WRONG_METHODS]
)
async def test_api8_a_wrong_method_answers_405_with_allow_in_the_error_shape(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert_error_shape(response)
    assert error_body(response) == {"errors": {"method": ["not allowed"]}}


# --- error bodies never show internals ----------------------------------------------------------


async def test_api8_error_bodies_never_show_internals(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice, "Errors"))["slug"]
    json_headers = {"Content-Type": "application/json"}
    attempts = [
        client.get("/api/user"),
        client.get("/api/user", headers=auth("x.y.z")),
        client.get("/api/user", headers={"X-API-Key": "cdt_nope"}),
        client.put(f"/api/articles/{slug}", json={"article": {"body": "x"}}, headers=auth(bob)),
        client.get("/api/articles/missing"),
        client.get("/api/profiles/missing"),
        client.delete(f"/api/articles/{slug}/comments/99999", headers=auth(alice)),
        client.delete(f"/api/articles/{slug}/comments/99999999999999999999", headers=auth(alice)),
        client.post(
            "/api/users",
            json={
                "user": {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
            },
        ),
        client.post("/api/users", content=b'{"user": ', headers=json_headers),
        client.post("/api/users", content=b"\xff\xfe\x00garbage", headers=json_headers),
        client.post("/api/users", content=b'{"user": "\\ud800"}', headers=json_headers),
        client.post("/api/users", content=b"[]", headers=json_headers),
        client.post("/api/users", content=b"null", headers=json_headers),
        client.post("/api/users", content=b'{"user": {"username": 1e999}}', headers=json_headers),
        client.post("/api/users", content=b"x" * 2_000_000, headers=json_headers),
        client.post(
            "/api/articles", content=b"{}", headers={**auth(alice), "Content-Type": "text/xml"}
        ),
        client.get("/api/articles", params={"limit": "'; SELECT 1; --"}),
        client.post("/api/auth/refresh", json={"refresh_token": "nope"}),
        client.post("/api/auth/verify-email/confirm", json={"token": "nope"}),
        client.post(
            "/api/auth/password-reset/confirm", json={"token": "nope", "password": "long-enough-1"}
        ),
        client.get("/api/admin/users", headers=auth(alice)),
        client.delete("/api/api-keys/0", headers=auth(alice)),
        client.get("/api/uploads/..%2F..%2Fetc%2Fpasswd"),
        client.get("/api/uploads/x.png"),
        client.post(
            "/api/uploads", files={"file": ("a.txt", b"not an image")}, headers=auth(alice)
        ),
        client.get("/api/articles/%00"),
        client.request("BREW", "/api/tags"),
    ]
    seen: set[int] = set()
    for attempt in attempts:
        response = await attempt
        assert 400 <= response.status_code < 500, response.text
        assert_error_shape(response)
        seen.add(response.status_code)
    assert seen >= {400, 401, 403, 404, 405, 409, 413, 415, 422}


@pytest.mark.server_error
async def test_api8_an_unhandled_error_shows_nothing_of_its_cause(settings: Settings) -> None:
    app = create_app(settings)

    async def explode() -> None:
        raise RuntimeError(
            'SELECT password_hash FROM users; File "/src/conduit/x.py", line 1 (sqlalchemy)'
        )

    app.add_api_route("/api/explode", explode)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/explode")
    assert response.status_code == 500
    assert_error_shape(response)
    assert error_body(response) == {"errors": {"server": ["internal error"]}}


# --- the docs ------------------------------------------------------------------------------------


async def test_api8_docs_and_schema_leak_no_internals(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    texts = []
    for path in ("/openapi.json", "/docs", "/redoc"):
        response = await client.get(path)
        assert response.status_code == 200
        texts.append(response.text)
    everything = "\n".join(texts)
    for marker in (
        "Traceback",
        "/src/",
        "site-packages",
        "/home/",
        "/root/",
        "/tmp/",  # noqa: S108 - searched for, not used
        "/work/",
        settings.secret_key,
        settings.database_url,
        "sqlite",
        "postgresql",
        "redis://",
        "password_hash",
        "passwordHash",
    ):
        assert marker not in everything, marker
    schema = json.loads(texts[0])
    assert not [path for path in schema["paths"] if path.startswith("/api/v1/")]
    assert "servers" not in schema or all("internal" not in s["url"] for s in schema["servers"])
