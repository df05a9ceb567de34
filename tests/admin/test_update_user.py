"""PATCH /api/admin/users/{username}: admins change roles and deactivate users."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import (
    FORBIDDEN_ROLE,
    PASSWORD,
    auth,
    create_article,
    delete_article,
    list_users,
)


async def admin_view_of(client: httpx.AsyncClient, admin: str, username: str) -> dict[str, Any]:
    response = await list_users(client, admin, q=username)
    assert response.status_code == 200, response.text
    [item] = [item for item in response.json()["items"] if item["username"] == username]
    found: dict[str, Any] = item
    return found


async def patch_user(
    client: httpx.AsyncClient, token: str, username: str, body: Any
) -> httpx.Response:
    return await client.patch(f"/api/admin/users/{username}", json=body, headers=auth(token))


async def login(client: httpx.AsyncClient, username: str) -> str:
    response = await client.post(
        "/api/users/login",
        json={"user": {"email": f"{username}@example.com", "password": PASSWORD}},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["user"]["token"]
    return token


async def test_admin_promotes_a_user_to_moderator(
    client: httpx.AsyncClient, admin: str, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    assert (await delete_article(client, bob, slug)).status_code == 403

    response = await patch_user(client, admin, "bob", {"role": "moderator"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["username"] == "bob"
    assert body["role"] == "moderator"
    assert body["active"] is True
    assert (await admin_view_of(client, admin, "bob"))["role"] == "moderator"
    # The promotion takes effect on bob's existing token.
    assert (await delete_article(client, bob, slug)).status_code == 204


async def test_admin_makes_another_admin(client: httpx.AsyncClient, admin: str, bob: str) -> None:
    response = await patch_user(client, admin, "bob", {"role": "admin"})

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "admin"
    assert (await list_users(client, bob)).status_code == 200


async def test_admin_deactivates_a_user_and_their_sessions_end_at_once(
    client: httpx.AsyncClient, admin: str, bob: str
) -> None:
    assert (await client.get("/api/user", headers=auth(bob))).status_code == 200

    response = await patch_user(client, admin, "bob", {"active": False})

    assert response.status_code == 200, response.text
    assert response.json()["active"] is False
    assert response.json()["role"] == "user"
    refused = await client.get("/api/user", headers=auth(bob))
    assert refused.status_code == 401, refused.text
    assert refused.json()["errors"] == {"token": ["is invalid"]}
    assert (await admin_view_of(client, admin, "bob"))["active"] is False
    login = await client.post(
        "/api/users/login", json={"user": {"email": "bob@example.com", "password": PASSWORD}}
    )
    assert login.status_code == 403, login.text


async def test_reactivated_user_logs_in_again_but_old_sessions_stay_ended(
    client: httpx.AsyncClient, admin: str, bob: str
) -> None:
    assert (await patch_user(client, admin, "bob", {"active": False})).status_code == 200

    response = await patch_user(client, admin, "bob", {"active": True})

    assert response.status_code == 200, response.text
    assert response.json()["active"] is True
    assert (await client.get("/api/user", headers=auth(bob))).status_code == 401
    fresh = await login(client, "bob")
    assert (await client.get("/api/user", headers=auth(fresh))).status_code == 200


async def test_patch_changes_role_and_active_together(
    client: httpx.AsyncClient, admin: str, bob: str
) -> None:
    response = await patch_user(client, admin, "bob", {"role": "moderator", "active": False})

    assert response.status_code == 200, response.text
    assert (response.json()["role"], response.json()["active"]) == ("moderator", False)


async def test_patch_of_an_unknown_user_is_404(client: httpx.AsyncClient, admin: str) -> None:
    response = await patch_user(client, admin, "nobody", {"role": "moderator"})

    assert response.status_code == 404, response.text
    assert response.json()["errors"] == {"user": ["not found"]}


@pytest.mark.parametrize(
    "body",
    [
        {"role": "superuser"},
        {"role": "ADMIN"},
        {"role": None},
        {"active": None},
        {"active": "maybe"},
        {"email": "bob@evil.test"},
    ],
)
async def test_patch_refuses_invalid_values(
    client: httpx.AsyncClient, admin: str, bob: str, body: dict[str, Any]
) -> None:
    response = await patch_user(client, admin, "bob", body)

    assert response.status_code == 422, response.text
    assert set(response.json()["errors"]) == set(body)
    unchanged = await admin_view_of(client, admin, "bob")
    assert (unchanged["role"], unchanged["active"], unchanged["email"]) == (
        "user",
        True,
        "bob@example.com",
    )


async def test_only_admins_change_users(
    client: httpx.AsyncClient, alice: str, bob: str, moderator: str, admin: str
) -> None:
    for token in (alice, moderator):
        response = await patch_user(client, token, "bob", {"role": "admin"})
        assert response.status_code == 403, response.text
        assert response.json()["errors"] == FORBIDDEN_ROLE
    for token in (alice, moderator):  # not even themselves
        assert (await patch_user(client, token, "mod", {"role": "admin"})).status_code == 403

    anonymous = await client.patch("/api/admin/users/bob", json={"role": "admin"})
    assert anonymous.status_code == 401, anonymous.text
    assert (await admin_view_of(client, admin, "bob"))["role"] == "user"
    assert (await admin_view_of(client, admin, "mod"))["role"] == "moderator"


async def test_user_cannot_raise_their_own_role_through_profile_update(
    client: httpx.AsyncClient, admin: str, bob: str
) -> None:
    response = await client.put(
        "/api/user",
        json={
            "user": {
                "bio": "just me",
                "role": "admin",
                "active": True,
                "emailVerified": True,
            }
        },
        headers=auth(bob),
    )

    assert response.status_code == 200, response.text
    assert response.json()["user"]["bio"] == "just me"
    assert "role" not in response.json()["user"]
    view = await admin_view_of(client, admin, "bob")
    assert view["role"] == "user"
    assert view["bio"] == "just me"
    assert (await list_users(client, bob)).status_code == 403


async def test_deactivated_user_cannot_reactivate_through_profile_update(
    client: httpx.AsyncClient, admin: str, bob: str
) -> None:
    fresh = await login(client, "bob")
    assert (await patch_user(client, admin, "bob", {"active": False})).status_code == 200

    response = await client.put("/api/user", json={"user": {"active": True}}, headers=auth(fresh))

    assert response.status_code == 401, response.text
    assert (await admin_view_of(client, admin, "bob"))["active"] is False
