"""Ending sessions: logout ends the current one, logout-all every one of the user, and a
deactivated user's tokens and logins are refused."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import PASSWORD, auth, set_role
from tests.factories.sessions import (
    BAD_CREDENTIALS,
    INVALID_TOKEN,
    assert_access_refused,
    assert_access_works,
    assert_refresh_refused,
    new_session,
    password_grant,
    refresh,
    set_active,
)

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
