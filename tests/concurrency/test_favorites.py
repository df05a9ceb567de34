"""Favorites at once: no favorite lost or counted twice."""

from __future__ import annotations

import httpx

from tests.factories import MANY_SIGN_UPS, assert_all, auth, burst, create_article, register

pytestmark = MANY_SIGN_UPS


async def test_fifty_users_favorite_one_article_at_once(client: httpx.AsyncClient) -> None:
    author = await register(client, "author")
    slug = (await create_article(client, author, "Popular"))["slug"]
    tokens = [await register(client, f"fan{i:02}") for i in range(50)]

    responses = await burst(
        *(client.post(f"/api/articles/{slug}/favorite", headers=auth(t)) for t in tokens)
    )

    assert_all(responses, 200)
    for response in responses:
        article = response.json()["article"]
        assert article["favorited"] is True
        assert 1 <= article["favoritesCount"] <= 50
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 50
    fans = (await client.get("/api/articles", params={"favorited": "fan00"})).json()
    assert fans["articlesCount"] == 1
    listed = (await client.get("/api/articles", headers=auth(tokens[7]))).json()["articles"]
    assert listed[0]["favoritesCount"] == 50
    assert listed[0]["favorited"] is True


async def test_fifty_users_unfavorite_one_article_at_once(client: httpx.AsyncClient) -> None:
    author = await register(client, "author")
    slug = (await create_article(client, author, "Popular"))["slug"]
    tokens = [await register(client, f"fan{i:02}") for i in range(50)]
    for token in tokens:
        await client.post(f"/api/articles/{slug}/favorite", headers=auth(token))

    leaving, staying = tokens[:30], tokens[30:]
    responses = await burst(
        *(client.delete(f"/api/articles/{slug}/favorite", headers=auth(t)) for t in leaving)
    )

    assert_all(responses, 200)
    assert all(r.json()["article"]["favorited"] is False for r in responses)
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == len(staying)


async def test_same_user_favorites_ten_times_at_once(client: httpx.AsyncClient) -> None:
    author = await register(client, "author")
    slug = (await create_article(client, author, "Popular"))["slug"]
    fan = await register(client, "fan")

    responses = await burst(
        *(client.post(f"/api/articles/{slug}/favorite", headers=auth(fan)) for _ in range(10))
    )

    assert_all(responses, 200)
    assert all(r.json()["article"]["favoritesCount"] == 1 for r in responses)
    article = (await client.get(f"/api/articles/{slug}", headers=auth(fan))).json()["article"]
    assert article["favoritesCount"] == 1
    assert article["favorited"] is True


async def test_favorite_and_unfavorite_race_leaves_a_consistent_count(
    client: httpx.AsyncClient,
) -> None:
    author = await register(client, "author")
    slug = (await create_article(client, author, "Popular"))["slug"]
    tokens = [await register(client, f"fan{i:02}") for i in range(20)]
    for token in tokens[:10]:  # the first ten already favorite it
        await client.post(f"/api/articles/{slug}/favorite", headers=auth(token))

    responses = await burst(
        *(client.delete(f"/api/articles/{slug}/favorite", headers=auth(t)) for t in tokens[:10]),
        *(client.post(f"/api/articles/{slug}/favorite", headers=auth(t)) for t in tokens[10:]),
    )

    assert_all(responses, 200)
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 10
    for i, token in enumerate(tokens):
        seen = (await client.get(f"/api/articles/{slug}", headers=auth(token))).json()
        assert seen["article"]["favorited"] is (i >= 10)
