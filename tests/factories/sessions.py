"""Sessions: the OAuth2 password grant, refresh, and the checks of access and refresh
tokens (tests/auth)."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
from sqlalchemy import text

from conduit.core.config import Settings
from tests.factories import PASSWORD, auth

INVALID_TOKEN = {"token": ["is invalid"]}
BAD_CREDENTIALS = {"credentials": ["invalid"]}


async def password_grant(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    """POST /api/auth/token as an OAuth2 client does: a urlencoded form, the e-mail as username."""
    return await client.post(
        "/api/auth/token", data={"username": f"{username}@example.com", "password": password}
    )


async def new_session(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    """A fresh session (a separate login) of a registered user: its token pair."""
    response = await password_grant(client, username)
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refresh_token": refresh_token})


async def assert_access_works(client: httpx.AsyncClient, token: str, username: str) -> None:
    response = await client.get("/api/user", headers=auth(token, "Bearer"))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == username


async def assert_access_refused(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get("/api/user", headers=auth(token, "Bearer"))
    assert response.status_code == 401, response.text
    assert response.json()["errors"] == INVALID_TOKEN
    assert response.headers.get("WWW-Authenticate")


async def assert_refresh_refused(client: httpx.AsyncClient, refresh_token: str) -> None:
    response = await refresh(client, refresh_token)
    assert response.status_code == 401, response.text
    assert "refresh_token" in response.json()["errors"]


async def set_active(app: Any, username: str, active: bool) -> None:
    """Flip a user's active flag straight in the database."""
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET active = :active WHERE username = :username"),
            {"active": active, "username": username},
        )


def session_id_of(token: str, settings: Settings) -> str:
    claims = jwt.decode(token, settings.secret_key, algorithms=["HS256"], issuer="conduit")
    sid: str = claims["sid"]
    return sid


def assert_token_pair(body: dict[str, Any], settings: Settings) -> None:
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]
