"""Signing in starts a session: registration and login answer a refresh token beside the
token, and the OAuth2 password grant (POST /api/auth/token, documented as such) answers the
token pair of a new session."""

from __future__ import annotations

import httpx

from conduit.core.config import Settings
from tests.factories import PASSWORD, auth
from tests.factories.sessions import (
    BAD_CREDENTIALS,
    assert_access_works,
    assert_token_pair,
    new_session,
    password_grant,
    refresh,
    session_id_of,
)

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
