"""GET /api/tags: the tags in use, most used first."""

from __future__ import annotations

import httpx

from tests.factories import auth, create_article, tags, update_article


async def test_tags_empty(client: httpx.AsyncClient) -> None:
    assert await tags(client) == []


async def test_tags_most_used_first(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    await create_article(client, alice, "One", tagList=["rare", "common", "middle"])
    await create_article(client, alice, "Two", tagList=["common", "middle"])
    await create_article(client, bob, "Three", tagList=["common"])

    assert await tags(client) == ["common", "middle", "rare"]


async def test_tags_are_unique(client: httpx.AsyncClient, alice: str) -> None:
    await create_article(client, alice, "One", tagList=["shared"])
    await create_article(client, alice, "Two", tagList=["shared"])

    assert await tags(client) == ["shared"]


async def test_tag_of_a_deleted_article_disappears(client: httpx.AsyncClient, alice: str) -> None:
    doomed = await create_article(client, alice, "Doomed", tagList=["only-here", "shared"])
    await create_article(client, alice, "Stays", tagList=["shared"])
    assert set(await tags(client)) == {"only-here", "shared"}

    response = await client.delete(f"/api/articles/{doomed['slug']}", headers=auth(alice))

    assert response.status_code == 204
    assert await tags(client) == ["shared"]


async def test_tag_removed_by_update_disappears(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice, tagList=["before"])

    await update_article(client, alice, created["slug"], tagList=["after"])

    assert await tags(client) == ["after"]
