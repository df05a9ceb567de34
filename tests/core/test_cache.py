"""The cache of hot public reads: what is cached (anonymous article, first page of the list,
tags), hits that cost no SQL, bytes identical to FastAPI's own, and failing open."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text

from conduit.articles.schemas import MultipleArticlesResponse, SingleArticleResponse, TagsResponse
from conduit.core.config import Settings
from conduit.main import create_app
from tests.conftest import StatementCounter, make_settings
from tests.core.cache_support import hits, is_hit, read, uncached, warm
from tests.factories import auth, create_article, register


def test_the_app_uses_redis_when_configured_and_memory_otherwise(app: Any) -> None:
    expected = "RedisCache" if app.state.settings.redis_url else "MemoryCache"
    assert type(app.state.cache).__name__ == expected


def test_every_user_of_redis_shares_the_apps_connection_pool(database_url: str) -> None:
    # Nothing listens there: nothing connects before a command is sent.
    app = create_app(make_settings(database_url, redis_url="redis://127.0.0.1:1/0"))
    pool = app.state.redis.connection_pool
    assert app.state.cache.redis is app.state.redis
    limiters = (app.state.rate_limiter.storage, app.state.accounts._limiter.storage)
    for storage in limiters:
        assert storage.bridge.get_connection().connection_pool is pool


@pytest.mark.parametrize(
    "url",
    [
        "/api/articles/{slug}",
        "/api/v1/articles/{slug}",
        "/api/articles",
        "/api/articles?limit=1",
        "/api/articles?offset=0&limit=5",
        "/api/articles?page=1",
        "/api/tags",
        "/api/v1/tags",
    ],
)
async def test_a_second_anonymous_read_runs_no_sql(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str, url: str
) -> None:
    article = await create_article(client, alice, tagList=["cached"])
    body = await warm(client, sql, url.format(slug=article["slug"]))
    assert body  # the real data, checked field by field elsewhere


async def test_api_and_api_v1_share_entries_and_page_1_is_offset_0(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    await read(client, f"/api/articles/{slug}")
    assert await is_hit(client, sql, f"/api/v1/articles/{slug}")
    await read(client, "/api/articles?limit=7")
    assert await is_hit(client, sql, "/api/v1/articles?page=1&limit=7")
    assert await is_hit(client, sql, "/api/articles?offset=0&limit=7")


@pytest.mark.parametrize(
    ("url", "signed_in"),
    [
        ("/api/articles/{slug}", True),
        ("/api/articles", True),
        ("/api/articles/feed", True),
        ("/api/articles?offset=1", False),
        ("/api/articles?page=2&limit=1", False),
        ("/api/articles?tag=t", False),
        ("/api/articles?author=alice", False),
        ("/api/articles?favorited=alice", False),
    ],
)
async def test_signed_in_filtered_and_later_pages_are_not_cached(
    client: httpx.AsyncClient,
    sql: StatementCounter,
    alice: str,
    url: str,
    signed_in: bool,
) -> None:
    slug = (await create_article(client, alice, tagList=["t"]))["slug"]
    await create_article(client, alice, "Another")
    url = url.format(slug=slug)
    token = alice if signed_in else None
    await read(client, url, token)
    with sql.counting() as executed:
        await read(client, url, token)
    assert executed, f"{url} must not be cached"


async def test_hits_and_misses_are_counted(client: httpx.AsyncClient, alice: str) -> None:
    slug = (await create_article(client, alice))["slug"]
    before = hits("article")
    await read(client, f"/api/articles/{slug}")
    assert hits("article") == before
    await read(client, f"/api/articles/{slug}")
    assert hits("article") == before + 1


async def test_a_missing_article_is_not_cached(client: httpx.AsyncClient, alice: str) -> None:
    assert (await client.get("/api/articles/later")).status_code == 404
    await create_article(client, alice, "Later")
    assert (await read(client, "/api/articles/later"))["article"]["title"] == "Later"


# --- the bytes are FastAPI's own ------------------------------------------------------


async def test_cached_bodies_are_byte_for_byte_what_fastapi_sends(
    client: httpx.AsyncClient, settings: Settings, alice: str
) -> None:
    """The route renders the body itself (to hash and cache it): it must be exactly the
    bytes FastAPI's default response for the response model would have been."""
    response = await client.put(
        "/api/user",
        json={"user": {"bio": 'quotes " and \\ and 🐉', "image": None}},
        headers=auth(alice),
    )
    assert response.status_code == 200, response.text
    article = await create_article(
        client,
        alice,
        "Ünïcødé — 漢字 🐉",
        body='line\nbreak\t"quoted" </script>',
        tagList=["é", "z", "a"],
    )
    reference = FastAPI()

    @reference.get("/single")
    async def single(raw: str) -> SingleArticleResponse:
        return SingleArticleResponse.model_validate_json(raw)

    @reference.get("/many")
    async def many(raw: str) -> MultipleArticlesResponse:
        return MultipleArticlesResponse.model_validate_json(raw)

    @reference.get("/tags")
    async def tag_list(raw: str) -> TagsResponse:
        return TagsResponse.model_validate_json(raw)

    transport = httpx.ASGITransport(app=reference)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://ref") as ref,
        uncached(settings) as plain_client,
    ):
        for url, model_route in [
            (f"/api/articles/{article['slug']}", "/single"),
            ("/api/articles", "/many"),
            ("/api/tags", "/tags"),
        ]:
            first = await client.get(url)  # a miss, rendered
            second = await client.get(url)  # a hit, from the cache
            plain = await plain_client.get(url)  # never cached
            expected = await ref.get(model_route, params={"raw": first.text})
            assert first.content == second.content == plain.content == expected.content
            assert first.headers["content-type"] == expected.headers["content-type"]


