"""The cache of hot public reads: hits cost no SQL, and every write that changes a cached body
is seen by the very next read (invalidation after commit, before the response)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text

from conduit.articles.schemas import MultipleArticlesResponse, SingleArticleResponse, TagsResponse
from conduit.core.config import Settings
from conduit.main import create_app
from tests.conftest import StatementCounter, auth, create_article, make_settings, register

ARTICLE_NOT_FOUND = {"errors": {"article": ["not found"]}}


# --- helpers ------------------------------------------------------------------------


async def read(client: httpx.AsyncClient, url: str, token: str | None = None) -> Any:
    response = await client.get(url, headers=auth(token) if token else {})
    assert response.status_code == 200, response.text
    return response.json()


async def warm(client: httpx.AsyncClient, sql: StatementCounter, url: str) -> Any:
    """Read `url` anonymously twice; the second read must be a hit (no SQL at all)."""
    first = await read(client, url)
    with sql.counting() as executed:
        second = await read(client, url)
    assert executed == [], f"{url} was not served from the cache"
    assert second == first
    return second


async def is_hit(client: httpx.AsyncClient, sql: StatementCounter, url: str) -> bool:
    with sql.counting() as executed:
        await read(client, url)
    return not executed


def titles(page: dict[str, Any]) -> list[str]:
    return [article["title"] for article in page["articles"]]


def hits(cache: str) -> float:
    value = REGISTRY.get_sample_value(
        "conduit_cache_requests_total", {"cache": cache, "result": "hit"}
    )
    return value or 0.0


async def set_role(app: Any, username: str, role: str) -> None:
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE users SET role = :role WHERE username = :username"),
            {"role": role, "username": username},
        )


async def staff(client: httpx.AsyncClient, app: Any, username: str, role: str) -> str:
    token = await register(client, username)
    await set_role(app, username, role)
    return token


@pytest.fixture
async def uncached(app: Any, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database with the cache off: what the truth looks like.
    (It depends on `app`, whose teardown empties the tables after this one closes.)"""
    other = create_app(settings.model_copy(update={"cache_enabled": False}))
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


# --- what is cached -------------------------------------------------------------------


def test_the_app_uses_redis_when_configured_and_memory_otherwise(app: Any) -> None:
    expected = "RedisCache" if app.state.settings.redis_url else "MemoryCache"
    assert type(app.state.cache).__name__ == expected


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


async def test_a_missing_article_is_not_cached(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str
) -> None:
    assert (await client.get("/api/articles/later")).status_code == 404
    await create_article(client, alice, "Later")
    assert (await read(client, "/api/articles/later"))["article"]["title"] == "Later"


# --- the bytes are FastAPI's own ------------------------------------------------------


async def test_cached_bodies_are_byte_for_byte_what_fastapi_sends(
    client: httpx.AsyncClient, uncached: httpx.AsyncClient, alice: str
) -> None:
    """The route renders the body itself (to hash and cache it): it must be exactly the
    bytes FastAPI's default response for the response model would have been."""
    await client.put(
        "/api/user",
        json={"user": {"bio": 'quotes " and \\ and 🐉', "image": None}},
        headers=auth(alice),
    )
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
    async with httpx.AsyncClient(transport=transport, base_url="http://ref") as ref:
        for url, model_route in [
            (f"/api/articles/{article['slug']}", "/single"),
            ("/api/articles", "/many"),
            ("/api/tags", "/tags"),
        ]:
            first = await client.get(url)  # a miss, rendered
            second = await client.get(url)  # a hit, from the cache
            plain = await uncached.get(url)  # never cached
            expected = await ref.get(model_route, params={"raw": first.text})
            assert first.content == second.content == plain.content == expected.content
            assert first.headers["content-type"] == expected.headers["content-type"]


# --- every write is seen by the next read ---------------------------------------------


async def test_create_shows_in_the_list_and_tags(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str
) -> None:
    await create_article(client, alice, "First", tagList=["old"])
    assert titles(await warm(client, sql, "/api/articles")) == ["First"]
    assert (await warm(client, sql, "/api/tags"))["tags"] == ["old"]
    await create_article(client, alice, "Second", tagList=["new"])
    page = await read(client, "/api/articles")
    assert (titles(page), page["articlesCount"]) == (["Second", "First"], 2)
    assert sorted((await read(client, "/api/tags"))["tags"]) == ["new", "old"]


