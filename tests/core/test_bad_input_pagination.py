"""Hostile pagination (`limit`, `offset`) on the lists: a 422 in the error shape, or clamped;
never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.bad_input.checks import check
from tests.bad_input.fixtures import World
from tests.bad_input.routes import BAD_PAGINATION, FAR, LIST_ROUTES
from tests.factories import auth


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize(("query", "key"), BAD_PAGINATION.items(), ids=BAD_PAGINATION.keys())
async def test_bad_pagination_is_422(
    client: httpx.AsyncClient, world: World, route: str, query: str, key: str
) -> None:
    response = await client.get(f"{route}?{query}", headers=auth(world.token))
    check(response, 422, key)


@pytest.mark.parametrize(
    "query",
    [
        "limit=+5",
        "limit=%205",
        "limit=5%20",
        "limit=1_0",
        "limit=05",
        "limit=%EF%BC%95",
        "limit=%D9%A5",
        "offset=%D9%A5",
        "page=+1",
        "limit=5&limit=abc",
        "limit=abc&limit=5",
    ],
)
async def test_odd_integer_spellings_are_not_a_500(
    client: httpx.AsyncClient, world: World, query: str
) -> None:
    check(await client.get(f"/api/articles?{query}"), {200, 422})


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("limit", [101, 10**9, 10**30], ids=["101", "10^9", "10^30"])
async def test_limit_above_the_cap_is_refused_or_clamped(
    client: httpx.AsyncClient, world: World, route: str, limit: int
) -> None:
    """The design allows either; what is never allowed is obeying it (or a 500)."""
    response = await client.get(f"{route}?limit={limit}", headers=auth(world.token))
    check(response, {200, 422})
    if response.status_code == 422:
        check(response, 422, "limit", "must be less than or equal to 100")
    else:
        assert len(response.json()["articles"]) <= 100


@pytest.mark.parametrize(
    ("route", "filters", "total"),
    [
        ("/api/articles", "", 5),
        ("/api/articles", "tag=existing&", 3),
        ("/api/articles", "author=alice&", 3),
        ("/api/articles/feed", "", 2),
    ],
    ids=["all", "tag", "author", "feed"],
)
@pytest.mark.parametrize("query", FAR.values(), ids=FAR.keys())
async def test_far_page_is_empty_with_the_true_total(
    client: httpx.AsyncClient,
    three_articles: World,
    route: str,
    filters: str,
    total: int,
    query: str,
) -> None:
    response = await client.get(f"{route}?{filters}{query}", headers=auth(three_articles.token))
    body = check(response, 200)
    assert body == {"articles": [], "articlesCount": total}


@pytest.mark.parametrize(
    ("query", "size"),
    [("limit=1", 1), ("limit=100", 5), ("limit=2&offset=4", 1), ("limit=2&page=2", 2), ("", 5)],
)
async def test_valid_pagination_edges(
    client: httpx.AsyncClient, three_articles: World, query: str, size: int
) -> None:
    body = check(await client.get(f"/api/articles?{query}"), 200)
    assert len(body["articles"]) == size
    assert body["articlesCount"] == 5
