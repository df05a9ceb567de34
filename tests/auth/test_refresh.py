"""Refresh: the pair rotates within its session, a rotated refresh token used again revokes
the whole session, and an access token expires after its lifetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt

from conduit.core.config import Settings
from conduit.core.security import TokenCodec
from tests.factories.sessions import (
    assert_access_refused,
    assert_access_works,
    assert_refresh_refused,
    assert_token_pair,
    new_session,
    refresh,
    session_id_of,
)

# --- POST /api/auth/refresh ------------------------------------------------------------


async def test_refresh_rotates_the_pair(
    client: httpx.AsyncClient, alice: str, settings: Settings
) -> None:
    pair = await new_session(client, "alice")

    response = await refresh(client, pair["refresh_token"])

    assert response.status_code == 200, response.text
    rotated = response.json()
    assert_token_pair(rotated, settings)
    assert rotated["refresh_token"] != pair["refresh_token"]
    await assert_access_works(client, rotated["access_token"], "alice")
    # Same session: rotation does not start a new one.
    assert session_id_of(rotated["access_token"], settings) == session_id_of(
        pair["access_token"], settings
    )


async def test_refresh_chain_keeps_working(client: httpx.AsyncClient, alice: str) -> None:
    refresh_token = (await new_session(client, "alice"))["refresh_token"]
    seen = {refresh_token}

    for _ in range(3):
        response = await refresh(client, refresh_token)
        assert response.status_code == 200, response.text
        refresh_token = response.json()["refresh_token"]
        assert refresh_token not in seen
        seen.add(refresh_token)

    await assert_access_works(client, response.json()["access_token"], "alice")


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(
    client: httpx.AsyncClient, alice: str
) -> None:
    first = await new_session(client, "alice")
    other_session = await new_session(client, "alice")
    rotated = (await refresh(client, first["refresh_token"])).json()

    reuse = await refresh(client, first["refresh_token"])

    assert reuse.status_code == 401, reuse.text
    assert "refresh_token" in reuse.json()["errors"]
    # Every token of that session is dead: the newest pair and the original access token.
    await assert_access_refused(client, rotated["access_token"])
    await assert_access_refused(client, first["access_token"])
    await assert_refresh_refused(client, rotated["refresh_token"])
    # Another session of the same user is untouched.
    await assert_access_works(client, other_session["access_token"], "alice")
    assert (await refresh(client, other_session["refresh_token"])).status_code == 200


async def test_reuse_detection_survives_a_second_attempt(
    client: httpx.AsyncClient, alice: str
) -> None:
    """The revocation is recorded, not rolled back with the refused request."""
    first = await new_session(client, "alice")
    rotated = (await refresh(client, first["refresh_token"])).json()
    await assert_refresh_refused(client, first["refresh_token"])

    await assert_refresh_refused(client, first["refresh_token"])
    await assert_refresh_refused(client, rotated["refresh_token"])
    await assert_access_refused(client, rotated["access_token"])


async def test_unknown_refresh_token_is_401(client: httpx.AsyncClient, alice: str) -> None:
    response = await refresh(client, "not-a-refresh-token-we-issued")

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"refresh_token": ["is invalid"]}


async def test_blank_or_missing_refresh_token_is_422(client: httpx.AsyncClient) -> None:
    blank = await client.post("/api/auth/refresh", json={"refresh_token": ""})
    missing = await client.post("/api/auth/refresh", json={})

    for response in (blank, missing):
        assert response.status_code == 422, response.text
        assert "refresh_token" in response.json()["errors"]


# --- expiry --------------------------------------------------------------------------


async def test_expired_access_token_of_a_live_session_is_refused(
    client: httpx.AsyncClient, alice: str, settings: Settings
) -> None:
    codec = TokenCodec(settings)
    claims = jwt.decode(alice, settings.secret_key, algorithms=["HS256"], issuer="conduit")
    long_ago = datetime.now(UTC) - timedelta(seconds=settings.access_token_ttl + 60)
    expired = codec.encode(claims["sub"], claims["sid"], now=long_ago)
    fresh = codec.encode(claims["sub"], claims["sid"])

    await assert_access_refused(client, expired)
    # The same claims, issued now, work: only the expiry made the difference.
    await assert_access_works(client, fresh, "alice")


async def test_access_token_lifetime_follows_the_setting(
    client: httpx.AsyncClient, alice: str, settings: Settings
) -> None:
    pair = await new_session(client, "alice")

    claims = jwt.decode(
        pair["access_token"], settings.secret_key, algorithms=["HS256"], issuer="conduit"
    )

    assert claims["exp"] - claims["iat"] == settings.access_token_ttl == pair["expires_in"]
