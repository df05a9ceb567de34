"""Hot reads (core/reads.py): on PostgreSQL a reader's session runs them on the asyncpg
connection directly. What they return must be what `session.execute` returns, types
processed both ways; a writer's session keeps them inside its transaction; statement
listeners still see them; and a connection lost under one is not pooled again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Integer, String, TypeDecorator, bindparam, cast, event, select, text
from sqlalchemy.engine import Dialect

from conduit.articles.models import Tag
from conduit.articles.statements import PageShape, article_read, page_read
from conduit.core.config import Settings
from conduit.core.db import Database
from conduit.core.reads import HotRead


class Bracketed(TypeDecorator[str]):
    """A type whose bind and result processing both show in the value."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else value.upper()

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else f"[{value}]"


_ECHO = HotRead(
    select(
        cast(bindparam("word", type_=Bracketed), Bracketed).label("word"),
        (bindparam("number", type_=Integer) + 1).label("next"),
    )
)
_PID = HotRead(select(text("pg_backend_pid()")))


async def _terminate(settings: Settings, pid: int) -> None:
    """End backend `pid` from a connection of another pool, as an operator would."""
    other = Database(settings)
    async with other.session(write=False) as session:
        await session.execute(text(f"SELECT pg_terminate_backend({int(pid)})"))
    await other.dispose()


@pytest.fixture
def postgres(settings: Settings) -> Settings:
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    return settings


async def test_a_hot_read_returns_what_the_session_returns(settings: Settings) -> None:
    database = Database(settings)
    params = {"word": "abc", "number": 41}
    try:
        async with database.session(write=False) as session:
            direct = await _ECHO.all(session, params)
            through = [tuple(row) for row in (await session.execute(_ECHO.statement, params))]
        assert direct == through == [("[ABC]", 42)]
        # The article statements too, signed in and not, on whatever the database holds.
        name = database.engine.dialect.name
        for read, read_params in (
            (page_read(name, PageShape(signed_in=True)), {}),
            (page_read(name, PageShape(signed_in=False, tag=True)), {}),
            (page_read(name, PageShape(signed_in=True, tag=True, confirm=True)), {}),
            (article_read(name, True, "slug"), {"slug": "x"}),
            (article_read(name, True, "slug", True), {"slug": "x"}),
        ):
            values = {"viewer_id": 1, "tag": "t", "page_limit": 5, "page_offset": 0}
            values.update(session_id="s" * 32, now=datetime.now(UTC))
            values.update(read_params)
            async with database.session(write=False) as session:
                direct = await read.all(session, values)
                through = [tuple(r) for r in (await session.execute(read.statement, values))]
            assert direct == through
        async with database.session(write=False) as session:
            assert await _ECHO.first(session, params) == ("[ABC]", 42)
    finally:
        await database.dispose()


async def test_readers_go_to_the_driver_and_writers_stay_in_their_transaction(
    postgres: Settings,
) -> None:
    database = Database(postgres)
    by_name = HotRead(select(Tag.__table__.c.name).where(Tag.__table__.c.name == bindparam("n")))
    try:
        async with database.session(write=False) as session:

            async def refused(*_args: Any, **_kwargs: Any) -> Any:
                raise AssertionError("a reader's hot read went through session.execute")

            session.execute = refused  # type: ignore[method-assign]
            assert await by_name.all(session, {"n": "no-such-tag-name"}) == []
        async with database.session(write=True) as session:
            session.add(Tag(name="hot-read-uncommitted"))
            await session.flush()
            # Only this transaction sees the row: the read must run inside it.
            assert await by_name.all(session, {"n": "hot-read-uncommitted"}) == [
                ("hot-read-uncommitted",)
            ]
            await session.rollback()
    finally:
        await database.dispose()


