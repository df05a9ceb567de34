"""OWASP API8:2023 Security Misconfiguration: cross-origin requests.

CORS only for configured origins, and JSON endpoints that refuse the content types a
cross-site form can send.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.factories import auth
from tests.factories.security import assert_error_shape

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
