"""Articles created or renamed to one title at once: each gets a slug of its own."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import MANY_SIGN_UPS, assert_all, auth, burst, create_article, register

pytestmark = MANY_SIGN_UPS


@pytest.mark.parametrize("count", [2, 10])
async def test_same_title_created_at_once_gets_distinct_slugs(
    client: httpx.AsyncClient, count: int
) -> None:
    tokens = [await register(client, f"writer{i}") for i in range(2)]
    article = {"title": "Same Title", "description": "d", "body": "b", "tagList": ["race", "new"]}

    responses = await burst(
        *(
            client.post("/api/articles", json={"article": article}, headers=auth(tokens[i % 2]))
            for i in range(count)
        )
    )

    assert_all(responses, 201)
    slugs = [r.json()["article"]["slug"] for r in responses]
    assert len(set(slugs)) == count, slugs
    assert "same-title" in slugs
    assert all(s == "same-title" or s.startswith("same-title-") for s in slugs)
    for slug in slugs:
        fetched = (await client.get(f"/api/articles/{slug}")).json()["article"]
        assert fetched["title"] == "Same Title"
        assert fetched["tagList"] == ["new", "race"]
    listed = (await client.get("/api/articles", params={"tag": "race", "limit": 100})).json()
    assert listed["articlesCount"] == count
    assert (await client.get("/api/tags")).json()["tags"] == ["new", "race"]


async def test_articles_renamed_to_the_same_title_at_once_get_distinct_slugs(
    client: httpx.AsyncClient,
) -> None:
    token = await register(client, "writer")
    slugs = [(await create_article(client, token, f"Draft {i}"))["slug"] for i in range(5)]

    responses = await burst(
        *(
            client.put(
                f"/api/articles/{slug}", json={"article": {"title": "Final"}}, headers=auth(token)
            )
            for slug in slugs
        )
    )

    assert_all(responses, 200)
    new_slugs = [r.json()["article"]["slug"] for r in responses]
    assert len(set(new_slugs)) == len(slugs), new_slugs
    assert "final" in new_slugs
    for slug in new_slugs:
        assert (await client.get(f"/api/articles/{slug}")).json()["article"]["title"] == "Final"
    for slug in slugs:
        assert (await client.get(f"/api/articles/{slug}")).status_code == 404
