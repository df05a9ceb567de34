"""How long a sign-in lasts: a RealWorld client (no refresh) stays signed in for the life
of its session, which ends when idle too long, at its absolute expiry, or at once on logout,
logout-all, password change or deactivation. Clients that refresh keep short access tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import jwt
import pytest

from conduit.core.config import Settings
from conduit.core.security import TokenCodec
from tests.factories import PASSWORD, auth, register
from tests.factories.sessions import new_session, refresh

INVALID = {"token": ["is invalid"]}
SIGNED_IN_READS = ("/api/user", "/api/articles", "/api/articles/feed", "/api/profiles/alice")


def claims_of(token: str, settings: Settings) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token, settings.secret_key, algorithms=["HS256"], issuer="conduit"
    )
    return claims


async def assert_signed_in(client: httpx.AsyncClient, token: str) -> None:
    for path in SIGNED_IN_READS:
        response = await client.get(path, headers=auth(token))
        assert response.status_code == 200, (path, response.text)


async def assert_signed_out(client: httpx.AsyncClient, token: str) -> None:
    for path in SIGNED_IN_READS:
        response = await client.get(path, headers=auth(token))
        assert response.status_code == 401, (path, response.text)
        assert response.json()["errors"] == INVALID


@pytest.mark.settings(access_token_ttl=1)
async def test_a_realworld_token_outlives_the_access_token_lifetime(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    registered = await register(client, "alice")
    login = await client.post(
        "/api/users/login", json={"user": {"email": "alice@example.com", "password": PASSWORD}}
    )
    pair = await new_session(client, "alice")  # an OAuth2 client's short access token
    claims = claims_of(login.json()["user"]["token"], settings)
    assert claims["exp"] == claims["iat"] + settings.refresh_token_ttl  # type: ignore[operator]

    await asyncio.sleep(2.1)  # past the access-token lifetime

    await assert_signed_in(client, registered)
    await assert_signed_in(client, login.json()["user"]["token"])
    short = await client.get("/api/user", headers=auth(pair["access_token"], "Bearer"))
    assert short.status_code == 401
    assert (await refresh(client, pair["refresh_token"])).status_code == 200


@pytest.mark.settings(session_idle_ttl=2)
async def test_a_session_in_use_outlives_its_idle_lifetime_and_ends_once_left_idle(
    client: httpx.AsyncClient,
) -> None:
    token = await register(client, "alice")
    for _ in range(5):  # 3 s of use in all, longer than the idle lifetime
        await asyncio.sleep(0.6)
        assert (await client.get("/api/articles", headers=auth(token))).status_code == 200

    await assert_signed_in(client, token)
    await asyncio.sleep(2.3)  # idle for longer than the idle lifetime

    await assert_signed_out(client, token)


@pytest.mark.settings(session_idle_ttl=2)
async def test_refreshing_is_use_and_an_idle_session_cannot_be_refreshed(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "alice")
    pair = await new_session(client, "alice")
    for _ in range(4):  # refreshes only, for longer than the idle lifetime
        await asyncio.sleep(0.7)
        response = await refresh(client, pair["refresh_token"])
        assert response.status_code == 200, response.text
        pair = response.json()

    await asyncio.sleep(2.3)

    refused = await refresh(client, pair["refresh_token"])
    assert refused.status_code == 401
    assert refused.json()["errors"] == {"refresh_token": ["is invalid"]}


async def test_logout_ends_a_realworld_token_at_once(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")
    await assert_signed_in(client, token)

    assert (await client.post("/api/auth/logout", headers=auth(token))).status_code == 204

    await assert_signed_out(client, token)


async def test_a_password_change_ends_the_other_realworld_sessions_at_once(
    client: httpx.AsyncClient,
) -> None:
    token = await register(client, "alice")
    other = (
        await client.post(
            "/api/users/login", json={"user": {"email": "alice@example.com", "password": PASSWORD}}
        )
    ).json()["user"]["token"]
    changed = await client.put(
        "/api/user", json={"user": {"password": "a-new-password-1"}}, headers=auth(token)
    )
    assert changed.status_code == 200, changed.text

    await assert_signed_in(client, token)
    await assert_signed_out(client, other)


async def test_refreshes_in_the_same_second_give_distinct_tokens(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    codec = TokenCodec(settings)
    now = datetime.now(UTC)
    first, second = (codec.encode("1", "0" * 32, now=now) for _ in range(2))
    assert first != second
    assert claims_of(first, settings)["jti"] != claims_of(second, settings)["jti"]

    await register(client, "alice")
    pair = await new_session(client, "alice")
    again = (await refresh(client, pair["refresh_token"])).json()
    thrice = (await refresh(client, again["refresh_token"])).json()
    tokens = {pair["access_token"], again["access_token"], thrice["access_token"]}
    assert len(tokens) == 3
    assert len({claims_of(token, settings)["jti"] for token in tokens}) == 3
