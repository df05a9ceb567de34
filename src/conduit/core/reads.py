"""Hot reads: a SELECT compiled once and, on PostgreSQL, run straight on the asyncpg
connection of the request's session.

Through `session.execute`, SQLAlchemy walks the whole statement tree for its cache key on
every execution, then builds its result and row objects, which costs more than asyncpg's
own work on the article page statement (docs/performance.md). A `HotRead` renders the SQL
once per dialect and keeps the bind and result processors of its types, so its rows hold
the values `session.execute` would give (a `TypeDecorator` is applied both ways).

What does not change:
- the session: the statement runs on the connection the request's session holds, so a
  request still has one session and one connection;
- transactions: a reader's session (autocommit, see `Database`) takes this path; a
  writer's session takes it once its transaction has begun on the connection (asyncpg's
  `is_in_transaction`), so the statement runs inside it, and before that (its first
  statement) runs the statement through SQLAlchemy, which begins it. Every session on
  SQLite, and with pgbouncer, goes through SQLAlchemy;
- observers: `before_cursor_execute` listeners (statement counters) see the statement;
- a connection lost mid-statement is invalidated, as SQLAlchemy does, not pooled again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from asyncpg.exceptions import OperatorInterventionError, PostgresConnectionError, PostgresError
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import Select

# Set in the `info` of the sessions whose statements may bypass SQLAlchemy's execution
# (autocommit readers on PostgreSQL); see `Database`.
DIRECT_READS = "conduit_direct_reads"
# Set in the `info` of the writers' sessions whose statements may bypass SQLAlchemy's
# execution inside their transaction, once it has begun (writers on PostgreSQL).
DIRECT_IN_TRANSACTION = "conduit_direct_in_transaction"
# Set in the `info` of a replica's sessions, whose bind depends on the statement (a cache
# fill reads from the primary: `Database`): the connection is asked for every time.
BIND_MAY_CHANGE = "conduit_bind_may_change"

Processor = Callable[[Any], Any]
_HELD = "conduit_held_connection"  # session.info: (its transaction, that transaction's connection)

# The server's answer to a statement leaves its connection fit for the next one, except
# these: class 08, a lost connection; class 57, an operator's intervention (the server
# shutting down, the backend terminated, a statement timeout).
_SERVER_ENDED = (PostgresConnectionError, OperatorInterventionError)


class _Rendered:
    """The statement as one dialect runs it: SQL, parameter order, value processors."""

    def __init__(self, statement: Select[*tuple[Any, ...]], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is None:
            raise TypeError(f"{dialect.name} does not take positional parameters")
        self.compiled = compiled
        self.sql = str(compiled)
        if "POSTCOMPILE" in self.sql:  # an expanding IN: its SQL depends on the values
            raise TypeError("a hot read cannot expand parameters")
        self.names = tuple(compiled.positiontup)
        unescaped = {escaped: name for name, escaped in compiled.escaped_bind_names.items()}
        self.bind_processors: dict[str, Processor] = {}
        for name in self.names:
            bind = compiled.binds[unescaped.get(name, name)]
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.bind_processors[name] = processor
        self.result_processors: list[tuple[int, Processor]] = []
        for index, column in enumerate(statement.selected_columns):
            processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if processor is not None:
                self.result_processors.append((index, processor))

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        values = self.compiled.construct_params(params)
        processors = self.bind_processors
        return [
            processors[name](values[name]) if name in processors else values[name]
            for name in self.names
        ]

    def row(self, record: Sequence[Any]) -> tuple[Any, ...]:
        if not self.result_processors:
            return tuple(record)
        values = list(record)
        for index, processor in self.result_processors:
            values[index] = processor(values[index])
        return tuple(values)


class HotRead:
    """A SELECT run often with different parameters; build it once (module level or
    cached) and call `all` / `first` with the session of the request."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self._rendered: dict[str, _Rendered] = {}

    def _for(self, dialect: Dialect) -> _Rendered:
        rendered = self._rendered.get(dialect.name)
        if rendered is None:
            rendered = self._rendered[dialect.name] = _Rendered(self.statement, dialect)
        return rendered

    async def all(self, session: AsyncSession, params: Mapping[str, Any]) -> list[Any]:
        """Every row, each a tuple of the selected columns' values."""
        info = session.info
        direct = info.get(DIRECT_READS) or (
            info.get(DIRECT_IN_TRANSACTION) and await _in_transaction(session)
        )
        if not direct:
            return list((await session.execute(self.statement, params)).all())
        connection = await _connection(session)
        rendered = self._for(connection.dialect)
        arguments = rendered.arguments(params)
        try:
            records = await _fetch(connection, rendered.sql, arguments)
        except BaseException:
            session.info.pop(_HELD, None)  # the connection may be gone: ask the session again
            raise
        return [rendered.row(record) for record in records]

    async def first(self, session: AsyncSession, params: Mapping[str, Any]) -> Any | None:
        rows = await self.all(session, params)
        return rows[0] if rows else None


async def _connection(session: AsyncSession) -> AsyncConnection:
    """The connection of the session's transaction, begun if need be. The one the session
    holds is remembered for the transaction's life: `session.connection()` crosses into a
    greenlet on every call, even when it has nothing to do but return it."""
    if session.info.get(BIND_MAY_CHANGE):
        return await session.connection()
    held: tuple[object, AsyncConnection] | None = session.info.get(_HELD)
    transaction = session.sync_session.get_transaction()
    if held is not None and transaction is not None and held[0] is transaction:
        return held[1]
    connection = await session.connection()
    session.info[_HELD] = (session.sync_session.get_transaction(), connection)
    return connection


async def _in_transaction(session: AsyncSession) -> bool:
    """Whether the session's transaction has begun on its connection (SQLAlchemy's asyncpg
    adapter sends BEGIN with the transaction's first statement, not when it begins), with
    no ORM change waiting to be flushed, which `session.execute` would flush first."""
    if session.new or session.dirty or session.deleted:
        return False
    sync = (await _connection(session)).sync_connection
    assert sync is not None  # a connection the session has begun
    driver = sync.connection.driver_connection
    return bool(driver.is_in_transaction())  # type: ignore[union-attr]


async def _fetch(connection: AsyncConnection, sql: str, arguments: list[Any]) -> list[Any]:
    sync = connection.sync_connection
    assert sync is not None  # a connection the session has begun
    dispatch = sync.dispatch.before_cursor_execute
    if dispatch:  # listeners get what they need of a cursor execution: the SQL, the values
        dispatch(sync, None, sql, tuple(arguments), None, False)
    driver = sync.connection.driver_connection
    try:
        records: list[Any] = await driver.fetch(sql, *arguments)  # type: ignore[union-attr]
    except BaseException as exc:
        # Anything else (a socket error, a cancelled statement, a protocol error) leaves the
        # connection gone or in an unknown state: it is closed, never pooled again.
        if not isinstance(exc, PostgresError) or isinstance(exc, _SERVER_ENDED):
            await connection.invalidate()
        raise
    return records
