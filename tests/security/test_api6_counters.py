"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows: inflating counters.

Favorites count once per user however many requests, mounts and credentials are used at
once, and no one fills their own feed by following themself.
"""

from __future__ import annotations

import asyncio

import httpx

from tests.factories import auth, create_article, make_key, sign_up

# --- inflating counters ------------------------------------------------------------------------


async def test_api6_favorites_cannot_be_inflated(client: httpx.AsyncClient, alice: str) -> None:
    """Many favorites of one user, at once, through both mounts and an API key, count once."""
    bob = await sign_up(client, "bob")
    key = await make_key(client, bob["token"], ["articles:write"])
    slug = (await create_article(client, alice, "Popular"))["slug"]

    attempts = [
        client.post(f"{prefix}/articles/{slug}/favorite", headers=headers)
        for prefix in ("/api", "/api/v1")
        for headers in (auth(bob["token"]), {"X-API-Key": key["key"]})
        for _ in range(3)
    ]
    responses = await asyncio.gather(*attempts)
    assert {r.status_code for r in responses} == {200}
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 1
    assert (await client.get("/api/articles", params={"favorited": "bob"})).json()[
        "articlesCount"
    ] == 1


async def test_api6_a_user_cannot_follow_themself_to_fill_their_own_feed(
    client: httpx.AsyncClient, alice: str
) -> None:
    await create_article(client, alice, "Mine")
    for name in ("alice", "ALICE"):
        response = await client.post(f"/api/profiles/{name}/follow", headers=auth(alice))
        assert response.status_code in (403, 404), response.text
    feed = (await client.get("/api/articles/feed", headers=auth(alice))).json()
    assert feed["articlesCount"] == 0
