"""GET /api/articles/{slug}: one article, anonymous or signed in."""

from __future__ import annotations

import httpx

from tests.factories import (
    ARTICLE_NOT_FOUND,
    create_article,
    error_body,
    favorite,
    follow,
    get_article,
)


async def test_get_anonymous_and_signed_in(
    client: httpx.AsyncClient, alice: str, bob: str, carol: str
) -> None:
    created = await create_article(client, alice, "Shown", tagList=["t"])
    await favorite(client, bob, created["slug"])
    await follow(client, bob, "alice")

    anonymous = (await get_article(client, created["slug"])).json()["article"]
    as_bob = (await get_article(client, created["slug"], bob)).json()["article"]
    as_carol = (await get_article(client, created["slug"], carol)).json()["article"]

    assert anonymous == {**created, "favoritesCount": 1}
    assert as_carol == anonymous
    assert as_bob == {
        **created,
        "favorited": True,
        "favoritesCount": 1,
        "author": {**created["author"], "following": True},
    }


async def test_get_unknown_slug_is_404(client: httpx.AsyncClient) -> None:
    response = await get_article(client, "no-such-article")

    assert response.status_code == 404
    assert error_body(response) == ARTICLE_NOT_FOUND
