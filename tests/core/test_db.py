"""The engine's round trips on PostgreSQL: read-only sessions send no BEGIN/COMMIT, and a
pooled connection is pinged before use only after it has been idle a while (a dead one is
then replaced, the request never sees it)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from conduit.core import db as db_module
from conduit.core.config import Settings
from conduit.core.db import Database


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
        monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)  # every connection is "idle"
        replaced, _ = await _backend_pid(database)
        assert replaced != first  # the ping found the dead connection; the pool replaced it
        assert pings
    finally:
        await database.dispose()
