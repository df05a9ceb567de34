"""The database's time limits and a read's one retry, on PostgreSQL.

A request blocked behind a lock answers 503 with Retry-After within about DB_LOCK_TIMEOUT,
never a 500 or a hang. A read whose pooled connection went stale (the server restarted) is
retried once on a fresh connection and answers 200; with that retry taken away it answers
503, which proves the test would notice its absence.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from chaos.postgres import Postgres
from conduit.core import engine as engine_module
from conduit.core import faults
from conduit.core.config import Settings
from tests.factories import create_article, error_body, register
from tests.replicas.support import (
    DATABASE,
    client,
    migrated_server,
    needs_postgres_binaries,
    running,
    settings_for,
)

pytestmark = needs_postgres_binaries


async def test_a_read_blocked_by_a_lock_answers_503_within_the_lock_timeout(
    database_url: str,
) -> None:
    settings = settings_for(database_url, db_lock_timeout=1.0, cache_enabled=False)
    async with running(settings) as app, client(app) as http:
        token = await register(http, "alice")
        await create_article(http, token)
        holder = create_async_engine(database_url, poolclass=NullPool)
        try:
            async with holder.connect() as conn:
                await conn.execute(text("LOCK TABLE articles IN ACCESS EXCLUSIVE MODE"))
                started = time.monotonic()
                response = await http.get("/api/articles")
                waited = time.monotonic() - started
                await conn.rollback()
        finally:
            await holder.dispose()
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) >= 1
        assert list(error_body(response)["errors"]) == ["database"]
        assert 0.9 < waited < 5.0
        assert (await http.get("/api/articles")).status_code == 200  # the lock is gone


async def test_the_timeouts_are_set_on_the_applications_connections(database_url: str) -> None:
    settings = settings_for(database_url, db_statement_timeout=12.5, db_lock_timeout=2.0)
    async with running(settings) as app, app.state.db.session(write=False) as session:
        shown = [
            (await session.execute(text(f"SHOW {name}"))).scalar_one()
            for name in (
                "statement_timeout",
                "lock_timeout",
            )
        ]
    assert shown == ["12500ms", "2s"]


@pytest.fixture
def server() -> Iterator[Postgres]:
    with migrated_server() as started:
        yield started


@pytest.mark.parametrize("retry", [True, False], ids=["retried", "retry-disabled"])
async def test_a_read_on_a_connection_left_stale_by_a_restart_is_retried_once(
    server: Postgres, retry: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pooled connections are never pinged for idleness here: the read must meet the stale one.
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE", 3600.0)
    if not retry:
        monkeypatch.setattr(faults, "connection_lost", lambda _exc: False)
    settings: Settings = settings_for(server.url(DATABASE), cache_enabled=False)
    async with running(settings) as app, client(app) as http:
        token = await register(http, "alice")
        await create_article(http, token)
        for _ in range(3):  # the pool holds a connection that has served reads
            assert (await http.get("/api/articles")).status_code == 200
        server.restart()
        response = await http.get("/api/articles")
        if retry:
            assert response.status_code == 200, response.text
            assert response.json()["articlesCount"] == 1
        else:
            assert response.status_code == 503
            assert "retry-after" in response.headers
