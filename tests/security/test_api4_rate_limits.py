"""OWASP API4:2023 Unrestricted Resource Consumption: rate limits.

Anonymous requests, signed-in requests per user whatever the credential, and the
authentication endpoints with a strict limit of their own: past the limit, 429 with
Retry-After.
"""

from __future__ import annotations

import httpx
import pytest

from tests.factories import auth, error_body, make_key, sign_up

# --- rate limits -----------------------------------------------------------------------------


@pytest.mark.settings(rate_limit_anon="5/minute")
async def test_api4_anonymous_requests_are_rate_limited(client: httpx.AsyncClient) -> None:
    statuses = [(await client.get("/api/articles")).status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5
    refused = await client.get("/api/tags")
    assert refused.status_code == 429
    assert error_body(refused) == {"errors": {"rate_limit": ["too many requests"]}}
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.settings(rate_limit_user="5/minute")
async def test_api4_signed_in_requests_are_rate_limited_per_user(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice")
    key = await make_key(client, alice["token"], [])
    for _ in range(5):
        await client.get("/api/user", headers=auth(alice["token"]))
    # The same user by another credential shares the bucket.
    for headers in (auth(alice["token"]), {"X-API-Key": key["key"]}):
        refused = await client.get("/api/user", headers=headers)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.settings(rate_limit_auth="3/minute")
async def test_api4_authentication_endpoints_have_a_strict_rate_limit(
    client: httpx.AsyncClient,
) -> None:
    body = {"user": {"email": "nobody@example.com", "password": "whatever-password"}}
    statuses = [(await client.post("/api/users/login", json=body)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    for path, payload in [
        ("/api/users/login", body),
        ("/api/auth/password-reset", {"email": "nobody@example.com"}),
        ("/api/auth/refresh", {"refresh_token": "x"}),
        ("/api/v1/users/login", body),
    ]:
        refused = await client.post(path, json=payload)
        assert refused.status_code == 429, refused.text
