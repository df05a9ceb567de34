"""No N+1: each read endpoint issues a fixed number of SQL statements, whatever the page size.

Measured (statements per request, BEGIN/COMMIT not counted; on PostgreSQL a read-only
request sends none, its session being in AUTOCOMMIT):

| request                                   | anonymous | signed in |
| ----------------------------------------- | --------- | --------- |
| GET /api/articles?limit=20 / limit=100    | 1         | 1         |
| GET /api/articles/feed?limit=20 / 100     | -         | 1         |
| GET /api/articles/{slug}                  | 1         | 1         |
| GET /api/articles/{slug}/comments (5/120) | 1         | 2         |

A list is one statement: the page (author, following, favorited, favoritesCount and the
tags by join and correlated subqueries) with the maintained count of what one filter
matches as a column. An article is one statement with its tags; the comments are one
statement with the article's existence. Signed in, the article reads check the token's
session and user in their own statement (auth.principal.Principal.token_check); the
comments add that check as a statement of its own.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import StatementCounter
from tests.factories import auth, create_article, register

ARTICLES = 130  # more than the largest page, so that every measured page is full
AUTHORS = 3


@pytest.fixture
async def world(client: httpx.AsyncClient) -> dict[str, Any]:
    reader = await register(client, "reader")
    authors = [await register(client, f"author{n}") for n in range(AUTHORS)]
    for n in range(AUTHORS):
        response = await client.post(f"/api/profiles/author{n}/follow", headers=auth(reader))
        assert response.status_code == 200
    slugs = []
    for n in range(ARTICLES):
        article = await create_article(
            client, authors[n % AUTHORS], f"Article {n}", tagList=[f"t{n % 7}", "common"]
        )
        slugs.append(article["slug"])
    for slug in slugs[::2]:
        response = await client.post(f"/api/articles/{slug}/favorite", headers=auth(reader))
        assert response.status_code == 200
    few, many = slugs[0], slugs[1]
    for n in range(120):
        slug = few if n < 5 else many
        body = {"comment": {"body": f"comment {n}"}}
        token = authors[n % AUTHORS]
        response = await client.post(
            f"/api/articles/{slug}/comments", json=body, headers=auth(token)
        )
        assert response.status_code == 201
    return {"reader": reader, "few": few, "many": many}


async def statements(
    client: httpx.AsyncClient, sql: StatementCounter, url: str, token: str | None = None
) -> tuple[int, Any]:
    with sql.counting() as executed:
        response = await client.get(url, headers=auth(token) if token else {})
    assert response.status_code == 200, response.text
    return len(executed), response.json()


# (url, signed in, expected statements); pairs differ only in page size or comment count.
# A list is one statement (its count is a column of it), the token check in it signed in.
EXPECTED = [
    ("/api/articles?limit=20", False, 1),
    ("/api/articles?limit=100", False, 1),
    ("/api/articles?limit=20", True, 1),
    ("/api/articles?limit=100", True, 1),
    ("/api/articles?tag=common&limit=100", True, 1),
    ("/api/articles?author=author1&limit=20", True, 1),
    ("/api/articles?favorited=reader&limit=50", True, 1),
    ("/api/articles/feed?limit=20", True, 1),
    ("/api/articles/feed?limit=100", True, 1),
    ("/api/articles/{few}", False, 1),
    ("/api/articles/{few}", True, 1),
    ("/api/articles/{few}/comments", False, 1),
    ("/api/articles/{many}/comments", False, 1),
    ("/api/articles/{few}/comments", True, 2),
    ("/api/articles/{many}/comments", True, 2),
]


async def test_read_endpoints_issue_a_fixed_number_of_statements(
    client: httpx.AsyncClient, sql: StatementCounter, world: dict[str, Any]
) -> None:
    measured = {}
    for template, signed_in, _ in EXPECTED:
        url = template.format(**world)
        count, body = await statements(client, sql, url, world["reader"] if signed_in else None)
        measured[(template, signed_in)] = count
        if "limit=" in url and "favorited" not in url:
            # Every measured page is full, so the page size really differs between pairs.
            assert len(body["articles"]) == int(url.rsplit("limit=", 1)[1])
            assert body["articlesCount"] >= len(body["articles"])
        if url.endswith("/comments"):
            assert len(body["comments"]) == (5 if world["few"] in url else 115)
            assert all(c["author"]["following"] is signed_in for c in body["comments"])
    assert measured == {(t, s): n for t, s, n in EXPECTED}
