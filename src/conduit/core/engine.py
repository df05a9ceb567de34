"""Engines: how a database URL becomes an `AsyncEngine` (SQLite pragmas, PostgreSQL session
settings, pgbouncer's transaction pooling) and the pool's own events (pings, gauges).
`Database` (core/db.py) builds its session factories on them."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from conduit.core import metrics
from conduit.core.config import Settings

logger = logging.getLogger("conduit.db")

# Execution option read by the SQLite "begin" hook: writers take the write lock up front
# (BEGIN IMMEDIATE) so that concurrent writers queue on busy_timeout instead of failing.
SQLITE_BEGIN = "conduit_sqlite_begin"
# A pooled connection idle this long is pinged before use (see `Pinger`).
PING_AFTER_IDLE = 5.0  # seconds
_IDLE_SINCE = "conduit_idle_since"


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
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _statement_name() -> str:
    return f"__conduit_{uuid.uuid4().hex}__"


def _milliseconds(seconds: float) -> str:
    return str(round(seconds * 1000))


def _connect_args(settings: Settings, *, migrating: bool) -> dict[str, Any]:
    """asyncpg's arguments. Behind pgbouncer (transaction pooling) a server connection
    serves many clients: a statement prepared under a per-connection counter's name may meet
    another client's of the same name, a cached one may be gone, and pgbouncer refuses
    startup parameters it does not know; so no caches, unique names, no server settings."""
    if settings.db_pgbouncer:
        return {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": _statement_name,
        }
    server = {"jit": "off", "plan_cache_mode": settings.db_plan_cache_mode}
    if not migrating:  # a migration may rewrite a table or wait for a lock: no limit there
        server["statement_timeout"] = _milliseconds(settings.db_statement_timeout)
        server["lock_timeout"] = _milliseconds(settings.db_lock_timeout)
    return {"server_settings": server}


def create_engine(
    settings: Settings, *, migrating: bool = False, url: str | None = None
) -> AsyncEngine:
    """The engine for `url` (by default the primary's, DATABASE_URL). `migrating`: SQLite
    foreign keys off, as Alembic's batch mode needs (rebuilding a table must not cascade
    deletes into the tables that refer to it), and no PostgreSQL timeouts."""
    url = url or settings.database_url
    if url.startswith("sqlite"):
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
        connect_args=_connect_args(settings, migrating=migrating),
    )


def warn_about_pgbouncer(settings: Settings) -> None:
    """Say at start-up which PostgreSQL settings pgbouncer mode does not send."""
    if settings.db_pgbouncer and not settings.is_sqlite:
        logger.warning(
            "DB_PGBOUNCER: jit, plan_cache_mode, statement_timeout and lock_timeout are not "
            "sent on connect; set them with ALTER ROLE or ALTER DATABASE (docs/replicas.md)"
        )


class Pinger:
    """Ping a pooled connection before use only when it has been idle for `PING_AFTER_IDLE`,
    or was pooled before a connection of this engine was found lost (`suspect_all`).

    `pool_pre_ping` would ping on every checkout: a round trip (three with asyncpg, which
    wraps the ping in a transaction) on every request. A connection in steady use has just
    proved itself; one idle for a while may have been dropped (server restart, a proxy's
    idle timeout). A failed ping invalidates the pool, as `pool_pre_ping` does, and the pool
    retries the checkout with a new connection (SQLAlchemy, "Disconnect Handling").
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._suspect_before = 0.0
        pool = engine.sync_engine.pool
        self._dialect = engine.sync_engine.dialect
        event.listen(pool, "checkin", self._checked_in)
        event.listen(pool, "checkout", self._checked_out)

    def suspect_all(self) -> None:
        """A connection was lost: the server may have restarted under the others too."""
        self._suspect_before = time.monotonic()

    @staticmethod
    def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def _checked_out(
        self, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        idle_since = record.info.get(_IDLE_SINCE)  # None: a new connection
        if idle_since is None or (
            time.monotonic() - idle_since < PING_AFTER_IDLE and idle_since > self._suspect_before
        ):
            return
        try:
            self._dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise InvalidatePoolError(f"ping failed: {type(exc).__name__}") from exc


def count_pool_connections(engine: AsyncEngine) -> None:
    """Keep the pool gauges of /metrics current from the pool's own events."""
    pool = engine.sync_engine.pool

    event.listen(pool, "connect", lambda *_: metrics.DB_POOL_OPEN.inc())
    event.listen(pool, "close", lambda *_: metrics.DB_POOL_OPEN.dec())
    event.listen(pool, "close_detached", lambda *_: metrics.DB_POOL_OPEN.dec())
    event.listen(pool, "checkout", lambda *_: metrics.DB_POOL_CHECKED_OUT.inc())
    event.listen(pool, "checkin", lambda *_: metrics.DB_POOL_CHECKED_OUT.dec())
