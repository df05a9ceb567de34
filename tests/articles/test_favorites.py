"""POST and DELETE /api/articles/{slug}/favorite."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import (
    ARTICLE_NOT_FOUND,
    MISSING_TOKEN,
    auth,
    create_article,
    error_body,
    favorite,
    get_article,
)


async def unfavorite(client: httpx.AsyncClient, token: str, slug: str) -> dict[str, Any]:
    response = await client.delete(f"/api/articles/{slug}/favorite", headers=auth(token))
    assert response.status_code == 200, response.text
    article: dict[str, Any] = response.json()["article"]
    return article


async def test_favorite_and_unfavorite(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    created = await create_article(client, alice)
    slug = created["slug"]

    first = await favorite(client, bob, slug)
    assert first["favorited"] is True
    assert first["favoritesCount"] == 1
    assert first["body"] == created["body"]
    assert first["author"]["username"] == "alice"

    twice = await favorite(client, bob, slug)
    assert twice["favorited"] is True
    assert twice["favoritesCount"] == 1

    by_author = await favorite(client, alice, slug)
    assert by_author["favorited"] is True
    assert by_author["favoritesCount"] == 2

    removed = await unfavorite(client, bob, slug)
    assert removed["favorited"] is False
    assert removed["favoritesCount"] == 1

    again = await unfavorite(client, bob, slug)
    assert again["favorited"] is False
    assert again["favoritesCount"] == 1

    as_bob = (await get_article(client, slug, bob)).json()["article"]
    as_alice = (await get_article(client, slug, alice)).json()["article"]
    assert (as_bob["favorited"], as_bob["favoritesCount"]) == (False, 1)
    assert (as_alice["favorited"], as_alice["favoritesCount"]) == (True, 1)


async def test_favorite_does_not_change_updated_at(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice)

    favorited = await favorite(client, alice, created["slug"])

    assert favorited["updatedAt"] == created["updatedAt"]


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_favorite_unknown_slug_is_404(
    client: httpx.AsyncClient, alice: str, method: str
) -> None:
    response = await client.request(
        method, "/api/articles/no-such-article/favorite", headers=auth(alice)
    )

    assert response.status_code == 404
    assert error_body(response) == ARTICLE_NOT_FOUND


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_favorite_without_token_is_401(
    client: httpx.AsyncClient, alice: str, method: str
) -> None:
    created = await create_article(client, alice)

    response = await client.request(method, f"/api/articles/{created['slug']}/favorite")

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN
    assert (await get_article(client, created["slug"])).json()["article"]["favoritesCount"] == 0
