"""Sessions: the OAuth2 token endpoint, refresh rotation with reuse detection, logout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import text

from conduit.core.config import Settings
from conduit.core.security import TokenCodec
from tests.factories import PASSWORD, auth, set_role

INVALID_TOKEN = {"token": ["is invalid"]}
BAD_CREDENTIALS = {"credentials": ["invalid"]}


# --- helpers ----------------------------------------------------------------------


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
    """Flip a user's active flag straight in the database (used to make an admin here)."""
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


# --- registration and login hand out a refresh token -----------------------------------


async def test_registration_returns_a_refresh_token_beside_the_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/users",
        json={"user": {"username": "alice", "email": "alice@example.com", "password": PASSWORD}},
    )

    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert user["token"]
    assert user["refreshToken"]
    assert user["refreshToken"] != user["token"]
    refreshed = await refresh(client, user["refreshToken"])
    assert refreshed.status_code == 200, refreshed.text


async def test_login_returns_a_refresh_token_of_a_new_session(
    client: httpx.AsyncClient, alice: str, settings: Settings
) -> None:
    response = await client.post(
        "/api/users/login", json={"user": {"email": "alice@example.com", "password": PASSWORD}}
    )

    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["refreshToken"]
    assert session_id_of(user["token"], settings) != session_id_of(alice, settings)
    refreshed = await refresh(client, user["refreshToken"])
    assert refreshed.status_code == 200, refreshed.text


# --- POST /api/auth/token ------------------------------------------------------------


async def test_password_grant_answers_a_token_pair(
    client: httpx.AsyncClient, alice: str, settings: Settings
) -> None:
    response = await password_grant(client, "alice")

    assert response.status_code == 200, response.text
    body = response.json()
    assert_token_pair(body, settings)
    await assert_access_works(client, body["access_token"], "alice")


async def test_password_grant_access_token_also_works_with_the_token_scheme(
    client: httpx.AsyncClient, alice: str
) -> None:
    pair = await new_session(client, "alice")

    response = await client.get("/api/user", headers=auth(pair["access_token"], "Token"))

    assert response.status_code == 200, response.text


async def test_password_grant_with_wrong_password_is_401(
    client: httpx.AsyncClient, alice: str
) -> None:
    response = await password_grant(client, "alice", "not-the-password")

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == BAD_CREDENTIALS


async def test_password_grant_with_unknown_email_is_401_like_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    response = await password_grant(client, "nobody")

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == BAD_CREDENTIALS


async def test_password_grant_with_missing_fields_is_422(
    client: httpx.AsyncClient, alice: str
) -> None:
    no_password = await client.post("/api/auth/token", data={"username": "alice@example.com"})
    no_username = await client.post("/api/auth/token", data={"password": PASSWORD})
    nothing = await client.post("/api/auth/token", data={})

    for response in (no_password, no_username, nothing):
        assert response.status_code == 422, response.text
        assert "errors" in response.json()
    assert "password" in no_password.json()["errors"]
    assert "username" in no_username.json()["errors"]


async def test_each_password_grant_is_a_separate_session(
    client: httpx.AsyncClient, alice: str, settings: Settings
) -> None:
    first = await new_session(client, "alice")
    second = await new_session(client, "alice")

    assert session_id_of(first["access_token"], settings) != session_id_of(
        second["access_token"], settings
    )
    assert first["refresh_token"] != second["refresh_token"]


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


# --- POST /api/auth/logout -----------------------------------------------------------


async def test_logout_ends_only_the_current_session(client: httpx.AsyncClient, alice: str) -> None:
    session = await new_session(client, "alice")
    other = await new_session(client, "alice")

    response = await client.post("/api/auth/logout", headers=auth(session["access_token"]))

    assert response.status_code == 204, response.text
    assert response.content == b""
    await assert_access_refused(client, session["access_token"])
    await assert_refresh_refused(client, session["refresh_token"])
    await assert_access_works(client, other["access_token"], "alice")
    await assert_access_works(client, alice, "alice")
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_logged_out_token_is_refused_on_every_route(
    client: httpx.AsyncClient, alice: str
) -> None:
    assert (await client.post("/api/auth/logout", headers=auth(alice))).status_code == 204

    again = await client.post("/api/auth/logout", headers=auth(alice))
    # Even on a route where authentication is optional, a dead token is an error.
    articles = await client.get("/api/articles", headers=auth(alice))

    for response in (again, articles):
        assert response.status_code == 401, response.text
        assert response.json()["errors"] == INVALID_TOKEN


