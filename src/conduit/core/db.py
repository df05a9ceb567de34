"""The ORM base, the engine and `Database`: the session factories and the unit of work.
The route class that gives each request its unit of work is in `core/routing.py`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import DateTime, MetaData, Row, Select, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

from conduit.core import faults, metrics
from conduit.core.config import Settings
from conduit.core.errors import DomainError, unavailable
from conduit.core.reads import DIRECT_READS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Any SELECT and any row of one, for repositories that map rows to schemas themselves.
AnySelect: TypeAlias = Select[*tuple[Any, ...]]
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

MAX_ID = 2**31 - 1  # primary keys are 32-bit integers

# Execution option read by the SQLite "begin" hook: writers take the write lock up front
# (BEGIN IMMEDIATE) so that concurrent writers queue on busy_timeout instead of failing.
_SQLITE_BEGIN = "conduit_sqlite_begin"
# A pooled connection idle this long is pinged before use (see `_ping_idle_connections`).
PING_AFTER_IDLE = 5.0  # seconds
_IDLE_SINCE = "conduit_idle_since"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int, foreign_keys: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN (needed for SAVEPOINT and IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_engine(settings: Settings, *, migrating: bool = False) -> AsyncEngine:
    """The engine for `settings`. `migrating`: SQLite foreign keys off, as Alembic's batch
    mode needs (rebuilding a table must not cascade deletes into the tables that refer to it)."""
    url = settings.database_url
    if settings.is_sqlite:
        engine = create_async_engine(url, echo=settings.db_echo, hide_parameters=True)
        _configure_sqlite(engine, settings.sqlite_busy_timeout_ms, foreign_keys=not migrating)
        return engine
    return create_async_engine(
        url,
        echo=settings.db_echo,
        hide_parameters=True,  # never log bound values: tokens, hashes, mail bodies
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=1800,
        connect_args={
            "server_settings": {"jit": "off", "plan_cache_mode": settings.db_plan_cache_mode}
        },
    )


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled connection before use only when it has been idle for `PING_AFTER_IDLE`.

    `pool_pre_ping` would ping on every checkout: a round trip (three with asyncpg, which
    wraps the ping in a transaction) on every request. A connection in steady use has just
    proved itself; one idle for a while may have been dropped (server restart, a proxy's
    idle timeout). A failed ping invalidates the pool, as `pool_pre_ping` does, and the pool
    retries the checkout with a new connection (SQLAlchemy, "Disconnect Handling").
    """
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        idle_since = record.info.get(_IDLE_SINCE)  # None: a new connection
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise InvalidatePoolError(f"ping failed: {type(exc).__name__}") from exc


AfterCommit = Callable[[], Awaitable[None]]
_AFTER_COMMIT = "conduit_after_commit"


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Run `action` once the session's transaction has committed (cache invalidation,
    notifications). A rollback drops it. It runs before the response is sent."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


async def _run_after_commit(session: AsyncSession) -> None:
    actions: list[AfterCommit] = session.info.pop(_AFTER_COMMIT, [])
    for action in actions:
        await action()


def _count_pool_connections(engine: AsyncEngine) -> None:
    """Keep the pool gauges of /metrics current from the pool's own events."""
    pool = engine.sync_engine.pool

    event.listen(pool, "connect", lambda *_: metrics.DB_POOL_OPEN.inc())
    event.listen(pool, "close", lambda *_: metrics.DB_POOL_OPEN.dec())
    event.listen(pool, "close_detached", lambda *_: metrics.DB_POOL_OPEN.dec())
    event.listen(pool, "checkout", lambda *_: metrics.DB_POOL_CHECKED_OUT.inc())
    event.listen(pool, "checkin", lambda *_: metrics.DB_POOL_CHECKED_OUT.dec())


async def _commit(session: AsyncSession) -> None:
    # Objects added but not yet flushed have not begun a transaction: commit flushes them.
    if session.in_transaction() or session.new or session.deleted:
        await session.commit()


async def _rollback(session: AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    if session.in_transaction():
        await session.rollback()


class Database:
    """The engine and the session factories of one application instance."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        _count_pool_connections(self.engine)
        reader_info: dict[str, Any] = {}
        if settings.is_sqlite:
            # Readers: BEGIN DEFERRED, one snapshot for the request. Writers take the write
            # lock up front.
            reader_bind = self.engine
            writer_bind = self.engine.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        else:
            _ping_idle_connections(self.engine)
            # Readers: no BEGIN and no COMMIT, so no round trips for them. Each
            # statement is its own snapshot, as it already was under READ COMMITTED.
            reader_bind = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            writer_bind = self.engine
            # With no transaction to stay inside, hot reads may run on the driver directly.
            reader_info[DIRECT_READS] = True
        self._reader = async_sessionmaker(reader_bind, expire_on_commit=False, info=reader_info)
        self._writer = async_sessionmaker(writer_bind, expire_on_commit=False)

    @asynccontextmanager
    async def session(self, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block succeeds, rolled back otherwise. An
        infrastructure fault (database lost, pool timeout, statement cancelled: `faults`)
        leaves as `ServiceUnavailable`, a 503 wherever the session was used.

        A session that never ran a statement (a read answered from the cache) holds no
        connection and no transaction: it is neither committed nor closed, which would cost
        a greenlet switch each for nothing."""
        maker = self._writer if write else self._reader
        session = maker()
        try:
            yield session
            await _commit(session)
        except DomainError as exc:
            if exc.keep_changes:
                await _commit(session)
                await _run_after_commit(session)
            else:
                await _rollback(session)
            raise
        except Exception as exc:
            await _rollback(session)
            fault = faults.classify(exc)
            if fault is None:
                raise
            faults.report(fault)
            raise unavailable(fault) from exc
        except BaseException:
            await _rollback(session)
            raise
        finally:
            if session.in_transaction():  # a commit or a rollback that failed
                await session.close()
        await _run_after_commit(session)

    async def dispose(self) -> None:
        await self.engine.dispose()
