"""The engine's round trips on PostgreSQL: read-only sessions send no BEGIN/COMMIT, and a
pooled connection is pinged before use only after it has been idle a while (a dead one is
then replaced, the request never sees it). A full pool answers 503; an untouched session
costs no commit."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from conduit.articles.models import Tag
from conduit.core import engine as engine_module
from conduit.core.config import Settings
from conduit.core.db import Database
from conduit.core.errors import ServiceUnavailable


@pytest.fixture
def postgres(settings: Settings) -> Settings:
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    return settings


async def _backend_pid(database: Database, *, write: bool = False) -> tuple[int, bool]:
    """The server process behind a session, and whether it was inside a transaction."""
    async with database.session(write=write) as session:
        pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        raw = (await (await session.connection()).get_raw_connection()).driver_connection
        assert raw is not None
        return pid, bool(raw.is_in_transaction())


async def test_read_only_sessions_run_without_a_transaction(postgres: Settings) -> None:
    database = Database(postgres)
    try:
        assert (await _backend_pid(database, write=False))[1] is False  # AUTOCOMMIT
        assert (await _backend_pid(database, write=True))[1] is True  # BEGIN ... COMMIT
    finally:
        await database.dispose()


async def test_only_an_idle_connection_is_pinged_and_a_dead_one_replaced(
    postgres: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(postgres)
    dialect: Any = database.engine.sync_engine.dialect
    pings: list[object] = []
    real_ping = dialect.do_ping

    def counted_ping(dbapi_connection: object) -> bool:
        pings.append(dbapi_connection)
        return bool(real_ping(dbapi_connection))

    monkeypatch.setattr(dialect, "do_ping", counted_ping)
    try:
        first, _ = await _backend_pid(database)
        assert (await _backend_pid(database))[0] == first  # the same pooled connection
        assert pings == []  # in steady use: not pinged

        outside = create_async_engine(postgres.database_url, poolclass=NullPool)
        async with outside.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await outside.dispose()
        monkeypatch.setattr(engine_module, "PING_AFTER_IDLE", 0.0)  # every connection is "idle"
        replaced, _ = await _backend_pid(database)
        assert replaced != first  # the ping found the dead connection; the pool replaced it
        assert pings
    finally:
        await database.dispose()


async def test_a_request_waiting_past_the_pool_timeout_is_told_to_retry(
    postgres: Settings,
) -> None:
    """Pool without overflow: a session that cannot get a connection within
    DB_POOL_TIMEOUT fails with 503 and Retry-After (ServiceUnavailable), not a 500."""
    settings = postgres.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.2}
    )
    database = Database(settings)
    try:
        async with database.session(write=False) as holder:
            await holder.execute(text("SELECT 1"))  # holds the only connection
            with pytest.raises(ServiceUnavailable) as refused:
                async with database.session(write=False) as waiting:
                    await waiting.execute(text("SELECT 1"))
            assert refused.value.status_code == 503
            assert refused.value.retry_after >= 1
        async with database.session(write=False) as later:  # the connection is back
            assert (await later.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await database.dispose()


async def test_an_untouched_session_costs_no_commit_but_pending_objects_are_committed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read answered from the cache never runs a statement: its session is neither
    committed nor closed. Objects added without a flush still make the session commit."""
    database = Database(settings)
    commits: list[object] = []
    real_commit = AsyncSession.commit

    async def counted_commit(self: AsyncSession) -> None:
        commits.append(self)
        await real_commit(self)

    monkeypatch.setattr(AsyncSession, "commit", counted_commit)
    try:
        async with database.session(write=False):
            pass
        async with database.session(write=True):
            pass
        assert commits == []
        async with database.session(write=True) as writer:
            writer.add(Tag(name="pending-only"))  # no flush: no transaction has begun yet
        assert len(commits) == 1
        async with database.session(write=False) as reader:
            names = (await reader.scalars(select(Tag.name))).all()
        assert "pending-only" in names
    finally:
        async with database.session() as cleanup:
            await cleanup.execute(delete(Tag).where(Tag.name == "pending-only"))
        await database.dispose()


async def test_connections_use_the_configured_plan_cache_mode(postgres: Settings) -> None:
    """Prepared statements get generic plans by default (DB_PLAN_CACHE_MODE), no planning
    per execution; the setting reaches every connection of the pool."""
    for mode in ("force_generic_plan", "auto"):
        database = Database(postgres.model_copy(update={"db_plan_cache_mode": mode}))
        try:
            async with database.session(write=False) as session:
                shown = (await session.execute(text("SHOW plan_cache_mode"))).scalar_one()
            assert shown == mode
        finally:
            await database.dispose()
    assert Settings(_env_file=None).db_plan_cache_mode == "force_generic_plan"
