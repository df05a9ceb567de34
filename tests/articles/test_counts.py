"""`articlesCount` is read from maintained counts (articles/counters.py), not counted over
the table: these follow the counts through every write that changes what they count, and
check each against the expected number and against the articles the list itself returns.
The tags' order (most used first) comes from the same counts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from conduit.articles.repository import ArticleRepository
from conduit.articles.service import ArticleService
from tests.factories import auth, create_article, make_staff, register, tags

LIST = "/api/articles"
FEED = "/api/articles/feed"

# name: (path, query, signed in as the reader?); "by alice tagged y" combines two filters,
# which no single count answers: it is counted from the rows.
VIEWS: dict[str, tuple[str, dict[str, str], bool]] = {
    "all": (LIST, {}, False),
    "all, signed in": (LIST, {}, True),
    "tagged x": (LIST, {"tag": "x"}, False),
    "tagged y": (LIST, {"tag": "y"}, False),
    "tagged z": (LIST, {"tag": "z"}, True),
    "by alice": (LIST, {"author": "alice"}, False),
    "by bob": (LIST, {"author": "bob"}, True),
    "favorited by bob": (LIST, {"favorited": "bob"}, False),
    "favorited by carol": (LIST, {"favorited": "carol"}, True),
    "carol's feed": (FEED, {}, True),
    "by alice tagged y": (LIST, {"tag": "y", "author": "alice"}, False),
}


async def _get(
    client: httpx.AsyncClient, path: str, params: dict[str, Any], token: str | None
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=auth(token) if token else {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def counts(client: httpx.AsyncClient, reader: str) -> dict[str, int]:
    """Each view's articlesCount on a page of one, which is full whenever there is an
    article, so that its total comes from the count; checked against a page of 100, which
    is partial here, so that what it lists is what there is."""
    found = {}
    for name, (path, params, signed_in) in VIEWS.items():
        token = reader if signed_in else None
        total = (await _get(client, path, {**params, "limit": 1}, token))["articlesCount"]
        page = await _get(client, path, {**params, "limit": 100}, token)
        assert total == len(page["articles"]) == page["articlesCount"], name
        found[name] = total
    return found


# The scene below, once written: alice's One (x, y) and Two (x), bob's Three (y); bob
# favorites One and Three; carol follows alice.
SCENE = {
    "all": 3,
    "all, signed in": 3,
    "tagged x": 2,
    "tagged y": 2,
    "tagged z": 0,
    "by alice": 2,
    "by bob": 1,
    "favorited by bob": 2,
    "favorited by carol": 0,
    "carol's feed": 2,
    "by alice tagged y": 1,
}


async def fold(app: Any) -> int:
    """Fold the pending count deltas now, as the application does every second."""
    async with app.state.db.session() as session:
        return await ArticleRepository(session).fold_counts()


async def call(
    client: httpx.AsyncClient, method: str, path: str, token: str, status: int = 200, **kw: Any
) -> Any:
    response = await client.request(method, path, headers=auth(token), **kw)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def test_counts_follow_every_write(client: httpx.AsyncClient, app: Any) -> None:
    alice, bob, carol = [await register(client, name) for name in ("alice", "bob", "carol")]
    admin = await make_staff(client, app, "root")
    one = (await create_article(client, alice, "One", tagList=["x", "y"]))["slug"]
    await create_article(client, alice, "Two", tagList=["x"])
    three = (await create_article(client, bob, "Three", tagList=["y"]))["slug"]
    await call(client, "POST", "/api/profiles/alice/follow", carol)
    for slug in (one, three, one):  # a second favorite of one changes nothing
        await call(client, "POST", f"{LIST}/{slug}/favorite", bob)
    assert await counts(client, carol) == SCENE
    assert await tags(client) == ["x", "y"]  # most used first, then by name

    # Tags replaced: x leaves, z arrives, y stays; then an edit that leaves the tags alone.
    await call(client, "PUT", f"{LIST}/{one}", alice, json={"article": {"tagList": ["z", "y"]}})
    retagged = {**SCENE, "tagged x": 1, "tagged z": 1}
    assert await counts(client, carol) == retagged
    assert await tags(client) == ["y", "x", "z"]
    renamed = await call(client, "PUT", f"{LIST}/{one}", alice, json={"article": {"title": "Uno"}})
    one = renamed["article"]["slug"]
    assert await counts(client, carol) == retagged

    # Deleted: it leaves the list, its tags', its author's, its fan's and the feed's counts.
    await call(client, "DELETE", f"{LIST}/{one}", alice, status=204)
    deleted = {
        **retagged,
        "all": 2,
        "all, signed in": 2,
        "tagged y": 1,
        "tagged z": 0,
        "by alice": 1,
        "favorited by bob": 1,
        "carol's feed": 1,
        "by alice tagged y": 0,
    }
    assert await counts(client, carol) == deleted
    assert await tags(client) == ["x", "y"]
    assert await fold(app) > 0  # the deltas so far, folded: the counts say the same
    assert await counts(client, carol) == deleted
    assert await tags(client) == ["x", "y"]
    # A deleted article can be neither favorited nor unfavorited.
    await call(client, "POST", f"{LIST}/{one}/favorite", carol, status=404)
    await call(client, "DELETE", f"{LIST}/{one}/favorite", bob, status=404)
    assert await counts(client, carol) == deleted

    # Restored: back in every count, its favorite included.
    await call(client, "POST", f"/api/admin/articles/{one}/restore", admin)
    assert await counts(client, carol) == retagged
    assert await tags(client) == ["y", "x", "z"]

    # Unfavorited (twice: the second changes nothing), and another's favorite.
    await call(client, "DELETE", f"{LIST}/{one}/favorite", bob)
    await call(client, "DELETE", f"{LIST}/{one}/favorite", bob)
    await call(client, "POST", f"{LIST}/{three}/favorite", carol)
    moved = {**retagged, "favorited by bob": 1, "favorited by carol": 1}
    assert await counts(client, carol) == moved

    # The feed follows whom one follows.
    await call(client, "DELETE", "/api/profiles/alice/follow", carol)
    await call(client, "POST", "/api/profiles/bob/follow", carol)
    assert await counts(client, carol) == {**moved, "carol's feed": 1}

    # Deactivating a user hides nothing public today, so no count changes.
    await call(client, "PATCH", "/api/admin/users/alice", admin, json={"active": False})
    assert await counts(client, carol) == {**moved, "carol's feed": 1}
    await fold(app)
    assert await fold(app) == 0  # nothing left to fold
    assert await counts(client, carol) == {**moved, "carol's feed": 1}

    # Tags and favorites carry their article's created_at (the key of their pages' order).
    async with app.state.db.engine.connect() as conn:
        for table in ("article_tags", "favorites"):
            pairs = await conn.execute(
                text(
                    f"SELECT x.article_created_at, a.created_at FROM {table} x "  # noqa: S608
                    "JOIN articles a ON a.id = x.article_id"
                )
            )
            rows = pairs.all()
            assert rows
            assert all(copied == created for copied, created in rows), table


async def test_the_total_is_the_maintained_count_and_recount_repairs_it(
    client: httpx.AsyncClient, app: Any
) -> None:
    """Rows changed behind the application's back leave the counts behind (so the total
    is not a count of the rows); a recount rebuilds them from the rows."""
    alice = await register(client, "alice")
    for n in range(3):
        await create_article(client, alice, f"Story {n}", tagList=["x"])
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE articles SET deleted_at = updated_at WHERE title = 'Story 0'")
        )
    stale = await _get(client, LIST, {"tag": "x", "limit": 1}, alice)
    assert stale["articlesCount"] == 3

    async with app.state.db.session() as session:
        await ArticleService(session, app.state.cache).recount()
    for params in ({"tag": "x"}, {"author": "alice"}, {}):
        body = await _get(client, LIST, {**params, "limit": 1}, alice)
        assert body["articlesCount"] == 2, params


@pytest.mark.settings(counts_fold_interval=0.05)
async def test_the_application_folds_the_deltas_in_the_background(
    client: httpx.AsyncClient, app: Any
) -> None:
    alice = await register(client, "alice")
    await create_article(client, alice, "Story", tagList=["x"])
    async with app.state.db.engine.connect() as conn:
        for _ in range(100):  # 5 s at most; a fold every 0.05 s
            pending = await conn.execute(text("SELECT count(*) FROM article_count_deltas"))
            folded = await conn.execute(text("SELECT count(*) FROM article_counts"))
            if pending.scalar_one() == 0 and folded.scalar_one() > 0:
                break
            await conn.rollback()  # a new snapshot for the next look
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the deltas were never folded")
    body = await _get(client, LIST, {"tag": "x", "limit": 1}, None)
    assert body["articlesCount"] == 1
    assert await tags(client) == ["x"]
