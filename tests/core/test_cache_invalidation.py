"""Every write that changes a cached body is seen by the very next read: the write bumps
the generations it changes after its transaction commits, before its response is sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from tests.conftest import StatementCounter
from tests.core.cache_support import is_hit, read, titles, uncached, warm
from tests.factories import auth, create_article, error_body, make_staff

ARTICLE_NOT_FOUND = {"errors": {"article": ["not found"]}}


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
    assert (gone.status_code, error_body(gone)) == (404, ARTICLE_NOT_FOUND)
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
    token = alice if deleter == "author" else await make_staff(client, app, "staff", deleter)
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
    moderator = await make_staff(client, app, "mod", "moderator")
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
    settings: Settings,
    sql: StatementCounter,
    alice: str,
) -> None:
    """An inactive author's articles stay listed (as their profile does); whatever the rule,
    the cached answer after the change is the uncached one."""
    admin = await make_staff(client, app, "root", "admin")
    slug = (await create_article(client, alice))["slug"]
    urls = [f"/api/articles/{slug}", "/api/articles"]
    for url in urls:
        await warm(client, sql, url)
    response = await client.patch(
        "/api/admin/users/alice", json={"active": False}, headers=auth(admin)
    )
    assert response.status_code == 200, response.text
    async with uncached(settings) as truth:
        for url in urls:
            with sql.counting() as executed:
                cached = await client.get(url)
            assert executed, "deactivation invalidates what embeds the profile"
            fresh = await truth.get(url)
            assert (cached.status_code, cached.content) == (fresh.status_code, fresh.content)
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
