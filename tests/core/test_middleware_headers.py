"""The middleware stack's headers, over HTTP: request ids (made, echoed when sane, carried by
error bodies), security headers and Cache-Control on every response (HSTS in production),
and CORS for the configured origins only."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from conduit.core.middleware import with_response_headers
from tests.conftest import make_settings
from tests.factories import PASSWORD, auth, error_body
from tests.factories.apps import client_for

HEX_ID = re.compile(r"[0-9a-f]{32}")


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
    _, client = await client_for(settings)
    async with client:
        response = await client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


# --- CORS ---------------------------------------------------------------------------


@pytest.fixture
async def cors_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, cors_origins="https://app.example")
    _, client = await client_for(settings)
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
    _, client = await client_for(make_settings(database_url, cors_origins='["*"]'))
    async with client:
        response = await client.get("/api/tags", headers={"Origin": "https://any.example"})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
