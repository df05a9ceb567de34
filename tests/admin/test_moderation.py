"""Moderation: staff delete other users' articles and comments; plain users only their own."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import (
    add_comment,
    auth,
    comment_ids,
    create_article,
    delete_article,
    delete_comment,
    set_role,
)

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