async def test_update_shows_everywhere_and_the_old_slug_is_gone(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str
) -> None:
    old = (await create_article(client, alice, "Before", tagList=["old"]))["slug"]
    await warm(client, sql, f"/api/articles/{old}")
    await warm(client, sql, "/api/articles")
    await warm(client, sql, "/api/tags")
    change = {"title": "After", "body": "new body", "tagList": ["new"]}
    response = await client.put(
        f"/api/articles/{old}", json={"article": change}, headers=auth(alice)
    )
    assert response.status_code == 200
    new = response.json()["article"]["slug"]
    gone = await client.get(f"/api/articles/{old}")
    assert (gone.status_code, gone.json()) == (404, ARTICLE_NOT_FOUND)
    single = (await read(client, f"/api/articles/{new}"))["article"]
    assert (single["title"], single["body"], single["tagList"]) == ("After", "new body", ["new"])
    assert titles(await read(client, "/api/articles")) == ["After"]
    assert (await read(client, "/api/tags"))["tags"] == ["new"]


async def test_an_update_that_keeps_the_tags_keeps_them_cached(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str
) -> None:
    slug = (await create_article(client, alice, tagList=["kept"]))["slug"]
    await warm(client, sql, "/api/tags")
    await warm(client, sql, f"/api/articles/{slug}")
    response = await client.put(
        f"/api/articles/{slug}", json={"article": {"body": "edited"}}, headers=auth(alice)
    )
    assert response.status_code == 200
    assert (await read(client, f"/api/articles/{slug}"))["article"]["body"] == "edited"
    assert await is_hit(client, sql, "/api/tags")


@pytest.mark.parametrize("deleter", ["author", "moderator", "admin"])
async def test_delete_removes_it_from_article_list_and_tags(
    client: httpx.AsyncClient, app: Any, sql: StatementCounter, alice: str, deleter: str
) -> None:
    token = alice if deleter == "author" else await staff(client, app, "staff", deleter)
    await create_article(client, alice, "Kept", tagList=["kept"])
    slug = (await create_article(client, alice, "Doomed", tagList=["doomed"]))["slug"]
    await warm(client, sql, f"/api/articles/{slug}")
    await warm(client, sql, "/api/articles")
    await warm(client, sql, "/api/tags")
    response = await client.delete(f"/api/articles/{slug}", headers=auth(token))
    assert response.status_code == 204
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404
    page = await read(client, "/api/articles")
    assert (titles(page), page["articlesCount"]) == (["Kept"], 1)
    assert (await read(client, "/api/tags"))["tags"] == ["kept"]


async def test_admin_restore_brings_it_back(
    client: httpx.AsyncClient, app: Any, sql: StatementCounter, alice: str
) -> None:
    moderator = await staff(client, app, "mod", "moderator")
    slug = (await create_article(client, alice, "Restored", tagList=["back"]))["slug"]
    assert (await client.delete(f"/api/articles/{slug}", headers=auth(alice))).status_code == 204
    assert titles(await warm(client, sql, "/api/articles")) == []
    assert (await warm(client, sql, "/api/tags"))["tags"] == []
    response = await client.post(f"/api/admin/articles/{slug}/restore", headers=auth(moderator))
    assert response.status_code == 200, response.text
    assert (await read(client, f"/api/articles/{slug}"))["article"]["title"] == "Restored"
    assert titles(await read(client, "/api/articles")) == ["Restored"]
    assert (await read(client, "/api/tags"))["tags"] == ["back"]


