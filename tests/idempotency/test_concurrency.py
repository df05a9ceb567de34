"""Idempotency-Key under concurrency: duplicates sent together do the work once, the later
ones waiting for the first and replaying its answer; a wait cut short by a lock timeout is a
409; a server killed mid-request leaves no key behind, so the retry runs at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from conduit.core.config import Settings
from tests.factories import PASSWORD, auth
from tests.factories.idempotency import (
    ARTICLE,
    count_articles,
    holding,
    keyed_article,
    outcomes,
    postgres_only,
    stored_keys,
    user_id,
    wait_for_lock_waits,
    with_key,
)
from tests.live import start_server

# Blocks every INSERT into articles (not reads) until the holding transaction ends.
LOCK_ARTICLES = "LOCK TABLE articles IN SHARE MODE"


def assert_done_once(responses: list[httpx.Response]) -> None:
    """All the same 2xx answer, exactly one of them not a replay."""
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    fresh = [r for r in responses if "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 1


async def test_concurrent_duplicates_do_the_work_once(
    client: httpx.AsyncClient, alice: str
) -> None:
    new, replayed = outcomes("new"), outcomes("replayed")
    responses = await asyncio.gather(
        *(
            client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "burst"))
            for _ in range(6)
        )
    )
    assert_done_once(list(responses))
    assert await count_articles(client, "alice") == 1
    assert (outcomes("new"), outcomes("replayed")) == (new + 1, replayed + 5)


async def test_a_duplicate_waits_for_the_first_then_replays_its_answer(
    app: Any, alice: str, database_url: str
) -> None:
    postgres_only(database_url)
    conflicts = outcomes("conflict")
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://one") as one,
        httpx.AsyncClient(transport=transport, base_url="http://two") as two,
    ):
        async with holding(database_url, LOCK_ARTICLES):
            first = asyncio.create_task(one.post("/api/articles", **keyed_article(alice, "k")))
            await wait_for_lock_waits(database_url, 1)  # the first holds the key
            second = asyncio.create_task(two.post("/api/articles", **keyed_article(alice, "k")))
            await wait_for_lock_waits(database_url, 2)  # the second waits on the key
            assert not first.done()
            assert not second.done()
        responses = [await first, await second]
        assert_done_once(responses)
        assert "Idempotent-Replayed" in responses[1].headers
        assert await count_articles(one, "alice") == 1
    assert outcomes("conflict") == conflicts


async def test_a_wait_cut_short_by_a_lock_timeout_is_a_409(
    client: httpx.AsyncClient, app: Any, alice: str, database_url: str
) -> None:
    postgres_only(database_url)

    @event.listens_for(app.state.db.engine.sync_engine, "connect")
    def short_lock_waits(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.run_async(lambda conn: conn.execute("SET lock_timeout = '200ms'"))

    await app.state.db.engine.dispose()  # every connection from now on waits that little
    conflicts = outcomes("conflict")
    owner = await user_id(app, "alice")
    # Another transaction holds the key, uncommitted: a request of another instance running.
    held = (
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, state, created_at)"
        " VALUES (:owner, 'held', :fingerprint, 'in_progress', now())"
    )
    async with holding(database_url, held, owner=owner, fingerprint="f" * 64):
        response = await client.post("/api/articles", **keyed_article(alice, "held"))
        assert response.status_code == 409
        assert response.json()["errors"] == {
            "idempotency_key": ["is in use by a request still in progress"]
        }
    assert outcomes("conflict") == conflicts + 1
    assert await count_articles(client, "alice") == 0
    # The holder ended without committing: the key is free.
    response = await client.post("/api/articles", **keyed_article(alice, "held"))
    assert response.status_code == 201
    assert await stored_keys(app) == [("held", "done")]


async def test_a_server_killed_mid_request_leaves_no_key_so_the_retry_runs_at_once(
    client: httpx.AsyncClient, app: Any, settings: Settings, database_url: str, tmp_path: Path
) -> None:
    postgres_only(database_url)
    server = start_server(
        tmp_path, database_url=database_url, extra_env={"SECRET_KEY": settings.secret_key}
    )
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as live:
            user = {"username": "lee", "email": "lee@example.com", "password": PASSWORD}
            response = await live.post("/api/users", json={"user": user})
            token = response.json()["user"]["token"]
            async with holding(database_url, LOCK_ARTICLES):
                doomed = asyncio.create_task(
                    live.post("/api/articles", **keyed_article(token, "kill"))
                )
                await wait_for_lock_waits(database_url, 1)  # key inserted, article waiting
                server.process.kill()
                server.process.wait(timeout=10)
                with pytest.raises(httpx.TransportError):
                    await doomed
    finally:
        server.terminate()
    # The killed server's transaction, key included, ends with its connection.
    started = time.monotonic()
    retry = await client.post("/api/articles", **keyed_article(token, "kill"))
    assert retry.status_code == 201, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    assert time.monotonic() - started < 10
    assert await count_articles(client, "lee") == 1
    again = await client.post("/api/articles", **keyed_article(token, "kill"))
    assert again.content == retry.content
    assert (await client.get("/api/user", headers=auth(token))).status_code == 200
