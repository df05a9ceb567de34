"""Soft delete and POST /api/admin/articles/{slug}/restore: a deleted article disappears
everywhere, keeps its slug, and comes back with everything it had."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import (
    FORBIDDEN_ROLE,
    auth,
    comment_ids,
    create_article,
    delete_article,
    delete_comment,
    make_staff,
    tags,
)


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