# --- settings and failures --------------------------------------------------------------


async def test_with_the_cache_off_every_read_queries(
    client: httpx.AsyncClient, app: Any, settings: Settings, alice: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    url = f"/api/articles/{slug}"
    async with uncached(settings) as plain:
        first = await plain.get(url)
        assert first.headers["etag"] == (await plain.get(url)).headers["etag"]
        async with app.state.db.engine.begin() as conn:  # behind every cache's back
            await conn.execute(text("UPDATE articles SET body = 'changed directly'"))
        second = await plain.get(url)
    assert second.json()["article"]["body"] == "changed directly"
    assert second.headers["etag"] != first.headers["etag"]


@pytest.fixture
async def broken_redis_client(
    database_url: str, tmp_path: Path, app: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose Redis is unreachable (nothing listens on port 1)."""
    settings = make_settings(
        database_url,
        redis_url="redis://127.0.0.1:1/0",
        mail_embedded_worker=False,
        mail_dir=str(tmp_path / "mail"),
    )
    broken = create_app(settings)
    async with broken.router.lifespan_context(broken):
        transport = httpx.ASGITransport(app=broken, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_an_unreachable_redis_fails_open(
    broken_redis_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = broken_redis_client
    errors_before = (
        REGISTRY.get_sample_value("conduit_store_errors_total", {"component": "cache"}) or 0.0
    )
    token = await register(client, "dora")
    slug = (await create_article(client, token, "Works"))["slug"]  # its bump fails: owed
    assert (await read(client, f"/api/articles/{slug}"))["article"]["title"] == "Works"
    assert (await read(client, "/api/tags"))["tags"] == []
    response = await client.put(
        f"/api/articles/{slug}", json={"article": {"body": "still"}}, headers=auth(token)
    )
    assert response.status_code == 200
    assert (await read(client, f"/api/articles/{slug}"))["article"]["body"] == "still"
    errors_after = REGISTRY.get_sample_value("conduit_store_errors_total", {"component": "cache"})
    assert (errors_after or 0.0) > errors_before
    warnings = [r for r in caplog.records if r.name == "conduit.cache"]
    assert warnings
    assert {r.levelname for r in warnings} == {"WARNING"}
