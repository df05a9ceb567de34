"""OWASP API3:2023 Broken Object Property Level Authorization: mass assignment.

Properties a client must not set (role, active flag, verification, ids, authorship,
counters, timestamps, slugs, key material) are ignored or refused in every body that takes
input, and a re-read proves they were never applied.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from tests.factories import PASSWORD, auth, create_article, log_in, sign_up
from tests.security.support import admin_view, staff_token

LONG_AGO = "2001-01-01T00:00:00.000Z"

# Properties of a user that only the system (or an admin) may set, under the spellings a
# client might try.
USER_PROPERTIES = {
    "role": "admin",
    "roles": ["admin"],
    "isAdmin": True,
    "active": False,
    "emailVerified": True,
    "email_verified": True,
    "id": 1,
    "createdAt": LONG_AGO,
    "passwordHash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
    "password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
    "token": "chosen-token",
}

ARTICLE_PROPERTIES = {
    "author": {"username": "bob", "bio": None, "image": None, "following": False},
    "authorId": 2,
    "author_id": 2,
    "favoritesCount": 1000,
    "favorited": True,
    "createdAt": LONG_AGO,
    "updatedAt": LONG_AGO,
    "slug": "chosen-slug",
    "id": 1,
    "deleted": True,
    "deletedAt": LONG_AGO,
}

COMMENT_PROPERTIES = {
    "id": 424242,
    "author": {"username": "bob", "bio": None, "image": None, "following": False},
    "authorId": 2,
    "articleId": 2,
    "article": "other-article",
    "createdAt": LONG_AGO,
    "updatedAt": LONG_AGO,
}


def recent(timestamp: str) -> bool:
    moment = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return datetime.now(UTC) - moment < timedelta(minutes=5)


async def assert_plain_user(
    client: httpx.AsyncClient, admin: str, username: str, token: str
) -> None:
    """A plain, active, unverified user, as the admin sees them, who can use no staff power."""
    seen = await admin_view(client, admin, username)
    assert seen["role"] == "user"
    assert seen["active"] is True
    assert recent(seen["createdAt"])
    me = (await client.get("/api/user", headers=auth(token))).json()["user"]
    assert me["emailVerified"] is False
    assert me["username"] == username
    staff = await client.get("/api/admin/users", headers=auth(token))
    assert staff.status_code == 403
    root = await admin_view(client, admin, "root")
    assert root["role"] == "admin"
    assert root["email"] == "root@example.com"


@pytest.mark.parametrize(("name", "value"), USER_PROPERTIES.items(), ids=USER_PROPERTIES.keys())
async def test_api3_registration_cannot_set_system_properties(
    client: httpx.AsyncClient, settings: Settings, name: str, value: Any
) -> None:
    admin = await staff_token(client, settings, "root")
    body = {"username": "alice", "email": "alice@example.com", "password": PASSWORD, name: value}
    response = await client.post("/api/users", json={"user": body, name: value})
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        return
    token = response.json()["user"]["token"]
    assert token != "chosen-token"
    await assert_plain_user(client, admin, "alice", token)
    assert (await log_in(client, "alice@example.com")).status_code == 200


@pytest.mark.parametrize(("name", "value"), USER_PROPERTIES.items(), ids=USER_PROPERTIES.keys())
async def test_api3_profile_update_cannot_set_system_properties(
    client: httpx.AsyncClient, settings: Settings, name: str, value: Any
) -> None:
    admin = await staff_token(client, settings, "root")
    alice = await sign_up(client, "alice")
    response = await client.put(
        "/api/user",
        json={"user": {"bio": "hello", name: value}, name: value},
        headers=auth(alice["token"]),
    )
    assert response.status_code in (200, 422), response.text
    await assert_plain_user(client, admin, "alice", alice["token"])
    assert (await log_in(client, "alice@example.com")).status_code == 200


async def test_api3_profile_update_cannot_take_another_users_name_or_address(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    for change in ({"username": "bob"}, {"username": "BOB"}, {"email": "bob@example.com"}):
        response = await client.put("/api/user", json={"user": change}, headers=auth(alice))
        assert response.status_code == 409, response.text
    assert (await client.get("/api/user", headers=auth(alice))).json()["user"][
        "username"
    ] == "alice"
    bob_me = (await client.get("/api/user", headers=auth(bob))).json()["user"]
    assert (bob_me["username"], bob_me["email"]) == ("bob", "bob@example.com")


@pytest.mark.parametrize(
    ("name", "value"), ARTICLE_PROPERTIES.items(), ids=ARTICLE_PROPERTIES.keys()
)
async def test_api3_article_bodies_cannot_set_system_properties(
    client: httpx.AsyncClient, alice: str, bob: str, name: str, value: Any
) -> None:
    fields = {"title": "My title", "description": "d", "body": "b", name: value}
    created = await client.post("/api/articles", json={"article": fields}, headers=auth(alice))
    assert created.status_code in (201, 422), created.text
    slug = (
        created.json()["article"]["slug"]
        if created.status_code == 201
        else (await create_article(client, alice, "My title"))["slug"]
    )
    updated = await client.put(
        f"/api/articles/{slug}",
        json={"article": {"body": "changed", name: value}},
        headers=auth(alice),
    )
    assert updated.status_code in (200, 422), updated.text

    article = (await client.get(f"/api/articles/{slug}", headers=auth(alice))).json()["article"]
    assert article["slug"] == slug
    assert slug.startswith("my-title")
    assert article["author"]["username"] == "alice"
    assert article["favoritesCount"] == 0
    assert article["favorited"] is False
    assert recent(article["createdAt"])
    assert recent(article["updatedAt"])
    assert (await client.get("/api/articles/chosen-slug")).status_code == 404
    listed = (await client.get("/api/articles", params={"author": "alice"})).json()
    assert listed["articlesCount"] == 1
    assert (await client.get("/api/articles", params={"author": "bob"})).json()["articles"] == []


@pytest.mark.parametrize(
    ("name", "value"), COMMENT_PROPERTIES.items(), ids=COMMENT_PROPERTIES.keys()
)
async def test_api3_comment_bodies_cannot_set_system_properties(
    client: httpx.AsyncClient, alice: str, bob: str, name: str, value: Any
) -> None:
    slug = (await create_article(client, alice, "Commented"))["slug"]
    other = (await create_article(client, bob, "Other article"))["slug"]
    response = await client.post(
        f"/api/articles/{slug}/comments",
        json={"comment": {"body": "mine", name: value}, name: value},
        headers=auth(alice),
    )
    assert response.status_code in (201, 422), response.text
    found = (await client.get(f"/api/articles/{slug}/comments")).json()["comments"]
    if response.status_code == 201:
        [comment] = found
        assert comment["id"] != 424242
        assert comment["author"]["username"] == "alice"
        assert recent(comment["createdAt"])
    assert (await client.get(f"/api/articles/{other}/comments")).json()["comments"] == []


@pytest.mark.parametrize(
    "extra",
    [
        {"email": "evil@example.com"},
        {"password": "a-password-set-by-an-admin"},
        {"username": "renamed"},
        {"emailVerified": True},
        {"id": 1},
    ],
    ids=["email", "password", "username", "emailVerified", "id"],
)
async def test_api3_admin_user_patch_takes_only_role_and_active(
    client: httpx.AsyncClient, settings: Settings, extra: dict[str, Any]
) -> None:
    admin = await staff_token(client, settings, "root")
    alice = await sign_up(client, "alice")
    before = await admin_view(client, admin, "alice")

    response = await client.patch(
        "/api/admin/users/alice", json={"role": "moderator", **extra}, headers=auth(admin)
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == {next(iter(extra)): ["is not allowed"]}

    assert await admin_view(client, admin, "alice") == before
    assert (await log_in(client, "alice@example.com")).status_code == 200
    me = (await client.get("/api/user", headers=auth(alice["token"]))).json()["user"]
    assert me["emailVerified"] is False


async def test_api3_api_key_creation_cannot_choose_key_owner_or_dates(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    response = await client.post(
        "/api/api-keys",
        json={
            "name": "bot",
            "scopes": ["articles:write"],
            "key": "cdt_chosen-by-the-client-0000000000000000000000",
            "prefix": "cdt_chosen",
            "id": 1,
            "userId": 2,
            "user_id": 2,
            "owner": "bob",
            "createdAt": LONG_AGO,
            "lastUsedAt": LONG_AGO,
            "expiresAt": "2999-01-01T00:00:00.000Z",
        },
        headers=auth(alice),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert not created["key"].startswith("cdt_chosen")
    assert created["expiresAt"] is None
    assert recent(created["createdAt"])
    assert (await client.get("/api/api-keys", headers=auth(bob))).json()["items"] == []
    [listed] = (await client.get("/api/api-keys", headers=auth(alice))).json()["items"]
    assert listed["lastUsedAt"] is None
    chosen = await client.get(
        "/api/user", headers={"X-API-Key": "cdt_chosen-by-the-client-0000000000000000000000"}
    )
    assert chosen.status_code == 401
    by_key = await client.get("/api/user", headers={"X-API-Key": created["key"]})
    assert by_key.json()["user"]["username"] == "alice"
