"""Comments on articles over HTTP (RealWorld spec and API.md)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import add_comment, auth, create_article, error_body

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MISSING_TOKEN = {"errors": {"token": ["is missing"]}}
ARTICLE_NOT_FOUND = {"errors": {"article": ["not found"]}}
COMMENT_NOT_FOUND = {"errors": {"comment": ["not found"]}}
COMMENT_FORBIDDEN = {"errors": {"comment": ["forbidden"]}}


# --- helpers --------------------------------------------------------------------


def comments_path(slug: str) -> str:
    return f"/api/articles/{slug}/comments"


async def post_comment(
    client: httpx.AsyncClient, token: str, slug: str, body: Any = "Nice article"
) -> httpx.Response:
    return await client.post(
        comments_path(slug), json={"comment": {"body": body}}, headers=auth(token)
    )


async def list_comments(
    client: httpx.AsyncClient, slug: str, token: str | None = None
) -> list[dict[str, Any]]:
    response = await client.get(comments_path(slug), headers=auth(token) if token else {})
    assert response.status_code == 200, response.text
    comments: list[dict[str, Any]] = response.json()["comments"]
    return comments


async def delete_comment(
    client: httpx.AsyncClient, token: str | None, slug: str, comment_id: object
) -> httpx.Response:
    headers = auth(token) if token else {}
    return await client.delete(f"{comments_path(slug)}/{comment_id}", headers=headers)


async def comment_ids(client: httpx.AsyncClient, slug: str) -> list[int]:
    return [comment["id"] for comment in await list_comments(client, slug)]


# --- fixtures -------------------------------------------------------------------


@pytest.fixture
async def slug(client: httpx.AsyncClient, alice: str) -> str:
    article = await create_article(client, alice, "Commented")
    result: str = article["slug"]
    return result


@pytest.fixture
async def other_slug(client: httpx.AsyncClient, alice: str) -> str:
    article = await create_article(client, alice, "Another one")
    result: str = article["slug"]
    return result


# --- POST /api/articles/{slug}/comments ------------------------------------------------


async def test_create_returns_the_comment(client: httpx.AsyncClient, bob: str, slug: str) -> None:
    response = await post_comment(client, bob, slug, "Thank you so much!")

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"comment"}
    comment = body["comment"]
    assert set(comment) == {"id", "createdAt", "updatedAt", "body", "author"}
    assert isinstance(comment["id"], int)
    assert comment["body"] == "Thank you so much!"
    assert TIMESTAMP.match(comment["createdAt"])
    assert TIMESTAMP.match(comment["updatedAt"])
    assert comment["author"] == {"username": "bob", "bio": None, "image": None, "following": False}


async def test_create_keeps_the_body_verbatim(
    client: httpx.AsyncClient, bob: str, slug: str
) -> None:
    comment = await add_comment(client, bob, slug, "  indented\n\nmarkdown  ")

    assert comment["body"] == "  indented\n\nmarkdown  "


async def test_each_comment_gets_its_own_id(client: httpx.AsyncClient, bob: str, slug: str) -> None:
    first = await add_comment(client, bob, slug, "one")
    second = await add_comment(client, bob, slug, "one")

    assert first["id"] != second["id"]


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
async def test_create_blank_body_is_422(
    client: httpx.AsyncClient, bob: str, slug: str, body: str
) -> None:
    response = await post_comment(client, bob, slug, body)

    assert response.status_code == 422
    assert response.json()["errors"] == {"body": ["can't be blank"]}
    assert await list_comments(client, slug) == []


async def test_create_missing_body_is_422(client: httpx.AsyncClient, bob: str, slug: str) -> None:
    response = await client.post(comments_path(slug), json={"comment": {}}, headers=auth(bob))

    assert response.status_code == 422
    assert response.json()["errors"] == {"body": ["can't be blank"]}


async def test_create_on_unknown_article_is_404(client: httpx.AsyncClient, bob: str) -> None:
    response = await post_comment(client, bob, "no-such-article")

    assert response.status_code == 404
    assert error_body(response) == ARTICLE_NOT_FOUND


@pytest.mark.parametrize("article", ["existing", "no-such-article"])
async def test_create_without_token_is_401(
    client: httpx.AsyncClient, slug: str, article: str
) -> None:
    target = slug if article == "existing" else article

    response = await client.post(comments_path(target), json={"comment": {"body": "hi"}})

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN
    assert await list_comments(client, slug) == []


# --- GET /api/articles/{slug}/comments -------------------------------------------------


async def test_list_anonymous_newest_first(
    client: httpx.AsyncClient, alice: str, bob: str, slug: str
) -> None:
    first = await add_comment(client, bob, slug, "first")
    second = await add_comment(client, alice, slug, "second")

    comments = await list_comments(client, slug)

    assert comments == [second, first]


async def test_list_only_this_articles_comments(
    client: httpx.AsyncClient, bob: str, slug: str, other_slug: str
) -> None:
    mine = await add_comment(client, bob, slug, "here")
    await add_comment(client, bob, other_slug, "elsewhere")

    assert await list_comments(client, slug) == [mine]


async def test_list_empty(client: httpx.AsyncClient, slug: str) -> None:
    assert await list_comments(client, slug) == []


async def test_list_signed_in_shows_following(
    client: httpx.AsyncClient, alice: str, bob: str, carol: str, slug: str
) -> None:
    await add_comment(client, bob, slug, "by bob")
    await add_comment(client, carol, slug, "by carol")
    followed = await client.post("/api/profiles/bob/follow", headers=auth(alice))
    assert followed.status_code == 200

    def following(comments: list[dict[str, Any]]) -> dict[str, bool]:
        return {c["author"]["username"]: c["author"]["following"] for c in comments}

    assert following(await list_comments(client, slug, alice)) == {"bob": True, "carol": False}
    assert following(await list_comments(client, slug, carol)) == {"bob": False, "carol": False}
    assert following(await list_comments(client, slug)) == {"bob": False, "carol": False}


async def test_list_on_unknown_article_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(comments_path("no-such-article"))

    assert response.status_code == 404
    assert error_body(response) == ARTICLE_NOT_FOUND


# --- DELETE /api/articles/{slug}/comments/{id} -----------------------------------------


async def test_delete_by_comment_author(client: httpx.AsyncClient, bob: str, slug: str) -> None:
    doomed = await add_comment(client, bob, slug, "doomed")
    kept = await add_comment(client, bob, slug, "kept")

    response = await delete_comment(client, bob, slug, doomed["id"])

    assert response.status_code == 204
    assert response.content == b""
    assert await list_comments(client, slug) == [kept]
    again = await delete_comment(client, bob, slug, doomed["id"])
    assert again.status_code == 404
    assert error_body(again) == COMMENT_NOT_FOUND


async def test_delete_by_another_user_is_403(
    client: httpx.AsyncClient, bob: str, carol: str, slug: str
) -> None:
    comment = await add_comment(client, bob, slug)

    response = await delete_comment(client, carol, slug, comment["id"])

    assert response.status_code == 403
    assert error_body(response) == COMMENT_FORBIDDEN
    assert await comment_ids(client, slug) == [comment["id"]]


async def test_delete_by_the_articles_author_is_403(
    client: httpx.AsyncClient, alice: str, bob: str, slug: str
) -> None:
    comment = await add_comment(client, bob, slug)

    response = await delete_comment(client, alice, slug, comment["id"])

    assert response.status_code == 403
    assert error_body(response) == COMMENT_FORBIDDEN
    assert await comment_ids(client, slug) == [comment["id"]]


async def test_delete_unknown_id_is_404(client: httpx.AsyncClient, bob: str, slug: str) -> None:
    comment = await add_comment(client, bob, slug)

    response = await delete_comment(client, bob, slug, comment["id"] + 1000)

    assert response.status_code == 404
    assert error_body(response) == COMMENT_NOT_FOUND
    assert await comment_ids(client, slug) == [comment["id"]]


async def test_delete_through_another_articles_slug_is_404(
    client: httpx.AsyncClient, bob: str, slug: str, other_slug: str
) -> None:
    comment = await add_comment(client, bob, slug)

    response = await delete_comment(client, bob, other_slug, comment["id"])

    assert response.status_code == 404
    assert error_body(response) == COMMENT_NOT_FOUND
    assert await comment_ids(client, slug) == [comment["id"]]


async def test_delete_on_unknown_article_is_404_article(
    client: httpx.AsyncClient, bob: str, slug: str
) -> None:
    comment = await add_comment(client, bob, slug)

    response = await delete_comment(client, bob, "no-such-article", comment["id"])

    assert response.status_code == 404
    assert error_body(response) == ARTICLE_NOT_FOUND


@pytest.mark.parametrize("comment_id", ["abc", "1.5", "0", "-1", "99999999999"])
async def test_delete_with_malformed_id_is_422(
    client: httpx.AsyncClient, bob: str, slug: str, comment_id: str
) -> None:
    response = await delete_comment(client, bob, slug, comment_id)

    assert response.status_code == 422
    assert "id" in response.json()["errors"]


@pytest.mark.parametrize("article", ["existing", "no-such-article"])
async def test_delete_without_token_is_401(
    client: httpx.AsyncClient, bob: str, slug: str, article: str
) -> None:
    comment = await add_comment(client, bob, slug)
    target = slug if article == "existing" else article

    response = await delete_comment(client, None, target, comment["id"])

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN
    assert "WWW-Authenticate" in response.headers
    assert await comment_ids(client, slug) == [comment["id"]]
