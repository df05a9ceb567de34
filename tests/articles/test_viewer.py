"""The article reads check an access token in their own statement (`Principal.token_check`):
the list, its filters, the feed and one article. Their answers must be those of the separate
check every other route makes: a token whose session has ended (logout, expiry) or whose user
is deactivated is refused with 401 `token: is invalid`, whether the read found rows to carry
the check or found none (a page past the end, a missing article: 401, not 200 or 404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from tests.auth.test_sessions import set_active
from tests.factories import api_key, auth, create_article, make_key, register

INVALID = {"token": ["is invalid"]}

# (url, what a live token gets); `{slug}` is an article of bob's that alice favorited.
READS = [
    ("/api/articles", 200),
    ("/api/articles?tag=shared", 200),  # one filter: the page carries its count too
    ("/api/articles?author=bob&favorited=alice", 200),  # combined: counted apart
    ("/api/articles?tag=nothing-tagged", 200),  # no row
    ("/api/articles?offset=100", 200),  # a page past the end: no row
    ("/api/articles/feed", 200),
    ("/api/articles/feed?offset=100", 200),  # no row
    ("/api/articles/{slug}", 200),
    ("/api/articles/no-such-article", 404),  # no row
]


@pytest.fixture
async def world(client: httpx.AsyncClient) -> dict[str, Any]:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    article = await create_article(client, bob, "Read me", tagList=["shared"])
    slug = article["slug"]
    for url in ("/api/profiles/bob/follow", f"/api/articles/{slug}/favorite"):
        assert (await client.post(url, headers=auth(alice))).status_code == 200
    return {"alice": alice, "slug": slug}


async def answers(client: httpx.AsyncClient, slug: str, headers: dict[str, str]) -> list[Any]:
    found = []
    for url, _ in READS:
        response = await client.get(url.format(slug=slug), headers=headers)
        found.append((response.status_code, response.json()))
    return found


async def test_a_live_token_reads_its_own_view(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    found = await answers(client, world["slug"], auth(world["alice"]))
    assert [status for status, _ in found] == [status for _, status in READS]
    lists = [body["articles"] for status, body in found if "articles" in body]
    article = found[READS.index(("/api/articles/{slug}", 200))][1]["article"]
    for view in [*(items[0] for items in lists if items), article]:
        assert view["slug"] == world["slug"]
        assert view["favorited"] is True
        assert view["author"]["following"] is True
    assert [len(items) for items in lists] == [1, 1, 1, 0, 0, 1, 0]


async def _logout(client: httpx.AsyncClient, app: Any, token: str) -> None:
    assert (await client.post("/api/auth/logout", headers=auth(token))).status_code == 204


async def _expire(client: httpx.AsyncClient, app: Any, token: str) -> None:
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE sessions SET expires_at = :past"),
            {"past": datetime.now(UTC) - timedelta(seconds=1)},
        )


async def _deactivate(client: httpx.AsyncClient, app: Any, token: str) -> None:
    await set_active(app, "alice", False)


@pytest.mark.parametrize("end", [_logout, _expire, _deactivate])
async def test_an_ended_session_is_refused_with_or_without_rows(
    client: httpx.AsyncClient,
    app: Any,
    world: dict[str, Any],
    end: Callable[[httpx.AsyncClient, Any, str], Awaitable[None]],
) -> None:
    await end(client, app, world["alice"])
    found = await answers(client, world["slug"], auth(world["alice"]))
    assert [(status, body["errors"]) for status, body in found] == [(401, INVALID)] * len(READS)


async def test_a_forged_token_is_refused_before_the_read(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    found = await answers(client, world["slug"], auth(world["alice"][:-2] + "xx"))
    assert [(status, body["errors"]) for status, body in found] == [(401, INVALID)] * len(READS)


async def test_an_api_key_reads_its_owners_view(
    client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    created = await make_key(client, world["alice"], [])
    found = await answers(client, world["slug"], api_key(created))
    assert [status for status, _ in found] == [status for _, status in READS]
    article = found[READS.index(("/api/articles/{slug}", 200))][1]["article"]
    assert (article["favorited"], article["author"]["following"]) == (True, True)
    # Its owner's sessions ending does not touch it; the owner's deactivation does.
    await _logout(client, None, world["alice"])
    assert (await client.get("/api/articles", headers=api_key(created))).status_code == 200
