"""Request ids, security headers, CORS, client IPs behind proxies, the body limit, GZip,
the access log and the last-resort 500 — over HTTP through the whole middleware stack."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conduit.core.clientip import ClientIP
from conduit.core.logging import formatter as log_formatter
from conduit.core.middleware import with_response_headers
from conduit.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, auth, create_article, error_body

HEX_ID = re.compile(r"[0-9a-f]{32}")


async def _client_for(settings: Any, client_addr: tuple[str, int] = ("127.0.0.1", 123)) -> Any:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client_addr)
    return app, httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_request_id_is_generated_and_returned(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/tags")
    second = await client.get("/api/tags")
    assert HEX_ID.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_sane_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tags", headers={"X-Request-ID": "edge-42.abc:7"})
    assert response.headers["x-request-id"] == "edge-42.abc:7"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "has space",
        "<script>",
        "x" * 129,
        "new\\nline",
        "é-accent",
        "../../etc/passwd",
        "a/b",
        "..",
        "v1..2",
    ],
    ids=repr,
)
async def test_an_insane_request_id_is_replaced(client: httpx.AsyncClient, bad: str) -> None:
    headers = [("X-Request-ID", bad.encode("utf-8"))]
    response = await client.get("/api/tags", headers=headers)
    assert HEX_ID.fullmatch(response.headers["x-request-id"])


async def test_error_bodies_carry_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/articles/nope", headers={"X-Request-ID": "trace-1"})
    assert response.status_code == 404
    assert response.json() == {"errors": {"article": ["not found"]}, "request_id": "trace-1"}
    unknown = await client.get("/nowhere")
    assert error_body(unknown) == {"errors": {"route": ["not found"]}}
    invalid = await client.post("/api/users", json={"user": {}})
    assert invalid.status_code == 422
    assert invalid.json()["request_id"] == invalid.headers["x-request-id"]


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/tags", 200),
        ("GET", "/api/articles/missing", 404),
        ("DELETE", "/api/tags", 405),
        ("GET", "/api/user", 401),
        ("GET", "/health", 200),
    ],
)
async def test_security_headers_on_every_response(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # not in development/test


async def test_responses_with_credentials_are_not_stored(client: httpx.AsyncClient) -> None:
    user = {"username": "nora", "email": "nora@example.com", "password": PASSWORD}
    registered = await client.post("/api/users", json={"user": user})
    assert registered.headers["cache-control"] == "no-store"
    login = {"user": {"email": "nora@example.com", "password": PASSWORD}}
    logged_in = await client.post("/api/users/login", json=login)
    assert logged_in.headers["cache-control"] == "no-store"
    token = logged_in.json()["user"]["token"]
    current = await client.get("/api/user", headers=auth(token))
    assert current.headers["cache-control"] == "no-store"


def test_a_response_keeps_its_own_headers_and_gets_one_request_id() -> None:
    defaults = [(b"cache-control", b"no-store"), (b"x-frame-options", b"DENY")]
    sent = [
        (b"content-type", b"application/json"),
        (b"Cache-Control", b"no-cache"),
        (b"x-request-id", b"from-the-app"),
        (b"X-Request-ID", b"another"),
    ]
    assert with_response_headers(sent, b"req-1", defaults) == [
        (b"content-type", b"application/json"),
        (b"Cache-Control", b"no-cache"),
        (b"x-request-id", b"req-1"),
        (b"x-frame-options", b"DENY"),
    ]


async def test_production_adds_hsts(database_url: str) -> None:
    settings = make_settings(
        database_url, environment="production", secret_key="p" * 40, mail_embedded_worker=False
    )
    _, client = await _client_for(settings)
    async with client:
        response = await client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


# --- CORS ---------------------------------------------------------------------------


@pytest.fixture
async def cors_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, cors_origins="https://app.example")
    _, client = await _client_for(settings)
    async with client:
        yield client


async def test_cors_allows_the_configured_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.get("/api/tags", headers={"Origin": "https://app.example"})
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()
    preflight = await cors_client.options(
        "/api/articles",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in preflight.headers["access-control-allow-methods"]


async def test_cors_ignores_a_foreign_origin(cors_client: httpx.AsyncClient) -> None:
    response = await cors_client.get("/api/tags", headers={"Origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    preflight = await cors_client.options(
        "/api/articles",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers


async def test_no_cors_headers_without_configuration(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tags", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_a_wildcard_origin_never_allows_credentials(database_url: str) -> None:
    _, client = await _client_for(make_settings(database_url, cors_origins='["*"]'))
    async with client:
        response = await client.get("/api/tags", headers={"Origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


# --- client IP ------------------------------------------------------------------------


def test_forwarded_for_is_ignored_unless_the_peer_is_trusted() -> None:
    nobody = ClientIP([])
    assert nobody.resolve("10.0.0.5", "203.0.113.9") == "10.0.0.5"
    proxies = ClientIP(["10.0.0.0/8", "::1"])
    assert proxies.resolve("198.51.100.1", "203.0.113.9") == "198.51.100.1"
    assert proxies.resolve("10.0.0.5", "203.0.113.9") == "203.0.113.9"
    # A client that forges the header gets only its own address attributed.
    assert proxies.resolve("10.0.0.5", "1.2.3.4, 203.0.113.9") == "203.0.113.9"
    # Proxy chains: skip every trusted hop from the right.
    assert proxies.resolve("10.0.0.5", "203.0.113.9, 10.1.1.1") == "203.0.113.9"
    assert proxies.resolve("::1", "2001:db8::7") == "2001:db8::7"
    assert proxies.resolve("10.0.0.5", "garbage, 203.0.113.9") == "203.0.113.9"
    assert proxies.resolve("10.0.0.5", "203.0.113.9, garbage") == "10.0.0.5"


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if r.name == "conduit.access" and isinstance(r.msg, dict)]


async def test_access_log_uses_the_trusted_proxy_client_ip(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    trusted = make_settings(database_url, trusted_proxies="127.0.0.1")
    _, client = await _client_for(trusted)
    async with client:
        await client.get("/api/tags", headers={"X-Forwarded-For": "203.0.113.9"})
    untrusted = make_settings(database_url)
    _, client = await _client_for(untrusted)
    async with client:
        await client.get("/api/tags", headers={"X-Forwarded-For": "203.0.113.9"})
    ips = [line["client_ip"] for line in _access_lines(caplog)]
    assert ips == ["203.0.113.9", "127.0.0.1"]


async def test_one_access_line_per_request(
    client: httpx.AsyncClient, alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    article = await create_article(client, alice)
    response = await client.get(f"/api/v1/articles/{article['slug']}", headers=auth(alice))
    lines = _access_lines(caplog)
    assert [line["route"] for line in lines] == [
        "/api/articles",
        "/api/v1/articles/{slug}",
    ]
    last = lines[-1]
    assert last["request_id"] == response.headers["x-request-id"]
    assert last["method"] == "GET"
    assert last["status"] == 200
    assert last["path"] == f"/api/v1/articles/{article['slug']}"
    assert isinstance(last["duration_ms"], float)
    assert "user_id" in last


# --- body limit and compression --------------------------------------------------------


@pytest.fixture
async def small_body_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app, client = await _client_for(make_settings(database_url, max_body_bytes=2000))
    async with app.router.lifespan_context(app), client:
        yield client


async def test_a_declared_oversized_body_is_refused(small_body_client: httpx.AsyncClient) -> None:
    response = await small_body_client.post(
        "/api/users",
        content=b"{" + b" " * 5000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_body(response) == {"errors": {"body": ["is too large (maximum is 2000 bytes)"]}}


async def test_a_chunked_oversized_body_is_refused_while_reading(
    small_body_client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1000
            yield b" " * 1000

    response = await small_body_client.post(
        "/api/users", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"] == {"body": ["is too large (maximum is 2000 bytes)"]}
    assert sent < 10_000  # the server stopped reading early


async def test_a_body_under_the_limit_passes(small_body_client: httpx.AsyncClient) -> None:
    user = {"username": "ivy", "email": "ivy@example.com", "password": PASSWORD}
    assert (await small_body_client.post("/api/users", json={"user": user})).status_code == 201


async def test_large_responses_are_compressed(client: httpx.AsyncClient, alice: str) -> None:
    for n in range(12):
        await create_article(client, alice, title=f"Story {n}", description="d" * 100)
    response = await client.get("/api/articles", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["articles"]) == 12
    small = await client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


# --- the last-resort 500 ---------------------------------------------------------------


@pytest.mark.server_error
async def test_an_unhandled_error_is_a_500_logged_once_with_its_request_id(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = await _client_for(make_settings(database_url))

    async def explode() -> None:
        raise RuntimeError("boom: secret internals")

    app.add_api_route("/explode", explode)
    async with client:
        response = await client.get("/explode", headers={"X-Request-ID": "crash-1"})
    assert response.status_code == 500
    assert response.json() == {"errors": {"server": ["internal error"]}, "request_id": "crash-1"}
    assert response.headers["x-request-id"] == "crash-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    crashes = [r for r in caplog.records if r.name == "conduit.errors"]
    assert len(crashes) == 1
    assert crashes[0].exc_info is not None
    line = json.loads(log_formatter(json_lines=True).format(crashes[0]))
    assert line["request_id"] == "crash-1"
    assert "RuntimeError" in line["exception"]


@pytest.mark.parametrize("enabled", [False, True])
async def test_fastapis_opentelemetry_looks_for_a_provider_only_when_enabled(
    settings: Any, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    from opentelemetry import trace

    asked: list[bool] = []
    real = trace.get_tracer_provider

    def recording() -> Any:
        asked.append(True)
        return real()

    monkeypatch.setattr(trace, "get_tracer_provider", recording)
    app, client = await _client_for(settings.model_copy(update={"otel_enabled": enabled}))
    async with app.router.lifespan_context(app), client:
        assert (await client.get("/api/tags")).status_code == 200
    assert bool(asked) is enabled
