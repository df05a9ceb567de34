"""Articles, the feed, favorites and tags over HTTP (RealWorld spec and API.md)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.factories import auth, create_article, error_body, follow, tags

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MISSING_TOKEN = {"errors": {"token": ["is missing"]}}
ARTICLE_NOT_FOUND = {"errors": {"article": ["not found"]}}
ARTICLE_FORBIDDEN = {"errors": {"article": ["forbidden"]}}


# --- helpers --------------------------------------------------------------------


def errors(response: httpx.Response) -> dict[str, list[str]]:
    result: dict[str, list[str]] = response.json()["errors"]
    return result


def slugs(page: dict[str, Any]) -> list[str]:
    return [article["slug"] for article in page["articles"]]


async def list_articles(
    client: httpx.AsyncClient, token: str | None = None, **params: Any
) -> dict[str, Any]:
    headers = auth(token) if token else {}
    response = await client.get("/api/articles", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def feed(client: httpx.AsyncClient, token: str, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/articles/feed", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def get_article(
    client: httpx.AsyncClient, slug: str, token: str | None = None
) -> httpx.Response:
    return await client.get(f"/api/articles/{slug}", headers=auth(token) if token else {})


async def update_article(
    client: httpx.AsyncClient, token: str, slug: str, **fields: Any
) -> httpx.Response:
    return await client.put(f"/api/articles/{slug}", json={"article": fields}, headers=auth(token))


async def post_article(client: httpx.AsyncClient, token: str, **overrides: Any) -> httpx.Response:
    payload = {"title": "A title", "description": "about it", "body": "the body", **overrides}
    return await client.post("/api/articles", json={"article": payload}, headers=auth(token))


async def favorite(client: httpx.AsyncClient, token: str, slug: str) -> dict[str, Any]:
    response = await client.post(f"/api/articles/{slug}/favorite", headers=auth(token))
    assert response.status_code == 200, response.text
    article: dict[str, Any] = response.json()["article"]
    return article


async def unfavorite(client: httpx.AsyncClient, token: str, slug: str) -> dict[str, Any]:
    response = await client.delete(f"/api/articles/{slug}/favorite", headers=auth(token))
    assert response.status_code == 200, response.text
    article: dict[str, Any] = response.json()["article"]
    return article


async def count_rows(app: Any, table: str) -> int:
    async with app.state.db.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608


# --- fixtures -------------------------------------------------------------------


# --- POST /api/articles ------------------------------------------------------------


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


# --- GET /api/articles ----------------------------------------------------------------


async def test_list_is_newest_first_without_bodies(client: httpx.AsyncClient, alice: str) -> None:
    first = await create_article(client, alice, "First")
    second = await create_article(client, alice, "Second")
    third = await create_article(client, alice, "Third")

    page = await list_articles(client)

    assert slugs(page) == [third["slug"], second["slug"], first["slug"]]
    assert page["articlesCount"] == 3
    for item in page["articles"]:
        assert "body" not in item
    expected = {key: value for key, value in third.items() if key != "body"}
    assert page["articles"][0] == expected


async def test_list_empty(client: httpx.AsyncClient) -> None:
    assert await list_articles(client) == {"articles": [], "articlesCount": 0}


async def test_count_is_the_total_not_the_page_size(client: httpx.AsyncClient, alice: str) -> None:
    for n in range(5):
        await create_article(client, alice, f"Article {n}")

    first_page = await list_articles(client, limit=2)
    last_page = await list_articles(client, limit=2, offset=4)
    past_the_end = await list_articles(client, limit=2, offset=10)

    assert len(first_page["articles"]) == 2
    assert first_page["articlesCount"] == 5
    assert len(last_page["articles"]) == 1
    assert last_page["articlesCount"] == 5
    assert past_the_end == {"articles": [], "articlesCount": 5}


async def test_limit_and_offset_walk_the_list(client: httpx.AsyncClient, alice: str) -> None:
    created = [await create_article(client, alice, f"Article {n}") for n in range(3)]
    newest_first = [article["slug"] for article in reversed(created)]

    walked = [slugs(await list_articles(client, limit=1, offset=n))[0] for n in range(3)]

    assert walked == newest_first
    assert slugs(await list_articles(client, limit=2, offset=1)) == newest_first[1:]


async def test_page_is_an_alternative_to_offset(client: httpx.AsyncClient, alice: str) -> None:
    for n in range(3):
        await create_article(client, alice, f"Article {n}")

    by_page = await list_articles(client, page=2, limit=1)
    by_offset = await list_articles(client, offset=1, limit=1)

    assert by_page == by_offset
    assert by_page["articlesCount"] == 3
    assert len(by_page["articles"]) == 1
    assert by_page != await list_articles(client, offset=0, limit=1)


@pytest.mark.parametrize(
    ("param", "value"),
    [("limit", 0), ("limit", 101), ("limit", -1), ("offset", -1), ("page", 0), ("limit", "x")],
)
async def test_bad_paging_is_422(
    client: httpx.AsyncClient, alice: str, param: str, value: object
) -> None:
    await create_article(client, alice)

    response = await client.get("/api/articles", params={param: value})

    assert response.status_code == 422
    assert param in errors(response)


async def test_limit_100_is_allowed(client: httpx.AsyncClient, alice: str) -> None:
    await create_article(client, alice)

    assert (await list_articles(client, limit=100))["articlesCount"] == 1


async def test_filter_by_tag(client: httpx.AsyncClient, alice: str) -> None:
    dragons = await create_article(client, alice, "Dragons", tagList=["dragons", "fantasy"])
    await create_article(client, alice, "Cooking", tagList=["food"])
    knights = await create_article(client, alice, "Knights", tagList=["fantasy"])

    page = await list_articles(client, tag="fantasy")

    assert slugs(page) == [knights["slug"], dragons["slug"]]
    assert page["articlesCount"] == 2
    # The filter selects articles, it does not trim their other tags.
    assert page["articles"][1]["tagList"] == ["dragons", "fantasy"]


async def test_filter_by_author(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    mine = await create_article(client, alice, "Mine")
    await create_article(client, bob, "His")

    page = await list_articles(client, author="alice")

    assert slugs(page) == [mine["slug"]]
    assert page["articlesCount"] == 1
    assert page["articles"][0]["author"]["username"] == "alice"


async def test_filter_by_favorited(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    liked = await create_article(client, alice, "Liked")
    await create_article(client, alice, "Ignored")
    await favorite(client, bob, liked["slug"])

    page = await list_articles(client, favorited="bob")

    assert slugs(page) == [liked["slug"]]
    assert page["articlesCount"] == 1
    assert page["articles"][0]["favoritesCount"] == 1
    # Read anonymously: favorited is about the reader, not the filter.
    assert page["articles"][0]["favorited"] is False
    assert await list_articles(client, favorited="alice") == {"articles": [], "articlesCount": 0}


async def test_filters_combine(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    target = await create_article(client, alice, "Target", tagList=["x"])
    other_tag = await create_article(client, alice, "Other tag", tagList=["y"])
    other_author = await create_article(client, bob, "Other author", tagList=["x"])
    for article in (target, other_tag, other_author):
        await favorite(client, bob, article["slug"])
    await create_article(client, alice, "Not favorited", tagList=["x"])

    page = await list_articles(client, tag="x", author="alice", favorited="bob")

    assert slugs(page) == [target["slug"]]
    assert page["articlesCount"] == 1
    assert (await list_articles(client, tag="x", author="alice"))["articlesCount"] == 2


@pytest.mark.parametrize("params", [{"author": "nobody"}, {"tag": "nothing"}, {"favorited": "x"}])
async def test_unknown_filter_value_gives_an_empty_list(
    client: httpx.AsyncClient, alice: str, params: dict[str, str]
) -> None:
    await create_article(client, alice, tagList=["real"])

    assert await list_articles(client, **params) == {"articles": [], "articlesCount": 0}


async def test_signed_in_reader_sees_favorited_and_following(
    client: httpx.AsyncClient, alice: str, bob: str, carol: str
) -> None:
    by_alice = await create_article(client, alice, "By alice")
    by_carol = await create_article(client, carol, "By carol")
    await favorite(client, bob, by_alice["slug"])
    await follow(client, bob, "alice")

    as_bob = {a["slug"]: a for a in (await list_articles(client, bob))["articles"]}
    anonymous = {a["slug"]: a for a in (await list_articles(client))["articles"]}
    as_carol = {a["slug"]: a for a in (await list_articles(client, carol))["articles"]}

    assert as_bob[by_alice["slug"]]["favorited"] is True
    assert as_bob[by_alice["slug"]]["author"]["following"] is True
    assert as_bob[by_carol["slug"]]["favorited"] is False
    assert as_bob[by_carol["slug"]]["author"]["following"] is False
    for view in (anonymous, as_carol):
        assert view[by_alice["slug"]]["favorited"] is False
        assert view[by_alice["slug"]]["author"]["following"] is False
        assert view[by_alice["slug"]]["favoritesCount"] == 1


async def test_bad_token_on_optional_route_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/articles", headers=auth("not-a-jwt"))

    assert response.status_code == 401
    assert "token" in errors(response)


# --- GET /api/articles/feed --------------------------------------------------------


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


# --- GET /api/articles/{slug} ---------------------------------------------------------


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


# --- PUT /api/articles/{slug} ----------------------------------------------------------


async def test_update_body_keeps_the_rest(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice, "Kept title", tagList=["b", "a"])

    response = await update_article(client, alice, created["slug"], body="New body")

    assert response.status_code == 200, response.text
    updated = response.json()["article"]
    assert updated["body"] == "New body"
    assert updated["slug"] == created["slug"]
    assert updated["title"] == created["title"]
    assert updated["description"] == created["description"]
    assert updated["tagList"] == ["a", "b"]
    assert updated["createdAt"] == created["createdAt"]
    assert updated["updatedAt"] != created["updatedAt"]
    assert updated["updatedAt"] > created["updatedAt"]
    assert TIMESTAMP.match(updated["updatedAt"])
    assert (await get_article(client, created["slug"])).json()["article"] == updated


async def test_update_tag_list(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice, tagList=["old", "kept"])

    replaced = await update_article(client, alice, created["slug"], tagList=["new", "kept", "new"])
    cleared = await update_article(client, alice, created["slug"], tagList=[])

    assert replaced.status_code == 200
    assert replaced.json()["article"]["tagList"] == ["kept", "new"]
    assert cleared.status_code == 200
    assert cleared.json()["article"]["tagList"] == []
    assert (await get_article(client, created["slug"])).json()["article"]["tagList"] == []
    assert await list_articles(client, tag="kept") == {"articles": [], "articlesCount": 0}


@pytest.mark.parametrize("field", ["tagList", "title", "description", "body"])
async def test_update_with_null_is_422(client: httpx.AsyncClient, alice: str, field: str) -> None:
    created = await create_article(client, alice, tagList=["keep"])

    response = await update_article(client, alice, created["slug"], **{field: None})

    assert response.status_code == 422
    assert field in errors(response)
    assert (await get_article(client, created["slug"])).json()["article"] == created


@pytest.mark.parametrize("field", ["title", "description", "body"])
async def test_update_with_blank_is_422(client: httpx.AsyncClient, alice: str, field: str) -> None:
    created = await create_article(client, alice)

    response = await update_article(client, alice, created["slug"], **{field: "  "})

    assert response.status_code == 422
    assert errors(response) == {field: ["can't be blank"]}


async def test_update_title_changes_the_slug(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice, "Old Title")

    response = await update_article(client, alice, created["slug"], title="Brand New Title")

    assert response.status_code == 200
    updated = response.json()["article"]
    assert updated["slug"] == "brand-new-title"
    assert updated["title"] == "Brand New Title"
    assert (await get_article(client, "brand-new-title")).status_code == 200
    old = await get_article(client, created["slug"])
    assert old.status_code == 404
    assert error_body(old) == ARTICLE_NOT_FOUND


async def test_update_title_to_one_taken_gets_a_distinct_slug(
    client: httpx.AsyncClient, alice: str
) -> None:
    taken = await create_article(client, alice, "Taken")
    other = await create_article(client, alice, "Other")

    response = await update_article(client, alice, other["slug"], title="Taken")

    assert response.status_code == 200
    assert response.json()["article"]["slug"] not in {taken["slug"], other["slug"]}
    assert (await get_article(client, taken["slug"])).json()["article"]["title"] == "Taken"


async def test_update_by_another_user_is_403_and_changes_nothing(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    created = await create_article(client, alice, tagList=["t"])

    response = await update_article(client, bob, created["slug"], title="Hijacked", tagList=[])

    assert response.status_code == 403
    assert error_body(response) == ARTICLE_FORBIDDEN
    assert (await get_article(client, created["slug"])).json()["article"] == created


async def test_update_unknown_slug_is_404(client: httpx.AsyncClient, alice: str) -> None:
    response = await update_article(client, alice, "no-such-article", body="x")

    assert response.status_code == 404
    assert error_body(response) == ARTICLE_NOT_FOUND


# --- DELETE /api/articles/{slug} ----------------------------------------------------------


async def test_delete_by_author(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice)

    response = await client.delete(f"/api/articles/{created['slug']}", headers=auth(alice))

    assert response.status_code == 204
    assert response.content == b""
    gone = await get_article(client, created["slug"])
    assert gone.status_code == 404
    assert error_body(gone) == ARTICLE_NOT_FOUND
    assert await list_articles(client) == {"articles": [], "articlesCount": 0}
    again = await client.delete(f"/api/articles/{created['slug']}", headers=auth(alice))
    assert again.status_code == 404
    assert error_body(again) == ARTICLE_NOT_FOUND


async def test_delete_by_another_user_is_403_and_keeps_it(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    created = await create_article(client, alice)

    response = await client.delete(f"/api/articles/{created['slug']}", headers=auth(bob))

    assert response.status_code == 403
    assert error_body(response) == ARTICLE_FORBIDDEN
    assert (await get_article(client, created["slug"])).json()["article"] == created


async def test_delete_hides_the_article_with_its_comments_favorites_and_tags(
    client: httpx.AsyncClient, app: Any, alice: str, bob: str
) -> None:
    created = await create_article(client, alice, tagList=["gone"])
    kept = await create_article(client, alice, "Kept")
    await favorite(client, bob, created["slug"])
    await favorite(client, bob, kept["slug"])
    comment = await client.post(
        f"/api/articles/{created['slug']}/comments",
        json={"comment": {"body": "nice"}},
        headers=auth(bob),
    )
    assert comment.status_code == 201

    response = await client.delete(f"/api/articles/{created['slug']}", headers=auth(alice))

    assert response.status_code == 204
    page = await list_articles(client, favorited="bob")
    assert slugs(page) == [kept["slug"]]
    assert page["articlesCount"] == 1
    assert "gone" not in await tags(client)
    # A soft delete: the rows stay, so that a moderator can restore the article.
    assert await count_rows(app, "comments") == 1
    assert await count_rows(app, "favorites") == 2
    assert await count_rows(app, "article_tags") == 1
    comments = await client.get(f"/api/articles/{created['slug']}/comments")
    assert comments.status_code == 404
    assert error_body(comments) == ARTICLE_NOT_FOUND


# --- authentication before existence -------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/articles/no-such-article"),
        ("DELETE", "/api/articles/no-such-article"),
        ("POST", "/api/articles/no-such-article/favorite"),
        ("DELETE", "/api/articles/no-such-article/favorite"),
    ],
)
async def test_write_without_token_is_401_even_for_unknown_slug(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    body = {"article": {"body": "x"}} if method == "PUT" else None

    response = await client.request(method, path, json=body)

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_write_without_token_leaves_the_article(
    client: httpx.AsyncClient, alice: str, method: str
) -> None:
    created = await create_article(client, alice)
    body = {"article": {"body": "x"}} if method == "PUT" else None

    response = await client.request(method, f"/api/articles/{created['slug']}", json=body)

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN
    assert (await get_article(client, created["slug"])).json()["article"] == created


# --- favorites --------------------------------------------------------------------------


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


# --- GET /api/tags ------------------------------------------------------------------------


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
