"""OWASP API4:2023 Unrestricted Resource Consumption: paging.

Paging parameters that ask for too much or make no sense are refused on every list, no list
serves more than 100 items, a far page is simply empty, and numbers too long to parse
cheaply are refused wherever they appear.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import auth, create_article, error_body
from tests.factories.security import JSON, assert_refused, still_answers
from tests.security.support import staff_token

# --- paging --------------------------------------------------------------------------------

BAD_PAGING = [
    ("limit", "-1"),
    ("limit", "0"),
    ("limit", "101"),
    ("limit", "1000000"),
    ("limit", str(10**30)),
    ("limit", "abc"),
    ("limit", "1.5"),
    ("limit", "1e3"),
    ("limit", ""),
    ("offset", "-1"),
    ("offset", str(10**30)),
    ("offset", "NaN"),
    ("page", "0"),
    ("page", "-5"),
    ("page", str(10**30)),
    ("page", "infinity"),
]


@pytest.mark.parametrize(
    ("name", "value"), BAD_PAGING, ids=[f"{n}={v[:12]}" for n, v in BAD_PAGING]
)
async def test_api4_out_of_range_paging_is_refused_on_every_list(
    client: httpx.AsyncClient, settings: Any, name: str, value: str
) -> None:
    admin = await staff_token(client, settings, "root")
    lists = ["/api/articles", "/api/articles/feed", "/api/api-keys", "/api/admin/users"]
    if name == "offset":
        lists = lists[:2]  # the numbered lists take `page` only
    for path in lists:
        response = await client.get(path, params={name: value}, headers=auth(admin))
        assert_refused(response, (422,))
        assert list(error_body(response)["errors"]) == [name]


async def test_api4_more_than_100_items_are_never_served(
    client: httpx.AsyncClient, alice: str
) -> None:
    for n in range(101):
        await create_article(client, alice, f"Article {n}")
    for query in (
        "limit=100",
        "limit=1000&limit=100",
        "limit=100&limit=1000",
        "limit=100&offset=0&page=1",
    ):
        response = await client.get(f"/api/articles?{query}")
        if response.status_code == 200:
            assert len(response.json()["articles"]) <= 100
            assert response.json()["articlesCount"] == 101
        else:
            assert_refused(response, (422,))


async def test_api4_a_far_offset_or_page_answers_an_empty_page(
    client: httpx.AsyncClient, alice: str
) -> None:
    await create_article(client, alice)
    for params in ({"offset": 2**53 - 1}, {"page": (2**53 - 1) // 100, "limit": 100}):
        response = await client.get("/api/articles", params=params)
        assert response.status_code == 200, response.text
        assert response.json() == {"articles": [], "articlesCount": 1}
    keys = await client.get("/api/api-keys", params={"page": 10**6}, headers=auth(alice))
    assert keys.status_code == 200
    assert keys.json()["items"] == []


async def test_api4_numbers_too_long_to_parse_cheaply_are_refused(
    client: httpx.AsyncClient, alice: str
) -> None:
    """Parsing a decimal of thousands of digits is quadratic (CVE-2020-10735): such numbers
    in a query, a path or a JSON body are refused, not computed with."""
    digits = "9" * 5000
    attempts = [
        client.get("/api/articles", params={"limit": digits}),
        client.get("/api/articles", params={"offset": digits}),
        client.delete(f"/api/articles/x/comments/{digits}", headers=auth(alice)),
        client.delete(f"/api/api-keys/{digits}", headers=auth(alice)),
        client.post(
            "/api/api-keys",
            content=b'{"name": "x", "expiresInDays": ' + digits.encode() + b"}",
            headers={**JSON, **auth(alice)},
        ),
        client.post("/api/users", content=b'{"user": {"username": 1e99999}}', headers=JSON),
    ]
    for attempt in attempts:
        assert_refused(await attempt, (400, 422))
    await still_answers(client)
