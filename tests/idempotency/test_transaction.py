"""Idempotency-Key in the work's own transaction: the key is committed exactly when the work
is. A crash after the work, or a commit that fails, leaves neither, so a retry runs at once;
a refusal that keeps its changes, or an answer too large to keep, leaves no key either; a
committed `in_progress` row (left by the former two-step design) holds the key until its lock
passes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from starlette.responses import Response

from conduit.core.db import utcnow
from conduit.core.errors import DomainError
from conduit.idempotency.middleware import fingerprint
from conduit.idempotency.models import IN_PROGRESS, IdempotencyRecord
from conduit.idempotency.service import MAX_STORED_BYTES
from tests.factories.idempotency import (
    article_body,
    count_articles,
    keyed_article,
    outcomes,
    stored_keys,
    user_id,
)

ARTICLE_REQUEST = {"method": "POST", "path": "/api/articles", "query_string": b""}


@contextmanager
def crashing_once(app: Any, *, at_commit: bool) -> Iterator[None]:
    """The app's transaction that inserts an article raises right after that INSERT, or at
    its commit, as a process dying there would stop it."""
    engine = app.state.db.engine.sync_engine
    crashed: list[str] = []

    def after_statement(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not crashed and "INSERT INTO articles (" in statement:  # alone, or in a WITH
            if not at_commit:
                crashed.append("after the INSERT")
                raise RuntimeError("crashed after the INSERT")
            conn.info["wrote an article"] = True

    def at_commit_(conn: Any) -> None:
        if not crashed and conn.info.pop("wrote an article", False):
            crashed.append("at commit")
            raise RuntimeError("crashed at commit")

    event.listen(engine, "after_cursor_execute", after_statement)
    event.listen(engine, "commit", at_commit_)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", after_statement)
        event.remove(engine, "commit", at_commit_)
    assert crashed, "the article was never inserted"


async def assert_a_retry_runs_once(client: httpx.AsyncClient, alice: str, key: str) -> None:
    retry = await client.post("/api/articles", **keyed_article(alice, key))
    assert retry.status_code == 201, retry.text
    assert "Idempotent-Replayed" not in retry.headers
    again = await client.post("/api/articles", **keyed_article(alice, key))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == retry.content
    assert await count_articles(client, "alice") == 1


@pytest.mark.server_error
async def test_a_crash_after_the_work_leaves_no_key_and_the_retry_runs_at_once(
    client: httpx.AsyncClient, app: Any, alice: str
) -> None:
    # The article's INSERT has run in the request's transaction when the request dies.
    with crashing_once(app, at_commit=False):
        crashed = await client.post("/api/articles", **keyed_article(alice, "crash"))
    assert crashed.status_code == 500
    assert await stored_keys(app) == []
    assert await count_articles(client, "alice") == 0
    await assert_a_retry_runs_once(client, alice, "crash")


@pytest.mark.server_error
async def test_a_commit_that_fails_leaves_neither_the_key_nor_the_article(
    client: httpx.AsyncClient, app: Any, alice: str
) -> None:
    with crashing_once(app, at_commit=True):
        failed = await client.post("/api/articles", **keyed_article(alice, "commit"))
    assert failed.status_code == 500
    assert await stored_keys(app) == []
    assert await count_articles(client, "alice") == 0
    await assert_a_retry_runs_once(client, alice, "commit")


async def test_a_claim_of_the_two_step_design_holds_until_its_lock_passes(
    client: httpx.AsyncClient, app: Any, alice: str
) -> None:
    # During a rolling upgrade an instance of the former design may still run that request.
    owner = await user_id(app, "alice")
    for key, lock in (("held", 60), ("left", -1)):
        async with app.state.db.session() as session:
            session.add(
                IdempotencyRecord(
                    user_id=owner,
                    key=key,
                    fingerprint=fingerprint(ARTICLE_REQUEST, article_body()),
                    state=IN_PROGRESS,
                    claim="c" * 32,
                    locked_until=utcnow() + timedelta(seconds=lock),
                )
            )
    conflicts = outcomes("conflict")
    held = await client.post("/api/articles", **keyed_article(alice, "held"))
    assert held.status_code == 409, held.text
    assert outcomes("conflict") == conflicts + 1
    await assert_a_retry_runs_once(client, alice, "left")
    assert ("left", "done") in await stored_keys(app)


async def test_a_refusal_that_keeps_its_changes_keeps_no_key(app: Any, alice: str) -> None:
    keyed = app.state.idempotency.keyed(await user_id(app, "alice"), "kept", "f" * 64)

    async def refuse() -> Response:
        raise DomainError("thing", "refused, but recorded", keep_changes=True)

    with pytest.raises(DomainError):
        async with app.state.db.session() as session:
            await keyed.run(session, refuse)
    assert await stored_keys(app) == []


async def test_only_a_success_small_enough_is_kept(app: Any, alice: str) -> None:
    owner = await user_id(app, "alice")
    runs: list[int] = []

    def answering(status: int, size: int) -> Any:
        async def work() -> Response:
            runs.append(status)
            return Response(b"x" * size, status_code=status, media_type="text/plain")

        return work

    for key, status, size in [("large", 201, MAX_STORED_BYTES + 1), ("refused", 409, 10)]:
        async with app.state.db.session() as session:
            response = await app.state.idempotency.keyed(owner, key, "f" * 64).run(
                session, answering(status, size)
            )
        assert response.status_code == status
    assert await stored_keys(app) == []

    for _ in range(2):
        async with app.state.db.session() as session:
            response = await app.state.idempotency.keyed(owner, "small", "f" * 64).run(
                session, answering(200, MAX_STORED_BYTES)
            )
        assert (response.status_code, len(response.body)) == (200, MAX_STORED_BYTES)
        assert response.headers["content-type"].startswith("text/plain")
    assert runs == [201, 409, 200]  # the second "small" was replayed
    assert response.headers["Idempotent-Replayed"] == "true"
    assert await stored_keys(app) == [("small", "done")]
