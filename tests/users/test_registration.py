"""POST /api/users: registration, its conflicts, and the input it refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD, assert_error, errors, me, register


async def sign_up(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    user = {"username": "alice", "email": "alice@example.com", "password": PASSWORD, **fields}
    return await client.post("/api/users", json={"user": user})


async def test_register_returns_the_new_user_with_a_token(client: httpx.AsyncClient) -> None:
    response = await sign_up(client)

    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert set(user) == {
        "email",
        "token",
        "refreshToken",
        "username",
        "bio",
        "image",
        "emailVerified",
    }
    assert user["username"] == "alice"
    assert user["email"] == "alice@example.com"
    assert user["bio"] is None
    assert user["image"] is None
    assert user["token"].count(".") == 2


async def test_register_token_authenticates(client: httpx.AsyncClient) -> None:
    token = (await sign_up(client)).json()["user"]["token"]

    assert (await me(client, token))["username"] == "alice"


async def test_register_duplicate_username_conflicts(client: httpx.AsyncClient) -> None:
    await register(client, "alice")

    response = await sign_up(client, email="other@example.com")

    assert response.status_code == 409, response.text
    assert response.json()["errors"] == {"username": ["has already been taken"]}


async def test_register_duplicate_email_conflicts(client: httpx.AsyncClient) -> None:
    await register(client, "alice")

    response = await sign_up(client, username="someone")

    assert response.status_code == 409, response.text
    assert response.json()["errors"] == {"email": ["has already been taken"]}


async def test_register_username_differing_only_in_case_conflicts(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "alice")

    response = await sign_up(client, username="Alice", email="other@example.com")

    assert_error(response, 409, "username", "has already been taken")


async def test_register_email_in_other_case_conflicts(client: httpx.AsyncClient) -> None:
    await register(client, "alice")

    response = await sign_up(client, username="someone", email="ALICE@Example.com")

    assert_error(response, 409, "email", "has already been taken")


async def test_register_normalises_email_to_lower_case(client: httpx.AsyncClient) -> None:
    response = await sign_up(client, email="Alice.Smith@Example.COM")

    assert response.status_code == 201, response.text
    assert response.json()["user"]["email"] == "alice.smith@example.com"


@pytest.mark.parametrize("field", ["username", "email", "password"])
async def test_register_blank_field_is_refused(client: httpx.AsyncClient, field: str) -> None:
    response = await sign_up(client, **{field: ""})

    assert_error(response, 422, field, "can't be blank")


@pytest.mark.parametrize("field", ["username", "email", "password"])
async def test_register_missing_field_is_refused(client: httpx.AsyncClient, field: str) -> None:
    user = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
    del user[field]

    response = await client.post("/api/users", json={"user": user})

    assert_error(response, 422, field, "can't be blank")


async def test_register_short_password_is_refused_without_echoing_it(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_up(client, password="zQ7!xkq")  # 7 characters

    assert response.status_code == 422, response.text
    assert list(errors(response)) == ["password"]
    assert "zQ7!xkq" not in response.text


async def test_register_invalid_email_is_refused_without_echoing_it(
    client: httpx.AsyncClient,
) -> None:
    response = await sign_up(client, email="not-an-email-qzxv")

    assert_error(response, 422, "email", "is invalid")
    assert "qzxv" not in response.text


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("alice@mail.test", 201),  # RFC 6761: `.test` names are used like any other
        ("alice@example.invalid", 422),  # special-use domains that never receive mail
        ("alice@localhost", 422),
        ("alice@printer.local", 422),
    ],
)
async def test_register_special_use_domains(
    client: httpx.AsyncClient, email: str, status: int
) -> None:
    response = await sign_up(client, email=email)
    assert response.status_code == status, response.text


async def test_register_invalid_username_is_not_echoed(client: httpx.AsyncClient) -> None:
    response = await sign_up(client, username="bad name <qzxv>")

    assert response.status_code == 422, response.text
    assert "username" in errors(response)
    assert "qzxv" not in response.text


async def test_register_without_user_envelope_is_refused(client: httpx.AsyncClient) -> None:
    flat = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}

    response = await client.post("/api/users", json=flat)

    assert_error(response, 422, "user", "can't be blank")


async def test_register_ignores_extra_fields(client: httpx.AsyncClient) -> None:
    response = await sign_up(client, role="admin", bio="sneaky")

    assert response.status_code == 201, response.text
    user = response.json()["user"]
    assert "role" not in user
    assert user["bio"] is None
