"""The ORM base, the engine and `Database`: the session factories and the unit of work.
The route class that gives each request its unit of work is in `core/routing.py`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol, TypeAlias, TypeVar

from sqlalchemy import DateTime, MetaData, Row, Select
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator
from starlette.datastructures import Headers

from conduit.core import faults
from conduit.core.config import Settings
from conduit.core.context import current_context
from conduit.core.engine import (
    SQLITE_BEGIN,
    Pinger,
    count_pool_connections,
    create_engine,
    warn_about_pgbouncer,
)
from conduit.core.errors import DomainError, ServiceUnavailable, unavailable
from conduit.core.reads import BIND_MAY_CHANGE, DIRECT_IN_TRANSACTION, DIRECT_READS

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

_PRIMARY = "conduit_primary_bind"  # a replica session's info: where fills read
# Set while a read fills the shared cache: a replica session's statements go to the primary.
_FROM_PRIMARY: ContextVar[bool] = ContextVar("conduit_from_primary", default=False)
T = TypeVar("T")


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


async def _commit(session: AsyncSession) -> bool:
    """Whether anything was committed."""
    # Objects added but not yet flushed have not begun a transaction: commit flushes them.
    if session.in_transaction() or session.new or session.deleted:
        await session.commit()
        return True
    return False


async def _rollback(session: AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    if session.in_transaction():
        await session.rollback()


@contextmanager
def from_primary() -> Iterator[None]:
    """Inside the block, a replica's reader session reads from the primary (a cache fill:
    what is stored under the current generations must be no older than the last write)."""
    token = _FROM_PRIMARY.set(True)
    try:
        yield
    finally:
        _FROM_PRIMARY.reset(token)


class _ReplicaSession(Session):
    """A reader session bound to a replica, whose statements go to the primary inside
    `from_primary`. It may then hold a connection to each: both are autocommit readers."""

    def get_bind(self, mapper: Any = None, **kw: Any) -> Engine | Connection:
        if kw.get("bind") is None and _FROM_PRIMARY.get():
            primary: Engine = self.info[_PRIMARY]
            return primary
        return super().get_bind(mapper, **kw)


class ReadRouter(Protocol):
    """Picks the replica for a read (core/replicas.py), told when one failed a read."""

    async def choose(self, headers: Headers) -> int | None: ...

    def failed(self, replica: int) -> None: ...


def _reader_bind(engine: AsyncEngine, settings: Settings) -> tuple[AsyncEngine, dict[str, Any]]:
    """The readers' bind on a PostgreSQL engine, and their sessions' info."""
    if settings.db_pgbouncer:
        # pgbouncer may hand each statement outside a transaction to another server, where
        # the statement prepared for it does not exist: readers run in transactions.
        return engine, {}
    # Readers: no BEGIN and no COMMIT, so no round trips for them. Each statement is its
    # own snapshot, as it already was under READ COMMITTED. With no transaction to stay
    # inside, hot reads may run on the driver directly.
    return engine.execution_options(isolation_level="AUTOCOMMIT"), {DIRECT_READS: True}


class Database:
    """The engines (the primary's, the replicas') and the session factories of one
    application instance. `router`, when set, sends reads to replicas (core/replicas.py)."""

    def __init__(self, settings: Settings) -> None:
        self.engine = create_engine(settings)
        self.is_sqlite = settings.is_sqlite
        count_pool_connections(self.engine)
        self.router: ReadRouter | None = None
        self.replicas: list[AsyncEngine] = []
        self._replica_readers: list[async_sessionmaker[AsyncSession]] = []
        self._pingers: list[Pinger] = []  # the primary's, then each replica's
        if settings.is_sqlite:
            # Readers: BEGIN DEFERRED, one snapshot for the request. Writers take the write
            # lock up front.
            self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
            writer_bind = self.engine.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            self._writer = async_sessionmaker(writer_bind, expire_on_commit=False)
            return
        warn_about_pgbouncer(settings)
        self._pingers.append(Pinger(self.engine))
        reader_bind, reader_info = _reader_bind(self.engine, settings)
        self._reader = async_sessionmaker(reader_bind, expire_on_commit=False, info=reader_info)
        # Writers: hot reads on the driver inside their transaction, as readers' outside
        # one (core/reads.py); not through pgbouncer, as for readers.
        writer_info = {} if settings.db_pgbouncer else {DIRECT_IN_TRANSACTION: True}
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False, info=writer_info)
        for url in settings.database_replica_url:
            replica = create_engine(settings, url=url)
            self.replicas.append(replica)
            self._pingers.append(Pinger(replica))
            bind, info = _reader_bind(replica, settings)
            info |= {_PRIMARY: reader_bind.sync_engine, BIND_MAY_CHANGE: True}
            self._replica_readers.append(
                async_sessionmaker(
                    bind, expire_on_commit=False, info=info, sync_session_class=_ReplicaSession
                )
            )

    @asynccontextmanager
    async def session(
        self, *, write: bool = True, replica: int | None = None
    ) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block succeeds, rolled back otherwise. An
        infrastructure fault (database lost, pool timeout, statement cancelled: `faults`)
        leaves as `ServiceUnavailable`, a 503 wherever the session was used. A reader may
        run on a replica (its index in DATABASE_REPLICA_URL).

        A session that never ran a statement (a read answered from the cache) holds no
        connection and no transaction: it is neither committed nor closed, which would cost
        a greenlet switch each for nothing."""
        if write:
            maker = self._writer
        else:
            maker = self._reader if replica is None else self._replica_readers[replica]
        session = maker()
        try:
            yield session
            if await _commit(session) and write and self.router is not None:
                _note_write()
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

    async def read(self, work: Callable[[AsyncSession], Awaitable[T]], headers: Headers) -> T:
        """`work` in a reader unit of work, on the replica the router picks or the primary.
        It runs once more, on the primary, when the first attempt lost its connection (a
        pooled connection left stale by a restart, a replica gone): nothing was written or
        sent yet, and a read is safe to repeat. Writes are never repeated."""
        replica = None if self.router is None else await self.router.choose(headers)
        try:
            async with self.session(write=False, replica=replica) as session:
                return await work(session)
        except ServiceUnavailable as exc:
            if self.is_sqlite or not faults.connection_lost(exc.__cause__):
                raise
            self._pingers[0 if replica is None else replica + 1].suspect_all()
            if replica is not None and self.router is not None:
                self.router.failed(replica)
        async with self.session(write=False) as session:
            return await work(session)

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.dispose()
        await self.engine.dispose()


def _note_write() -> None:
    """Tell the request's context that a write committed (its caller reads from the primary
    for a while: core/replicas.py)."""
    context = current_context()
    if context is not None:
        context.wrote = True