async def test_logout_without_a_token_is_401_missing(client: httpx.AsyncClient) -> None:
    for path in ("/api/auth/logout", "/api/auth/logout-all"):
        response = await client.post(path)
        assert response.status_code == 401, response.text
        assert response.json()["errors"] == {"token": ["is missing"]}


# --- POST /api/auth/logout-all ---------------------------------------------------------


async def test_logout_all_ends_every_session_of_the_user(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    second = await new_session(client, "alice")
    third = await new_session(client, "alice")
    rotated = (await refresh(client, third["refresh_token"])).json()

    response = await client.post("/api/auth/logout-all", headers=auth(second["access_token"]))

    assert response.status_code == 204, response.text
    for token in (alice, second["access_token"], third["access_token"], rotated["access_token"]):
        await assert_access_refused(client, token)
    for refresh_token in (second["refresh_token"], rotated["refresh_token"]):
        await assert_refresh_refused(client, refresh_token)
    # Other users keep their sessions; the user can sign in again.
    await assert_access_works(client, bob, "bob")
    await assert_access_works(client, (await new_session(client, "alice"))["access_token"], "alice")


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


# --- deactivated users -----------------------------------------------------------------


async def test_deactivated_user_tokens_are_refused_and_login_is_403(
    client: httpx.AsyncClient, app: Any, alice: str, bob: str
) -> None:
    await set_role(app, "alice", "admin")
    session = await new_session(client, "bob")

    response = await client.patch(
        "/api/admin/users/bob", json={"active": False}, headers=auth(alice)
    )
    assert response.status_code == 200, response.text

    await assert_access_refused(client, bob)
    await assert_access_refused(client, session["access_token"])
    await assert_refresh_refused(client, session["refresh_token"])

    login = await client.post(
        "/api/users/login", json={"user": {"email": "bob@example.com", "password": PASSWORD}}
    )
    assert login.status_code == 403, login.text
    assert "refreshToken" not in login.text
    grant = await password_grant(client, "bob")
    assert grant.status_code == 403, grant.text
    assert "access_token" not in grant.json()


async def test_deactivated_user_with_wrong_password_gets_401(
    client: httpx.AsyncClient, app: Any, bob: str
) -> None:
    await set_active(app, "bob", False)

    login = await client.post(
        "/api/users/login", json={"user": {"email": "bob@example.com", "password": "wrong-one"}}
    )
    grant = await password_grant(client, "bob", "wrong-one")

    for response in (login, grant):
        assert response.status_code == 401, response.text
        assert response.json()["errors"] == BAD_CREDENTIALS


async def test_deactivated_in_the_database_refuses_existing_tokens(
    client: httpx.AsyncClient, app: Any, bob: str
) -> None:
    """The active flag is checked on every request, not only when sessions are revoked."""
    session = await new_session(client, "bob")

    await set_active(app, "bob", False)

    await assert_access_refused(client, bob)
    await assert_refresh_refused(client, session["refresh_token"])


# --- OpenAPI ---------------------------------------------------------------------------


async def test_openapi_documents_the_oauth2_password_flow(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    schemes = response.json()["components"]["securitySchemes"]
    password_flows = [
        scheme["flows"]["password"]
        for scheme in schemes.values()
        if scheme.get("type") == "oauth2" and "password" in scheme.get("flows", {})
    ]
    assert len(password_flows) == 1, schemes
    assert password_flows[0]["tokenUrl"] == "/api/auth/token"


async def test_openapi_token_endpoint_takes_a_form(client: httpx.AsyncClient) -> None:
    operation = (await client.get("/openapi.json")).json()["paths"]["/api/auth/token"]["post"]

    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