async def test_favorite_and_unfavorite_change_the_count(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    single, listed = f"/api/articles/{slug}", "/api/articles"
    assert (await warm(client, sql, single))["article"]["favoritesCount"] == 0
    assert (await warm(client, sql, listed))["articles"][0]["favoritesCount"] == 0
    favorite = f"/api/articles/{slug}/favorite"
    assert (await client.post(favorite, headers=auth(bob))).status_code == 200
    assert (await read(client, single))["article"]["favoritesCount"] == 1
    assert (await read(client, listed))["articles"][0]["favoritesCount"] == 1
    await warm(client, sql, single)
    assert (await client.delete(favorite, headers=auth(bob))).status_code == 200
    assert (await read(client, single))["article"]["favoritesCount"] == 0
    assert (await read(client, listed))["articles"][0]["favoritesCount"] == 0
    # Anonymous bodies never carry a viewer's flag.
    assert (await read(client, single))["article"]["favorited"] is False


@pytest.mark.parametrize(
    "change",
    [
        {"username": "alicia"},
        {"bio": "I write now."},
        {"image": "https://img.example/alice.png"},
    ],
    ids=["username", "bio", "image"],
)
async def test_profile_update_shows_in_the_author(
    client: httpx.AsyncClient,
    sql: StatementCounter,
    alice: str,
    change: dict[str, str],
) -> None:
    slug = (await create_article(client, alice))["slug"]
    await warm(client, sql, f"/api/articles/{slug}")
    await warm(client, sql, "/api/articles")
    response = await client.put("/api/user", json={"user": change}, headers=auth(alice))
    assert response.status_code == 200, response.text
    ((field, value),) = change.items()
    assert (await read(client, f"/api/articles/{slug}"))["article"]["author"][field] == value
    assert (await read(client, "/api/articles"))["articles"][0]["author"][field] == value


async def test_an_unchanged_profile_keeps_the_cache(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    await warm(client, sql, f"/api/articles/{slug}")
    same = {"username": "alice", "email": "alice@example.com", "bio": None}
    response = await client.put("/api/user", json={"user": same}, headers=auth(alice))
    assert response.status_code == 200, response.text
    assert await is_hit(client, sql, f"/api/articles/{slug}")


async def test_deactivating_an_author_is_consistent_with_the_database(
    client: httpx.AsyncClient,
    app: Any,
    uncached: httpx.AsyncClient,
    sql: StatementCounter,
    alice: str,
) -> None:
    """An inactive author's articles stay listed (as their profile does); whatever the rule,
    the cached answer after the change is the uncached one."""
    admin = await staff(client, app, "root", "admin")
    slug = (await create_article(client, alice))["slug"]
    urls = [f"/api/articles/{slug}", "/api/articles"]
    for url in urls:
        await warm(client, sql, url)
    response = await client.patch(
        "/api/admin/users/alice", json={"active": False}, headers=auth(admin)
    )
    assert response.status_code == 200, response.text
    for url in urls:
        with sql.counting() as executed:
            cached = await client.get(url)
        assert executed, "deactivation invalidates what embeds the profile"
        truth = await uncached.get(url)
        assert (cached.status_code, cached.content) == (truth.status_code, truth.content)
    assert (await read(client, f"/api/articles/{slug}"))["article"]["author"]["username"] == "alice"


async def test_a_refused_write_leaves_the_cache_alone(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str, bob: str
) -> None:
    """Invalidation happens after commit: a write that fails (rolled back) drops it."""
    slug = (await create_article(client, alice, "Mine"))["slug"]
    await warm(client, sql, f"/api/articles/{slug}")
    response = await client.put(
        f"/api/articles/{slug}", json={"article": {"title": "Stolen"}}, headers=auth(bob)
    )
    assert response.status_code == 403
    assert await is_hit(client, sql, f"/api/articles/{slug}")
    assert (await read(client, f"/api/articles/{slug}"))["article"]["title"] == "Mine"


async def test_comments_and_follows_do_not_touch_cached_articles(
    client: httpx.AsyncClient, sql: StatementCounter, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    await warm(client, sql, f"/api/articles/{slug}")
    comment = {"comment": {"body": "nice"}}
    await client.post(f"/api/articles/{slug}/comments", json=comment, headers=auth(bob))
    await client.post("/api/profiles/alice/follow", headers=auth(bob))
    assert await is_hit(client, sql, f"/api/articles/{slug}")


# --- settings and failures --------------------------------------------------------------


async def test_with_the_cache_off_every_read_queries(
    uncached: httpx.AsyncClient, client: httpx.AsyncClient, alice: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    first = await uncached.get(f"/api/articles/{slug}")
    second = await uncached.get(f"/api/articles/{slug}")
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]  # ETags do not need the cache


@pytest.fixture
async def broken_redis_client(
    database_url: str, tmp_path: Any, app: Any
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
