"""POST /api/users/login: credentials in, a working token out; no hint of which part was wrong."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD, assert_error, log_in, me, register


async def test_login_returns_a_working_token(client: httpx.AsyncClient) -> None:
    await register(client, "alice")

    response = await log_in(client)

    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["username"] == "alice"
    assert user["email"] == "alice@example.com"
    assert (await me(client, user["token"]))["username"] == "alice"


async def test_login_wrong_password_is_unauthorized(client: httpx.AsyncClient) -> None:
    await register(client, "alice")

    response = await log_in(client, password="wrong-password")

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"credentials": ["invalid"]}


def _without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    """An error body may carry a per-request id; everything else must match."""
    return {key: value for key, value in body.items() if key != "request_id"}


async def test_login_unknown_email_looks_like_a_wrong_password(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "alice")

    wrong_password = await log_in(client, password="wrong-password")
    unknown_email = await log_in(client, email="nobody@example.com")

    assert unknown_email.status_code == wrong_password.status_code == 401
    assert _without_request_id(unknown_email.json()) == _without_request_id(wrong_password.json())
    assert unknown_email.json()["errors"] == {"credentials": ["invalid"]}


@pytest.mark.parametrize("field", ["email", "password"])
async def test_login_blank_field_is_refused(client: httpx.AsyncClient, field: str) -> None:
    credentials = {"email": "alice@example.com", "password": PASSWORD, field: ""}

    response = await client.post("/api/users/login", json={"user": credentials})

    assert_error(response, 422, field, "can't be blank")


async def test_login_matches_email_case_insensitively(client: httpx.AsyncClient) -> None:
    await register(client, "alice")

    response = await log_in(client, email="ALICE@Example.Com")

    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "alice"
