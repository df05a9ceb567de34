"""Roles and administration: moderation, soft delete and restore, user management."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import (
    PASSWORD,
    add_comment,
    auth,
    create_article,
    make_staff,
    register,
    set_role,
    tags,
)

FORBIDDEN_ROLE = {"role": ["forbidden"]}
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


# --- helpers ----------------------------------------------------------------------


@pytest.fixture
async def admin(client: httpx.AsyncClient, app: Any) -> str:
    return await make_staff(client, app, "root", "admin")


@pytest.fixture
async def moderator(client: httpx.AsyncClient, app: Any) -> str:
    return await make_staff(client, app, "mod", "moderator")


async def comment_ids(client: httpx.AsyncClient, slug: str) -> list[int]:
    response = await client.get(f"/api/articles/{slug}/comments")
    assert response.status_code == 200, response.text
    return [comment["id"] for comment in response.json()["comments"]]


async def delete_article(client: httpx.AsyncClient, token: str, slug: str) -> httpx.Response:
    return await client.delete(f"/api/articles/{slug}", headers=auth(token))


async def delete_comment(
    client: httpx.AsyncClient, token: str, slug: str, comment_id: int
) -> httpx.Response:
    return await client.delete(f"/api/articles/{slug}/comments/{comment_id}", headers=auth(token))


async def restore(client: httpx.AsyncClient, token: str, slug: str) -> httpx.Response:
    return await client.post(f"/api/admin/articles/{slug}/restore", headers=auth(token))


async def listed_slugs(
    client: httpx.AsyncClient, path: str = "/api/articles", token: str | None = None, **params: str
) -> list[str]:
    headers = auth(token) if token else {}
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    slugs = [article["slug"] for article in body["articles"]]
    assert body["articlesCount"] == len(slugs)
    return slugs


async def list_users(client: httpx.AsyncClient, token: str, **params: Any) -> httpx.Response:
    return await client.get("/api/admin/users", params=params, headers=auth(token))


async def usernames(client: httpx.AsyncClient, token: str, **params: Any) -> list[str]:
    response = await list_users(client, token, **params)
    assert response.status_code == 200, response.text
    return [item["username"] for item in response.json()["items"]]


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


# --- moderation: deleting articles ----------------------------------------------------


async def test_moderator_deletes_another_users_article(
    client: httpx.AsyncClient, alice: str, moderator: str
) -> None:
    slug = (await create_article(client, alice))["slug"]

    response = await delete_article(client, moderator, slug)

    assert response.status_code == 204, response.text
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404


async def test_admin_deletes_another_users_article(
    client: httpx.AsyncClient, alice: str, admin: str
) -> None:
    slug = (await create_article(client, alice))["slug"]

    response = await delete_article(client, admin, slug)

    assert response.status_code == 204, response.text
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404


async def test_plain_user_cannot_delete_another_users_article(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice))["slug"]

    response = await delete_article(client, bob, slug)

    assert response.status_code == 403, response.text
    assert response.json()["errors"] == {"article": ["forbidden"]}
    assert (await client.get(f"/api/articles/{slug}")).status_code == 200


async def test_moderator_cannot_update_another_users_article(
    client: httpx.AsyncClient, alice: str, moderator: str
) -> None:
    slug = (await create_article(client, alice))["slug"]

    response = await client.put(
        f"/api/articles/{slug}", json={"article": {"body": "rewritten"}}, headers=auth(moderator)
    )

    assert response.status_code == 403, response.text
    assert response.json()["errors"] == {"article": ["forbidden"]}
    assert (await client.get(f"/api/articles/{slug}")).json()["article"]["body"] == "the body"


async def test_role_is_read_on_every_request(
    client: httpx.AsyncClient, app: Any, alice: str, bob: str
) -> None:
    """A token issued before a promotion carries the new role; after a demotion, loses it."""
    first = (await create_article(client, alice, "First"))["slug"]
    second = (await create_article(client, alice, "Second"))["slug"]

    await set_role(app, "bob", "moderator")
    assert (await delete_article(client, bob, first)).status_code == 204

    await set_role(app, "bob", "user")
    assert (await delete_article(client, bob, second)).status_code == 403


# --- moderation: deleting comments ----------------------------------------------------


async def test_moderator_and_admin_delete_another_users_comment(
    client: httpx.AsyncClient, alice: str, bob: str, moderator: str, admin: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    first = (await add_comment(client, bob, slug, "one"))["id"]
    second = (await add_comment(client, bob, slug, "two"))["id"]

    by_moderator = await delete_comment(client, moderator, slug, first)
    by_admin = await delete_comment(client, admin, slug, second)

    assert by_moderator.status_code == 204, by_moderator.text
    assert by_admin.status_code == 204, by_admin.text
    assert await comment_ids(client, slug) == []


async def test_plain_user_cannot_delete_another_users_comment(
    client: httpx.AsyncClient, alice: str, bob: str, carol: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    comment_id = (await add_comment(client, bob, slug))["id"]

    response = await delete_comment(client, carol, slug, comment_id)

    assert response.status_code == 403, response.text
    assert response.json()["errors"] == {"comment": ["forbidden"]}
    assert await comment_ids(client, slug) == [comment_id]


async def test_article_author_cannot_delete_someone_elses_comment_on_it(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    comment_id = (await add_comment(client, bob, slug))["id"]

    response = await delete_comment(client, alice, slug, comment_id)

    assert response.status_code == 403, response.text
    assert response.json()["errors"] == {"comment": ["forbidden"]}
    assert await comment_ids(client, slug) == [comment_id]


async def test_comment_author_deletes_their_own_comment(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    comment_id = (await add_comment(client, bob, slug))["id"]

    response = await delete_comment(client, bob, slug, comment_id)

    assert response.status_code == 204, response.text
    assert await comment_ids(client, slug) == []


async def test_comment_reached_through_another_articles_path_is_404(
    client: httpx.AsyncClient, alice: str, bob: str, moderator: str
) -> None:
    own = (await create_article(client, alice, "Own"))["slug"]
    other = (await create_article(client, alice, "Other"))["slug"]
    comment_id = (await add_comment(client, bob, own))["id"]

    for token in (bob, moderator):
        response = await delete_comment(client, token, other, comment_id)
        assert response.status_code == 404, response.text
        assert response.json()["errors"] == {"comment": ["not found"]}
    assert await comment_ids(client, own) == [comment_id]


# --- soft delete ----------------------------------------------------------------------


@pytest.fixture
async def doomed(client: httpx.AsyncClient, alice: str, bob: str) -> dict[str, Any]:
    """Alice's article with a tag of its own and a shared one, followed, favorited and
    commented on by Bob; plus a second article of hers sharing one tag."""
    article = await create_article(client, alice, "Doomed", tagList=["only-here", "shared"])
    await create_article(client, alice, "Survivor", tagList=["shared"])
    slug = article["slug"]
    assert (await client.post("/api/profiles/alice/follow", headers=auth(bob))).status_code == 200
    favorite = await client.post(f"/api/articles/{slug}/favorite", headers=auth(bob))
    assert favorite.status_code == 200, favorite.text
    comment_id = (await add_comment(client, bob, slug, "nice"))["id"]
    return {"slug": slug, "comment_id": comment_id}


async def test_deleted_article_disappears_everywhere(
    client: httpx.AsyncClient, alice: str, bob: str, moderator: str, doomed: dict[str, Any]
) -> None:
    slug = doomed["slug"]
    assert slug in await listed_slugs(client)
    assert "only-here" in await tags(client)

    assert (await delete_article(client, moderator, slug)).status_code == 204

    single = await client.get(f"/api/articles/{slug}")
    assert single.status_code == 404
    assert single.json()["errors"] == {"article": ["not found"]}
    assert slug not in await listed_slugs(client)
    assert len(await listed_slugs(client)) == 1
    assert await listed_slugs(client, author="alice") == ["survivor"]
    assert await listed_slugs(client, "/api/articles/feed", token=bob) == ["survivor"]
    assert await listed_slugs(client, favorited="bob") == []
    assert await listed_slugs(client, tag="only-here") == []
    assert await listed_slugs(client, tag="shared") == ["survivor"]
    assert await tags(client) == ["shared"]
    comments = await client.get(f"/api/articles/{slug}/comments")
    assert comments.status_code == 404
    assert comments.json()["errors"] == {"article": ["not found"]}


async def test_deleted_article_cannot_be_written_to(
    client: httpx.AsyncClient, alice: str, bob: str, moderator: str, doomed: dict[str, Any]
) -> None:
    slug = doomed["slug"]
    assert (await delete_article(client, moderator, slug)).status_code == 204

    responses = [
        await client.put(
            f"/api/articles/{slug}", json={"article": {"body": "x"}}, headers=auth(alice)
        ),
        await delete_article(client, alice, slug),
        await client.post(f"/api/articles/{slug}/favorite", headers=auth(bob)),
        await client.post(
            f"/api/articles/{slug}/comments", json={"comment": {"body": "x"}}, headers=auth(bob)
        ),
        await delete_comment(client, bob, slug, doomed["comment_id"]),
    ]

    for response in responses:
        assert response.status_code == 404, response.text


async def test_deleted_article_keeps_its_slug_reserved(
    client: httpx.AsyncClient, alice: str, bob: str, moderator: str
) -> None:
    old = (await create_article(client, alice, "Same Title"))["slug"]
    assert (await delete_article(client, moderator, old)).status_code == 204

    new = (await create_article(client, bob, "Same Title"))["slug"]

    assert new != old
    assert (await client.get(f"/api/articles/{new}")).json()["article"]["author"][
        "username"
    ] == "bob"


async def test_author_deleting_their_own_article_is_a_soft_delete_too(
    client: httpx.AsyncClient, alice: str, moderator: str
) -> None:
    slug = (await create_article(client, alice, tagList=["kept"]))["slug"]
    assert (await delete_article(client, alice, slug)).status_code == 204
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404

    response = await restore(client, moderator, slug)

    assert response.status_code == 200, response.text
    assert response.json()["article"]["tagList"] == ["kept"]


# --- restore --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["moderator", "admin"])
async def test_staff_restore_a_deleted_article_with_everything_it_had(
    client: httpx.AsyncClient,
    app: Any,
    alice: str,
    bob: str,
    doomed: dict[str, Any],
    role: str,
) -> None:
    slug = doomed["slug"]
    before = (await client.get(f"/api/articles/{slug}", headers=auth(bob))).json()["article"]
    restorer = await make_staff(client, app, "staffer", role)
    assert (await delete_article(client, restorer, slug)).status_code == 204

    response = await restore(client, restorer, slug)

    assert response.status_code == 200, response.text
    article = response.json()["article"]
    assert article["slug"] == slug
    assert article["title"] == "Doomed"
    assert article["body"] == before["body"]
    assert article["tagList"] == ["only-here", "shared"]
    assert article["favoritesCount"] == 1
    assert article["author"]["username"] == "alice"
    # Everything is back, as it was.
    after = (await client.get(f"/api/articles/{slug}", headers=auth(bob))).json()["article"]
    assert after == before
    assert await comment_ids(client, slug) == [doomed["comment_id"]]
    assert await listed_slugs(client, favorited="bob") == [slug]
    assert await listed_slugs(client, tag="only-here") == [slug]
    assert slug in await listed_slugs(client, "/api/articles/feed", token=bob)
    assert "only-here" in await tags(client)


async def test_plain_user_cannot_restore(
    client: httpx.AsyncClient, alice: str, bob: str, moderator: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    assert (await delete_article(client, moderator, slug)).status_code == 204

    for token in (bob, alice):  # not even the article's author
        response = await restore(client, token, slug)
        assert response.status_code == 403, response.text
        assert response.json()["errors"] == FORBIDDEN_ROLE
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404


async def test_restore_without_a_token_is_401(
    client: httpx.AsyncClient, alice: str, moderator: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    assert (await delete_article(client, moderator, slug)).status_code == 204

    response = await client.post(f"/api/admin/articles/{slug}/restore")

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"token": ["is missing"]}


async def test_restore_of_an_unknown_or_live_article_is_404(
    client: httpx.AsyncClient, alice: str, moderator: str
) -> None:
    live = (await create_article(client, alice))["slug"]

    for slug in ("no-such-article", live):
        response = await restore(client, moderator, slug)
        assert response.status_code == 404, response.text
        assert response.json()["errors"] == {"article": ["not found"]}


async def test_restore_twice_is_404_the_second_time(
    client: httpx.AsyncClient, alice: str, moderator: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    assert (await delete_article(client, moderator, slug)).status_code == 204
    assert (await restore(client, moderator, slug)).status_code == 200

    assert (await restore(client, moderator, slug)).status_code == 404


# --- GET /api/admin/users -------------------------------------------------------------


async def test_admin_lists_users_with_their_standing(
    client: httpx.AsyncClient, admin: str, alice: str, moderator: str
) -> None:
    response = await list_users(client, admin)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "page", "limit", "total_count"}
    assert (body["page"], body["limit"], body["total_count"]) == (1, 20, 3)
    assert [item["username"] for item in body["items"]] == ["root", "alice", "mod"]
    root, alice_item, mod = body["items"]
    assert set(alice_item) == {
        "username",
        "email",
        "role",
        "active",
        "bio",
        "image",
        "createdAt",
    }
    assert alice_item["email"] == "alice@example.com"
    assert alice_item["active"] is True
    assert alice_item["bio"] is None
    assert alice_item["image"] is None
    assert ISO_MILLIS.match(alice_item["createdAt"])
    assert [root["role"], alice_item["role"], mod["role"]] == ["admin", "user", "moderator"]
    assert "password" not in response.text
    assert "hash" not in response.text.lower()


async def test_admin_user_list_is_paginated(client: httpx.AsyncClient, admin: str) -> None:
    for name in ("u1", "u2", "u3", "u4"):
        await register(client, name)

    first = (await list_users(client, admin, page=1, limit=2)).json()
    second = (await list_users(client, admin, page=2, limit=2)).json()
    third = (await list_users(client, admin, page=3, limit=2)).json()
    beyond = (await list_users(client, admin, page=4, limit=2)).json()

    assert [item["username"] for item in first["items"]] == ["root", "u1"]
    assert [item["username"] for item in second["items"]] == ["u2", "u3"]
    assert [item["username"] for item in third["items"]] == ["u4"]
    assert beyond["items"] == []
    for number, body in enumerate((first, second, third, beyond), start=1):
        assert (body["page"], body["limit"], body["total_count"]) == (number, 2, 5)


async def test_admin_user_search_matches_part_of_username_or_email(
    client: httpx.AsyncClient, admin: str
) -> None:
    for name in ("alice", "malik"):
        await register(client, name)
    bob = await register(client, "bob")
    moved = await client.put(
        "/api/user", json={"user": {"email": "bob@alibaba.example.com"}}, headers=auth(bob)
    )
    assert moved.status_code == 200, moved.text

    assert await usernames(client, admin, q="ali") == ["alice", "malik", "bob"]
    assert await usernames(client, admin, q="ALI") == ["alice", "malik", "bob"]
    assert await usernames(client, admin, q="LiK") == ["malik"]
    assert await usernames(client, admin, q="ALIBABA.example") == ["bob"]
    assert await usernames(client, admin, q="nobody-here") == []
    response = await list_users(client, admin, q="ali", limit=1)
    assert response.json()["total_count"] == 3


async def test_admin_user_search_treats_wildcards_literally(
    client: httpx.AsyncClient, admin: str
) -> None:
    for name in ("x_y", "xay", "x.y"):
        await register(client, name)

    assert await usernames(client, admin, q="x_y") == ["x_y"]
    assert await usernames(client, admin, q="_") == ["x_y"]
    response = await list_users(client, admin, q="%")
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert response.json()["total_count"] == 0
    assert await usernames(client, admin, q="x%y") == []


@pytest.mark.parametrize("limit", [0, 101])
async def test_admin_user_list_refuses_an_out_of_range_limit(
    client: httpx.AsyncClient, admin: str, limit: int
) -> None:
    response = await list_users(client, admin, limit=limit)

    assert response.status_code == 422, response.text
    assert "limit" in response.json()["errors"]


async def test_admin_user_list_refuses_page_zero(client: httpx.AsyncClient, admin: str) -> None:
    response = await list_users(client, admin, page=0)

    assert response.status_code == 422, response.text
    assert "page" in response.json()["errors"]


async def test_only_admins_list_users(
    client: httpx.AsyncClient, alice: str, moderator: str
) -> None:
    for token in (alice, moderator):
        response = await list_users(client, token)
        assert response.status_code == 403, response.text
        assert response.json()["errors"] == FORBIDDEN_ROLE

    anonymous = await client.get("/api/admin/users")
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["errors"] == {"token": ["is missing"]}


# --- PATCH /api/admin/users/{username} ------------------------------------------------


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
