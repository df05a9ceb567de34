"""Registration, login, the current user and profiles, over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD, auth, register

# --- helpers ----------------------------------------------------------------------


def errors(response: httpx.Response) -> dict[str, list[str]]:
    body: dict[str, list[str]] = response.json()["errors"]
    return body


def assert_error(response: httpx.Response, status: int, key: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert message in errors(response).get(key, []), response.text


async def sign_up(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    user = {"username": "alice", "email": "alice@example.com", "password": PASSWORD, **fields}
    return await client.post("/api/users", json={"user": user})


async def log_in(
    client: httpx.AsyncClient, email: str = "alice@example.com", password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/users/login", json={"user": {"email": email, "password": password}}
    )


async def update_me(client: httpx.AsyncClient, token: str, **fields: Any) -> httpx.Response:
    return await client.put("/api/user", json={"user": fields}, headers=auth(token))


async def me(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get("/api/user", headers=auth(token))
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


async def profile(
    client: httpx.AsyncClient, username: str, token: str | None = None
) -> httpx.Response:
    headers = auth(token) if token else {}
    return await client.get(f"/api/profiles/{username}", headers=headers)


async def follow(
    client: httpx.AsyncClient, username: str, token: str | None, method: str = "POST"
) -> httpx.Response:
    headers = auth(token) if token else {}
    return await client.request(method, f"/api/profiles/{username}/follow", headers=headers)


# --- POST /api/users ---------------------------------------------------------------


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


@pytest.mark.parametrize("image", ["ftp://example.com/a.png", "https://a\x00b", "javascript:x"])
async def test_update_refuses_an_image_that_is_not_an_http_url(
    client: httpx.AsyncClient, image: str
) -> None:
    token = await register(client, "alice")
    response = await update_me(client, token, image=image)
    assert response.status_code == 422, response.text
    assert list(errors(response)) == ["image"]


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


# --- POST /api/users/login ---------------------------------------------------------


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


# --- profiles ----------------------------------------------------------------------


async def test_profile_anonymous(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")
    await update_me(client, token, bio="I write.")

    response = await profile(client, "alice")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "profile": {"username": "alice", "bio": "I write.", "image": None, "following": False}
    }


async def test_profile_signed_in_not_following(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    bob = await register(client, "bob")

    response = await profile(client, "alice", bob)

    assert response.status_code == 200, response.text
    assert response.json()["profile"]["following"] is False


async def test_profile_unknown_is_not_found(client: httpx.AsyncClient) -> None:
    response = await profile(client, "nobody")

    assert response.status_code == 404, response.text
    assert response.json()["errors"] == {"profile": ["not found"]}


async def test_follow_and_unfollow_persist(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    bob = await register(client, "bob")

    followed = await follow(client, "alice", bob)
    assert followed.status_code == 200, followed.text
    assert followed.json()["profile"]["username"] == "alice"
    assert followed.json()["profile"]["following"] is True
    assert (await profile(client, "alice", bob)).json()["profile"]["following"] is True
    assert (await profile(client, "alice")).json()["profile"]["following"] is False

    unfollowed = await follow(client, "alice", bob, method="DELETE")
    assert unfollowed.status_code == 200, unfollowed.text
    assert unfollowed.json()["profile"]["following"] is False
    assert (await profile(client, "alice", bob)).json()["profile"]["following"] is False


async def test_following_is_one_way(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")

    await follow(client, "alice", bob)

    assert (await profile(client, "bob", alice)).json()["profile"]["following"] is False


async def test_follow_twice_and_unfollow_twice_are_fine(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    bob = await register(client, "bob")

    for _ in range(2):
        response = await follow(client, "alice", bob)
        assert response.status_code == 200, response.text
        assert response.json()["profile"]["following"] is True
    for _ in range(2):
        response = await follow(client, "alice", bob, method="DELETE")
        assert response.status_code == 200, response.text
        assert response.json()["profile"]["following"] is False


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_follow_unknown_user_is_not_found(client: httpx.AsyncClient, method: str) -> None:
    bob = await register(client, "bob")

    response = await follow(client, "nobody", bob, method=method)

    assert response.status_code == 404, response.text
    assert response.json()["errors"] == {"profile": ["not found"]}


async def test_follow_yourself_is_forbidden(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")

    response = await follow(client, "alice", alice)

    assert response.status_code == 403, response.text
    assert "profile" in errors(response)
    assert (await profile(client, "alice", alice)).json()["profile"]["following"] is False


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_follow_without_token_is_unauthorized(client: httpx.AsyncClient, method: str) -> None:
    await register(client, "alice")

    response = await follow(client, "alice", None, method=method)

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"token": ["is missing"]}
    assert response.headers.get("WWW-Authenticate")


async def test_follow_unknown_user_without_token_is_unauthorized_first(
    client: httpx.AsyncClient,
) -> None:
    response = await follow(client, "nobody", None)

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"token": ["is missing"]}
