"""Rate limits, who is counted where: per IP for anonymous requests, per user when signed in
(whatever the credential and the address), stricter on the auth endpoints, none on the
operational paths; RateLimit-* headers, and 429 with Retry-After."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.factories import PASSWORD, auth, register
from tests.factories.apps import from_ip
from tests.factories.ratelimits import AUTH_ENDPOINTS, assert_refused, metric


def refused(name: str) -> float:
    return metric("conduit_rate_limited_total", {"limit": name})


# --- anonymous: per IP ----------------------------------------------------------------------


@pytest.mark.settings(rate_limit_anon="3/minute")
async def test_anonymous_requests_are_limited_per_ip(client: httpx.AsyncClient, app: Any) -> None:
    before = refused("anon")
    for remaining in (2, 1, 0):
        response = await client.get("/api/tags")
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "3"
        assert response.headers["RateLimit-Remaining"] == str(remaining)
        assert 1 <= int(response.headers["RateLimit-Reset"]) <= 60

    assert_refused(await client.get("/api/articles"), 3)
    assert refused("anon") == before + 1

    async with from_ip(app, "203.0.113.7") as other:
        response = await other.get("/api/tags")
    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"] == "2"


@pytest.mark.settings(rate_limit_anon="2/minute")
async def test_ipv6_clients_are_counted_by_their_64_network(app: Any) -> None:
    async with from_ip(app, "2001:db8:1:2::1") as first, from_ip(app, "2001:db8:1:2::ff") as same:
        assert (await first.get("/api/tags")).status_code == 200
        assert (await same.get("/api/tags")).status_code == 200
        assert (await same.get("/api/tags")).status_code == 429
    async with from_ip(app, "2001:db8:1:3::1") as other:
        assert (await other.get("/api/tags")).status_code == 200


@pytest.mark.settings(rate_limit_anon="1/minute")
async def test_a_bad_token_counts_as_anonymous(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/tags", headers=auth("not-a-jwt"))).status_code == 200
    assert_refused(await client.get("/api/tags", headers=auth("not-a-jwt")), 1)


# --- signed in: per user --------------------------------------------------------------------


@pytest.mark.settings(rate_limit_user="3/minute", rate_limit_anon="100/minute")
async def test_signed_in_users_have_a_bucket_each_whatever_their_ip(
    client: httpx.AsyncClient, app: Any, alice: str, bob: str
) -> None:
    before = refused("user")
    for remaining in (2, 1):
        response = await client.get("/api/user", headers=auth(alice))
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "3"
        assert response.headers["RateLimit-Remaining"] == str(remaining)
    async with from_ip(app, "1.2.3.4") as elsewhere:
        # The same user from another address shares the bucket ...
        assert (await elsewhere.get("/api/user", headers=auth(alice, "Bearer"))).status_code == 200
        assert_refused(await elsewhere.get("/api/user", headers=auth(alice)), 3)
    assert_refused(await client.get("/api/articles", headers=auth(alice)), 3)
    assert refused("user") == before + 2

    # ... while another user, and anonymous requests from the same address, have their own.
    response = await client.get("/api/user", headers=auth(bob))
    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"] == "2"
    response = await client.get("/api/tags")
    assert response.status_code == 200
    assert response.headers["RateLimit-Limit"] == "100"


@pytest.mark.settings(rate_limit_user="4/minute")
async def test_an_api_key_counts_against_its_owner(client: httpx.AsyncClient, alice: str) -> None:
    body = {"name": "bot", "scopes": ["articles:write"]}
    created = await client.post("/api/api-keys", json=body, headers=auth(alice))  # 1
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    assert (await client.get("/api/user", headers=auth(alice))).status_code == 200  # 2
    assert (await client.get("/api/articles", headers=key)).status_code == 200  # 3
    response = await client.get("/api/articles", headers=key)  # 4: looked up once, then cached
    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"] == "0"
    assert_refused(await client.get("/api/user", headers=auth(alice)), 4)


# --- with the request context ---------------------------------------------------------------


@pytest.mark.settings(rate_limit_anon="1/minute", trusted_proxies="127.0.0.1")
async def test_the_request_context_gives_the_ip_and_learns_the_user(
    client: httpx.AsyncClient, app: Any, alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    # The address is the request context's (resolved behind a trusted proxy), not the socket's.
    first = {"X-Forwarded-For": "192.0.2.10", "X-Request-ID": "req-1"}
    assert (await client.get("/api/tags", headers=first)).status_code == 200
    refusal = await client.get("/api/tags", headers=first)
    assert_refused(refusal, 1)
    assert refusal.json()["request_id"] == "req-1"
    signed_in = {"X-Forwarded-For": "192.0.2.10", **auth(alice)}
    assert (await client.get("/api/user", headers=signed_in)).status_code == 200
    second = {"X-Forwarded-For": "192.0.2.11"}
    assert (await client.get("/api/tags", headers=second)).status_code == 200
    lines = [r.msg for r in caplog.records if r.name == "conduit.access"]
    assert [line["user_id"] for line in lines] == [None, None, await alice_id(app), None]
    assert [line["client_ip"] for line in lines] == ["192.0.2.10"] * 3 + ["192.0.2.11"]


async def alice_id(app: Any) -> int:
    async with app.state.db.engine.connect() as conn:
        found = await conn.scalar(text("SELECT id FROM users WHERE username = 'alice'"))
    return int(found)


# --- auth endpoints: stricter, per IP --------------------------------------------------------


@pytest.mark.settings(rate_limit_auth="3/minute", rate_limit_anon="100/minute")
async def test_auth_endpoints_have_a_stricter_limit_of_their_own(
    client: httpx.AsyncClient, app: Any
) -> None:
    before = refused("auth")
    token = await register(client, "alice")  # 1
    wrong = {"user": {"email": "alice@example.com", "password": "wrong-password"}}
    response = await client.post("/api/users/login", json=wrong)  # 2: failures count too
    assert response.status_code == 401
    assert response.headers["RateLimit-Limit"] == "3"
    response = await client.post("/api/v1/auth/password-reset", json={"email": "a@example.com"})
    assert response.status_code == 202  # 3: the /v1 mirror shares the bucket
    assert response.headers["RateLimit-Remaining"] == "0"

    for path in ("/api/users/login", "/api/auth/token", "/api/auth/refresh", "/api/users"):
        assert_refused(await client.post(path, json=wrong), 3)
    # Signed in or not, the rest of the API is not affected, and nor is another address.
    assert (await client.get("/api/tags")).status_code == 200
    response = await client.get("/api/user", headers=auth(token))
    assert response.status_code == 200
    assert response.headers["RateLimit-Limit"] == "1200"
    async with from_ip(app, "198.51.100.1") as other:
        right = {"user": {"email": "alice@example.com", "password": PASSWORD}}
        assert (await other.post("/api/users/login", json=right)).status_code == 200
    assert refused("auth") == before + 4


@pytest.mark.settings(rate_limit_auth="1/minute")
async def test_every_auth_endpoint_is_in_the_auth_bucket(app: Any) -> None:
    for n, path in enumerate(AUTH_ENDPOINTS):
        async with from_ip(app, f"192.0.2.{n + 1}") as one:
            first = await one.post(f"/api{path}", json={})
            assert first.status_code != 429, path
            assert first.headers["RateLimit-Limit"] == "1", path
            assert (await one.post(f"/api/v1{path}", json={})).status_code == 429, path


# --- exempt paths, disabled ------------------------------------------------------------------


@pytest.mark.settings(rate_limit_anon="1/minute")
async def test_operational_paths_are_not_limited(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/tags")).status_code == 200
    assert (await client.get("/api/tags")).status_code == 429
    for path in ("/health", "/ready", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc"):
        for _ in range(2):
            response = await client.get(path)
            assert response.status_code != 429, path
            assert "RateLimit-Limit" not in response.headers, path
    for _ in range(2):
        assert (await client.get("/openapi.json")).status_code == 200


@pytest.mark.settings(rate_limit_enabled=False, rate_limit_anon="1/minute")
async def test_nothing_is_limited_when_disabled(client: httpx.AsyncClient, alice: str) -> None:
    for _ in range(3):
        response = await client.get("/api/tags")
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response.headers
    assert (await client.get("/api/user", headers=auth(alice))).status_code == 200


def test_limits_are_validated(database_url: str) -> None:
    from tests.conftest import make_settings

    with pytest.raises(ValueError, match="rate_limit_anon"):
        make_settings(database_url, rate_limit_anon="lots")
    assert make_settings(database_url, rate_limit_user="5/second;100/hour").rate_limit_user


@pytest.mark.settings(rate_limit_anon="2/second;3/minute")
async def test_several_limits_at_once_report_the_tightest(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/tags")
    assert first.headers["RateLimit-Limit"] == "2"  # 1 left of 2/second, 2 of 3/minute
    assert first.headers["RateLimit-Remaining"] == "1"
    second = await client.get("/api/tags")
    assert second.status_code == 200
    assert second.headers["RateLimit-Remaining"] == "0"
    third = await client.get("/api/tags")
    assert third.status_code == 429


async def test_concurrent_requests_are_all_counted(client: httpx.AsyncClient) -> None:
    responses = await asyncio.gather(*(client.get("/api/tags") for _ in range(10)))
    remaining = sorted(int(r.headers["RateLimit-Remaining"]) for r in responses)
    assert remaining == list(range(290, 300))
