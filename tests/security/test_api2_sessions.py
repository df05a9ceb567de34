"""OWASP API2:2023 Broken Authentication: ended sessions and accounts.

Credentials of sessions ended by logout, logout-all, refresh-token reuse or a password
change, and of deactivated or deleted users, are refused everywhere.
"""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from conduit.core.config import Settings
from tests.factories import auth, log_in, make_key, sign_up
from tests.factories.security import refused_everywhere
from tests.security.support import set_standing, staff_token


async def test_api2_ended_sessions_stay_ended(client: httpx.AsyncClient) -> None:
    """Logout, logout-all and refresh-token reuse each end access and refresh at once."""
    first = await sign_up(client, "alice")
    assert (await client.post("/api/auth/logout", headers=auth(first["token"]))).status_code == 204
    await refused_everywhere(client, auth(first["token"]))
    spent = await client.post("/api/auth/refresh", json={"refresh_token": first["refreshToken"]})
    assert spent.status_code == 401

    second = (await log_in(client, "alice@example.com")).json()["user"]
    third = (await log_in(client, "alice@example.com")).json()["user"]
    assert (
        await client.post("/api/auth/logout-all", headers=auth(second["token"]))
    ).status_code == 204
    for ended in (second, third):
        await refused_everywhere(client, auth(ended["token"]))

    # A stolen refresh token used after its owner rotated it revokes the whole session.
    fourth = (await log_in(client, "alice@example.com")).json()["user"]
    rotated = await client.post("/api/auth/refresh", json={"refresh_token": fourth["refreshToken"]})
    assert rotated.status_code == 200
    replay = await client.post("/api/auth/refresh", json={"refresh_token": fourth["refreshToken"]})
    assert replay.status_code == 401
    await refused_everywhere(client, auth(rotated.json()["access_token"]))
    again = await client.post(
        "/api/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert again.status_code == 401


async def test_api2_a_deactivated_users_tokens_keys_and_login_are_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await staff_token(client, settings, "root")
    alice = await sign_up(client, "alice")
    key = await make_key(client, alice["token"], ["articles:write"])

    await set_standing(client, admin, "alice", active=False)

    await refused_everywhere(client, auth(alice["token"]))
    by_key = await client.get("/api/user", headers={"X-API-Key": key["key"]})
    assert by_key.status_code == 401, by_key.text
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": alice["refreshToken"]}
    )
    assert refreshed.status_code == 401
    login = await log_in(client, "alice@example.com")
    assert login.status_code == 403, login.text
    assert "token" not in login.text

    # Reactivation lets her log in again but does not revive the old session.
    await set_standing(client, admin, "alice", active=True)
    await refused_everywhere(client, auth(alice["token"]))
    assert (await log_in(client, "alice@example.com")).status_code == 200


async def test_api2_a_deleted_users_token_does_not_reach_whoever_comes_next(
    client: httpx.AsyncClient, app: Any
) -> None:
    """After the account row is gone, its token is refused, even when a new account takes
    the same id (SQLite reuses the highest rowid)."""
    alice = await sign_up(client, "alice")
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE username = 'alice'"))
    await refused_everywhere(client, auth(alice["token"]))

    mallory = await sign_up(client, "mallory")
    await refused_everywhere(client, auth(alice["token"]))
    me = await client.get("/api/user", headers=auth(mallory["token"]))
    assert me.json()["user"]["username"] == "mallory"


async def test_api2_a_changed_password_ends_every_other_session(client: httpx.AsyncClient) -> None:
    """Whoever holds a stolen session loses it when the owner changes the password; the
    session that made the change carries on."""
    alice = await sign_up(client, "alice")
    thief = (await log_in(client, "alice@example.com")).json()["user"]

    response = await client.put(
        "/api/user", json={"user": {"password": "a-new-password-1"}}, headers=auth(alice["token"])
    )
    assert response.status_code == 200, response.text

    await refused_everywhere(client, auth(thief["token"]))
    stolen = await client.post("/api/auth/refresh", json={"refresh_token": thief["refreshToken"]})
    assert stolen.status_code == 401
    assert (await client.get("/api/user", headers=auth(alice["token"]))).status_code == 200
    assert (await log_in(client, "alice@example.com")).status_code == 401
    assert (await log_in(client, "alice@example.com", "a-new-password-1")).status_code == 200
