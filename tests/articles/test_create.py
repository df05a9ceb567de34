"""POST /api/articles: the article created, and the input refused (RealWorld spec and API.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import (
    MISSING_TOKEN,
    TIMESTAMP,
    auth,
    create_article,
    error_body,
    errors,
    get_article,
    list_articles,
    update_article,
)


async def post_article(client: httpx.AsyncClient, token: str, **overrides: Any) -> httpx.Response:
    payload = {"title": "A title", "description": "about it", "body": "the body", **overrides}
    return await client.post("/api/articles", json={"article": payload}, headers=auth(token))


async def test_create_returns_the_full_article(client: httpx.AsyncClient, alice: str) -> None:
    response = await post_article(
        client,
        alice,
        title="How to Train",
        description="Ever wonder how?",
        body="You have to believe",
        tagList=["training", "dragons", "training", "angular"],
    )

    assert response.status_code == 201, response.text
    article = response.json()["article"]
    assert article["slug"] == "how-to-train"
    assert article["title"] == "How to Train"
    assert article["description"] == "Ever wonder how?"
    assert article["body"] == "You have to believe"
    assert article["tagList"] == ["angular", "dragons", "training"]
    assert TIMESTAMP.match(article["createdAt"])
    assert TIMESTAMP.match(article["updatedAt"])
    assert article["favorited"] is False
    assert article["favoritesCount"] == 0
    assert article["author"] == {
        "username": "alice",
        "bio": None,
        "image": None,
        "following": False,
    }


async def test_create_is_readable_back(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice, "Persisted", tagList=["b", "a"])

    response = await get_article(client, created["slug"])

    assert response.status_code == 200
    assert response.json()["article"] == created


async def test_same_title_twice_gets_distinct_slugs(client: httpx.AsyncClient, alice: str) -> None:
    first = await create_article(client, alice, "How to Train")
    second = await create_article(client, alice, "How to Train")

    assert first["slug"] == "how-to-train"
    assert second["slug"] != first["slug"]
    assert second["slug"].startswith("how-to-train")
    for article in (first, second):
        assert (await get_article(client, article["slug"])).json()["article"] == article


async def test_the_feed_route_name_is_never_a_slug(client: httpx.AsyncClient, alice: str) -> None:
    article = await create_article(client, alice, "Feed")
    assert article["slug"].startswith("feed-")
    assert (await get_article(client, article["slug"])).json()["article"] == article
    renamed = (await update_article(client, alice, article["slug"], title="FEED!")).json()
    assert renamed["article"]["slug"].startswith("feed-")

    for method in ("PUT", "DELETE", "OPTIONS"):
        response = await client.request(method, "/api/articles/feed", headers=auth(alice))
        assert response.status_code == 405, (method, response.text)
        assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize("field", ["title", "description", "body"])
@pytest.mark.parametrize("value", ["", "   "])
async def test_create_rejects_a_blank_field(
    client: httpx.AsyncClient, alice: str, field: str, value: str
) -> None:
    response = await post_article(client, alice, **{field: value})

    assert response.status_code == 422
    assert errors(response) == {field: ["can't be blank"]}
    assert (await list_articles(client))["articlesCount"] == 0


@pytest.mark.parametrize(("field", "limit"), [("title", 255), ("description", 1024)])
async def test_a_stripped_field_counts_its_length_as_sent(
    client: httpx.AsyncClient, alice: str, field: str, limit: int
) -> None:
    """The schema's maxLength is about the string sent, surrounding blanks included."""
    response = await post_article(client, alice, **{field: " " + "x" * limit})
    assert response.status_code == 422, response.text
    assert errors(response) == {field: [f"is too long (maximum is {limit} characters)"]}
    stripped = await post_article(client, alice, **{field: " " + "x" * (limit - 1) + " "})
    assert stripped.status_code == 422  # limit + 1 as sent
    assert (await post_article(client, alice, **{field: " " + "x" * (limit - 1)})).is_success


@pytest.mark.parametrize("field", ["title", "description", "body"])
async def test_create_rejects_a_missing_field(
    client: httpx.AsyncClient, alice: str, field: str
) -> None:
    payload = {"title": "A title", "description": "about it", "body": "the body"}
    del payload[field]

    response = await client.post("/api/articles", json={"article": payload}, headers=auth(alice))

    assert response.status_code == 422
    assert errors(response) == {field: ["can't be blank"]}


@pytest.mark.parametrize("tag_list", [["ok", ""], ["ok", "   "]])
async def test_create_rejects_a_blank_tag(
    client: httpx.AsyncClient, alice: str, tag_list: list[str]
) -> None:
    response = await post_article(client, alice, tagList=tag_list)

    assert response.status_code == 422
    assert "tagList" in errors(response)


async def test_create_accepts_twenty_tags_but_not_more(
    client: httpx.AsyncClient, alice: str
) -> None:
    twenty = [f"tag{i:02d}" for i in range(20)]

    accepted = await post_article(client, alice, tagList=twenty)
    refused = await post_article(client, alice, title="Other", tagList=[*twenty, "tag20"])

    assert accepted.status_code == 201
    assert accepted.json()["article"]["tagList"] == twenty
    assert refused.status_code == 422
    assert "tagList" in errors(refused)


async def test_create_accepts_255_character_title_but_not_256(
    client: httpx.AsyncClient, alice: str
) -> None:
    accepted = await post_article(client, alice, title="t" * 255)
    refused = await post_article(client, alice, title="t" * 256)

    assert accepted.status_code == 201
    assert refused.status_code == 422
    assert "title" in errors(refused)


async def test_create_without_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/articles", json={"article": {"title": "t", "description": "d", "body": "b"}}
    )

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN
    assert "WWW-Authenticate" in response.headers
