"""The world each bad-input test starts from (the `world` and `three_articles` fixtures)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.bad_input.checks import check
from tests.factories import auth, create_article, register


@dataclass
class World:
    token: str
    slug: str
    comment_id: int


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    token = await register(client, "alice")
    article = await create_article(client, token, "Existing article", tagList=["existing"])
    response = await client.post(
        f"/api/articles/{article['slug']}/comments",
        json={"comment": {"body": "first"}},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    return World(token=token, slug=article["slug"], comment_id=response.json()["comment"]["id"])


@pytest.fixture
async def three_articles(client: httpx.AsyncClient, world: World) -> World:
    """Alice has three articles (tagged `existing`) and follows Bob, who has two."""
    for title in ("Second", "Third"):
        await create_article(client, world.token, title, tagList=["existing"])
    bob = await register(client, "bob")
    for title in ("Bob one", "Bob two"):
        await create_article(client, bob, title)
    check(await client.post("/api/profiles/bob/follow", headers=auth(world.token)), 200)
    return world
