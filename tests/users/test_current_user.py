"""GET and PUT /api/user: the signed-in user, and what an update changes and refuses."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import PASSWORD, auth, errors, log_in, me, profile, register, update_me

# --- GET /api/user -----------------------------------------------------------------


async def test_current_user_returns_the_same_token(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")

    user = await me(client, token)

    assert user == {
        "email": "alice@example.com",
        "token": token,
        "username": "alice",
        "bio": None,
        "image": None,
        "emailVerified": False,
    }


async def test_current_user_without_token_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/user")

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"token": ["is missing"]}
    assert response.headers.get("WWW-Authenticate")


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
async def test_current_user_accepts_token_and_bearer_schemes(
    client: httpx.AsyncClient, scheme: str
) -> None:
    token = await register(client, "alice")

    response = await client.get("/api/user", headers=auth(token, scheme))

    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "alice"


# --- PUT /api/user -----------------------------------------------------------------


async def test_update_bio_and_image_persists(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")

    response = await update_me(client, token, bio="I write.", image="https://img.example/a.png")

    assert response.status_code == 200, response.text
    assert response.json()["user"]["bio"] == "I write."
    assert response.json()["user"]["image"] == "https://img.example/a.png"
    stored = await me(client, token)
    assert stored["bio"] == "I write."
    assert stored["image"] == "https://img.example/a.png"


@pytest.mark.parametrize(
    ("field", "value"), [("bio", ""), ("image", ""), ("bio", None), ("image", None)]
)
async def test_update_empty_or_null_bio_and_image_clear_them(
    client: httpx.AsyncClient, field: str, value: str | None
) -> None:
    token = await register(client, "alice")
    await update_me(client, token, bio="I write.", image="https://img.example/a.png")

    response = await update_me(client, token, **{field: value})

    assert response.status_code == 200, response.text
    assert response.json()["user"][field] is None
    assert (await me(client, token))[field] is None


async def test_update_only_changes_the_fields_sent(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")
    await update_me(client, token, bio="I write.")

    response = await update_me(client, token, image="http://img.example/a.png")

    assert response.status_code == 200, response.text
    assert response.json()["user"]["bio"] == "I write."


@pytest.mark.parametrize("image", ["javascript:alert(1)", "ftp://example.com/a.png", "a.png"])
async def test_update_image_must_be_an_http_url(client: httpx.AsyncClient, image: str) -> None:
    token = await register(client, "alice")

    response = await update_me(client, token, image=image)

    assert response.status_code == 422, response.text
    assert "image" in errors(response)
    assert (await me(client, token))["image"] is None


@pytest.mark.parametrize("field", ["email", "username", "password"])
async def test_update_null_for_a_required_field_is_refused(
    client: httpx.AsyncClient, field: str
) -> None:
    token = await register(client, "alice")

    response = await update_me(client, token, **{field: None})

    assert response.status_code == 422, response.text
    assert field in errors(response)
    assert (await me(client, token))["username"] == "alice"


async def test_update_short_password_is_refused(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")

    response = await update_me(client, token, password="short7c")

    assert response.status_code == 422, response.text
    assert "password" in errors(response)
    assert "short7c" not in response.text
    assert (await log_in(client)).status_code == 200


@pytest.mark.parametrize("new_password", ["exactly8", "p" * 64])
async def test_update_password_replaces_the_old_one(
    client: httpx.AsyncClient, new_password: str
) -> None:
    token = await register(client, "alice")

    response = await update_me(client, token, password=new_password)

    assert response.status_code == 200, response.text
    assert "password" not in response.json()["user"]
    assert (await log_in(client, password=new_password)).status_code == 200
    assert (await log_in(client, password=PASSWORD)).status_code == 401


@pytest.mark.parametrize(
    ("field", "value", "unchanged"),
    [
        ("username", "bob", "alice"),
        ("username", "BOB", "alice"),
        ("email", "bob@example.com", "alice@example.com"),
        ("email", "Bob@Example.com", "alice@example.com"),
    ],
)
async def test_update_to_another_users_name_or_email_conflicts(
    client: httpx.AsyncClient, field: str, value: str, unchanged: str
) -> None:
    token = await register(client, "alice")
    await register(client, "bob")

    response = await update_me(client, token, **{field: value})

    assert response.status_code == 409, response.text
    assert response.json()["errors"] == {field: ["has already been taken"]}
    assert (await me(client, token))[field] == unchanged


async def test_update_to_own_current_username_and_email_is_fine(
    client: httpx.AsyncClient,
) -> None:
    token = await register(client, "alice")

    response = await update_me(client, token, username="alice", email="alice@example.com")

    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "alice"


async def test_update_username_and_email(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")

    response = await update_me(client, token, username="alicia", email="Alicia@Example.com")

    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "alicia"
    assert response.json()["user"]["email"] == "alicia@example.com"
    assert response.json()["user"]["token"] == token
    assert (await log_in(client, email="alicia@example.com")).status_code == 200
    assert (await profile(client, "alicia")).status_code == 200


async def test_update_without_token_is_unauthorized(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/user", json={"user": {"bio": "x"}})

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"token": ["is missing"]}


@pytest.mark.parametrize("image", ["ftp://example.com/a.png", "https://a\x00b", "javascript:x"])
async def test_update_refuses_an_image_that_is_not_an_http_url(
    client: httpx.AsyncClient, image: str
) -> None:
    token = await register(client, "alice")
    response = await update_me(client, token, image=image)
    assert response.status_code == 422, response.text
    assert list(errors(response)) == ["image"]
