"""GET /api/articles: newest first, paging, the tag/author/favorited filters, the reader's view."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import auth, create_article, errors, favorite, follow, list_articles, slugs


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