async def test_a_writers_hot_read_goes_to_the_driver_once_its_transaction_has_begun(
    postgres: Settings,
) -> None:
    database = Database(postgres)
    by_name = HotRead(select(Tag.__table__.c.name).where(Tag.__table__.c.name == bindparam("n")))
    try:
        async with database.session(write=True) as session:
            through_sqlalchemy: list[Any] = []
            execute = session.execute

            async def counted(statement: Any, *args: Any, **kwargs: Any) -> Any:
                through_sqlalchemy.append(statement)
                return await execute(statement, *args, **kwargs)

            session.execute = counted  # type: ignore[method-assign]
            # The transaction's first statement: through SQLAlchemy, which begins it.
            assert await by_name.all(session, {"n": "hot-read-pending"}) == []
            assert len(through_sqlalchemy) == 1
            # An ORM change waiting: through SQLAlchemy, which flushes it first.
            session.add(Tag(name="hot-read-pending"))
            assert await by_name.all(session, {"n": "hot-read-pending"}) == [("hot-read-pending",)]
            assert len(through_sqlalchemy) == 2
            # Begun, nothing pending: on the driver, inside the transaction (which alone
            # sees the row).
            assert await by_name.all(session, {"n": "hot-read-pending"}) == [("hot-read-pending",)]
            assert len(through_sqlalchemy) == 2
            await session.rollback()
    finally:
        await database.dispose()


async def test_statement_listeners_see_hot_reads(settings: Settings) -> None:
    database = Database(settings)
    seen: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with database.session(write=False) as session:
            await _ECHO.all(session, {"word": "a", "number": 1})
        assert [s for s in seen if s.lstrip().upper().startswith("SELECT")] != []
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", listener)
        await database.dispose()


async def test_a_connection_lost_under_a_hot_read_is_not_pooled_again(
    postgres: Settings,
) -> None:
    database = Database(postgres.model_copy(update={"db_pool_size": 1}))
    try:
        async with database.session(write=False) as session:
            first_pid = (await _PID.all(session, {}))[0][0]
        await _terminate(postgres, first_pid)
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver raises
            async with database.session(write=False) as session:
                await _PID.first(session, {})
        # The next request gets a new connection, not the dead one back from the pool.
        async with database.session(write=False) as session:
            second_pid = (await _PID.all(session, {}))[0][0]
        assert second_pid != first_pid
    finally:
        await database.dispose()


async def test_a_reader_asks_its_session_for_the_connection_once_per_transaction(
    postgres: Settings,
) -> None:
    database = Database(postgres)
    try:
        async with database.session(write=False) as session:
            asked = 0
            connection = session.connection

            async def counted(*args: Any, **kwargs: Any) -> Any:
                nonlocal asked
                asked += 1
                return await connection(*args, **kwargs)

            session.connection = counted  # type: ignore[method-assign]
            pids = {(await _PID.all(session, {}))[0][0] for _ in range(3)}
            assert (asked, len(pids)) == (1, 1)
            # A new transaction holds a connection of its own: the session is asked again.
            await session.commit()
            await _PID.all(session, {})
            assert asked == 2
    finally:
        await database.dispose()


async def test_a_connection_lost_mid_session_is_not_used_again(postgres: Settings) -> None:
    database = Database(postgres)
    try:
        async with database.session(write=False) as session:
            pid = (await _PID.all(session, {}))[0][0]
            await _terminate(postgres, pid)
            with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the driver raises
                await _PID.all(session, {})
            # The session, not the remembered connection, answers next: it refuses until
            # rolled back, as it would without hot reads.
            with pytest.raises(Exception):  # noqa: B017, PT011
                await _PID.all(session, {})
            await session.rollback()
            assert (await _PID.all(session, {}))[0][0] != pid
    finally:
        await database.dispose()


async def test_a_statement_whose_sql_depends_on_its_values_is_refused(
    postgres: Settings,
) -> None:
    database = Database(postgres)
    expanding = HotRead(
        select(Tag.__table__.c.id).where(
            Tag.__table__.c.name.in_(bindparam("names", expanding=True))
        )
    )
    try:
        async with database.session(write=False) as session:
            with pytest.raises(TypeError, match="expand"):
                await expanding.all(session, {"names": ["a", "b"]})
    finally:
        await database.dispose()
