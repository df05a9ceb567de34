"""Writes racing the deletion of their article: 404s, never FK errors or 500s."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.factories import MANY_SIGN_UPS, auth, burst, create_article, register

pytestmark = MANY_SIGN_UPS


async def test_writes_racing_the_deletion_of_their_article_are_never_a_500(
    client: httpx.AsyncClient,
) -> None:
    """Favorites, comments and edits that lose the race to a DELETE are 404s, not FK errors."""
    author = await register(client, "author")
    readers = [await register(client, f"reader{i:02}") for i in range(20)]
    for attempt in range(10):
        slug = (await create_article(client, author, f"Doomed {attempt}"))["slug"]
        path = f"/api/articles/{slug}"

        responses = await burst(
            *(client.post(f"{path}/favorite", headers=auth(t)) for t in readers[:10]),
            client.delete(path, headers=auth(author)),
            *(
                client.post(f"{path}/comments", json={"comment": {"body": "hi"}}, headers=auth(t))
                for t in readers[10:]
            ),
            client.put(path, json={"article": {"tagList": ["late"]}}, headers=auth(author)),
        )

        bad = [(r.request.method, r.status_code, r.text[:200]) for r in responses]
        bad = [b for b in bad if b[1] not in {200, 201, 204, 404}]
        assert not bad, bad
        for response in responses:
            if response.status_code == 404:
                assert response.json()["errors"] == {"article": ["not found"]}
        assert (await client.get(path)).status_code == 404


@contextmanager
def article_deleted_concurrently(
    app: Any, database_url: str, statement_prefix: str, slug: str, when: str
) -> Iterator[threading.Thread]:
    """Right `when` ("before" or "after") the request runs `statement_prefix`, another
    connection (in another thread) deletes the article: the interleaving a concurrent DELETE
    produces on PostgreSQL. The request holds a lock on the article's row by then (taken by
    an earlier statement, or by that one itself), so the DELETE has to wait for it."""
    engine = app.state.db.engine.sync_engine
    deleter = threading.Thread(target=asyncio.run, args=(_delete_article(database_url, slug),))

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if deleter.is_alive() or not statement.lstrip().upper().startswith(statement_prefix):
            return
        if deleter.ident is None:
            deleter.start()
            time.sleep(0.3)  # long enough for the DELETE to reach the server and block
            assert deleter.is_alive(), "the DELETE did not wait for the request's row lock"

    hook = f"{when}_cursor_execute"
    event.listen(engine, hook, before)
    try:
        yield deleter
    finally:
        event.remove(engine, hook, before)
    assert deleter.ident is not None, f"no {statement_prefix} statement ran"
    deleter.join(timeout=10)
    assert not deleter.is_alive(), "the DELETE never finished"


async def _delete_article(database_url: str, slug: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            # By id, fixed before the wait: the request may rename the article meanwhile.
            await conn.execute(
                text("DELETE FROM articles WHERE id = (SELECT id FROM articles WHERE slug = :s)"),
                {"s": slug},
            )
    finally:
        await engine.dispose()


# Favorites and comments lock the article (FOR SHARE) in the statement that writes them:
# the DELETE comes right after it. An edit locks it (FOR UPDATE) before its UPDATE: the
# DELETE comes between the two.
LATE_WRITES = {
    "favorite": ("POST", "/favorite", None, "INSERT INTO favorites", "after", 200),
    "unfavorite": ("DELETE", "/favorite", None, "DELETE FROM favorites", "after", 200),
    "comment": (
        "POST",
        "/comments",
        {"comment": {"body": "too late"}},
        "INSERT INTO comments",
        "after",
        201,
    ),
    "edit-tags": ("PUT", "", {"article": {"tagList": ["late"]}}, "UPDATE articles", "before", 200),
    "edit-title": ("PUT", "", {"article": {"title": "Renamed"}}, "UPDATE articles", "before", 200),
}


@pytest.mark.parametrize(
    ("method", "suffix", "body", "statement", "when", "status"),
    LATE_WRITES.values(),
    ids=LATE_WRITES.keys(),
)
async def test_delete_racing_a_write_waits_for_it(
    app: Any,
    client: httpx.AsyncClient,
    database_url: str,
    method: str,
    suffix: str,
    body: Any,
    statement: str,
    when: str,
    status: int,
) -> None:
    """A DELETE arriving while a write holds its article's row lock waits for the write to
    commit, then removes the article: no FK violation, no 500."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): this interleaving cannot occur")
    author = await register(client, "author")
    reader = await register(client, "reader")
    slug = (await create_article(client, author, "Doomed"))["slug"]
    await client.post(f"/api/articles/{slug}/favorite", headers=auth(reader))
    token = author if method == "PUT" else reader

    with article_deleted_concurrently(app, database_url, statement.upper(), slug, when):
        response = await client.request(
            method, f"/api/articles/{slug}{suffix}", json=body, headers=auth(token)
        )

    assert response.status_code == status, response.text
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404
    assert (
        await client.get(f"/api/articles/{response.json().get('article', {}).get('slug', slug)}")
    ).status_code == 404
