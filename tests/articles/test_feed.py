"""GET /api/articles/feed: the articles of the authors the reader follows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import MISSING_TOKEN, auth, create_article, error_body, errors, follow, slugs


async def feed(client: httpx.AsyncClient, token: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/articles/feed", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_feed_has_only_followed_authors_newest_first(
    client: httpx.AsyncClient, alice: str, bob: str, carol: str
) -> None:
    older = await create_article(client, bob, "Bob one")
    await create_article(client, carol, "Carol one")
    await create_article(client, alice, "Alice own")
    newer = await create_article(client, bob, "Bob two")
    await follow(client, alice, "bob")

    page = await feed(client, alice)

    assert slugs(page) == [newer["slug"], older["slug"]]
    assert page["articlesCount"] == 2
    for item in page["articles"]:
        assert "body" not in item
        assert item["author"] == {
            "username": "bob",
            "bio": None,
            "image": None,
            "following": True,
        }


async def test_feed_paging(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    created = [await create_article(client, bob, f"Bob {n}") for n in range(3)]
    await follow(client, alice, "bob")

    first = await feed(client, alice, limit=1)
    second = await feed(client, alice, limit=1, offset=1)
    rest = await feed(client, alice, limit=5, offset=1)

    assert slugs(first) == [created[2]["slug"]]
    assert slugs(second) == [created[1]["slug"]]
    assert slugs(rest) == [created[1]["slug"], created[0]["slug"]]
    assert first["articlesCount"] == second["articlesCount"] == rest["articlesCount"] == 3


async def test_feed_is_empty_when_following_nobody(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    await create_article(client, bob, "Unfollowed")

    assert await feed(client, alice) == {"articles": [], "articlesCount": 0}


async def test_feed_reflects_unfollow(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    await create_article(client, bob)
    await follow(client, alice, "bob")
    assert (await feed(client, alice))["articlesCount"] == 1

    response = await client.delete("/api/profiles/bob/follow", headers=auth(alice))

    assert response.status_code == 200
    assert await feed(client, alice) == {"articles": [], "articlesCount": 0}


async def test_feed_without_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/articles/feed")

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN


@pytest.mark.parametrize(("param", "value"), [("limit", 0), ("limit", 101), ("offset", -1)])
async def test_feed_bad_paging_is_422(
    client: httpx.AsyncClient, alice: str, param: str, value: int
) -> None:
    response = await client.get("/api/articles/feed", params={param: value}, headers=auth(alice))

    assert response.status_code == 422
    assert param in errors(response)
