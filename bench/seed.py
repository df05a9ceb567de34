"""Seed a database with bench.data's rows by bulk SQL, not through the HTTP API.

PostgreSQL: `COPY` (asyncpg's `copy_records_to_table`) with foreign-key triggers off for the
load (`session_replication_role = replica`, when the role may), then the id sequences moved
past the loaded ids and `VACUUM ANALYZE`. SQLite: `executemany` in one transaction, then
`ANALYZE`.

The database is created if missing, migrated to head (Alembic, as `conduit db upgrade`
does) and emptied first. Every user gets the same password, hashed once with the Argon2
settings in force (hashing each one would take hours at the large scale).

The one denormalised table, the maintained article counts behind `articlesCount`
(`article_counts`), is rebuilt from the loaded rows at the end by the application's own
recount (`conduit db recount`), so it agrees with them exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from alembic import command
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url

from bench.data import Batch, DataSet
from bench.scales import Scale
from conduit.articles.service import ArticleService
from conduit.cli import alembic_config
from conduit.core.config import Settings
from conduit.core.db import Database
from conduit.models import Base

PASSWORD = "bench-password-1"  # noqa: S105 - every seeded account's, for the load generator
TABLES_WITH_IDS = ("users", "tags", "articles", "comments")


@dataclass(frozen=True, slots=True)
class SeedResult:
    scale: str
    rows: dict[str, int]
    seconds: float


def asyncpg_dsn(database_url: str) -> str:
    """A libpq URL for asyncpg from SQLAlchemy's `postgresql+asyncpg://...`."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def sqlite_path(database_url: str) -> str:
    database = make_url(database_url).database
    if not database:
        raise ValueError("the SQLite URL names no file")
    return database


def is_sqlite(database_url: str) -> bool:
    return database_url.startswith("sqlite")


async def _create_pg_database(database_url: str) -> None:
    url = make_url(database_url)
    name = url.database
    if not name:
        raise ValueError("the PostgreSQL URL names no database")
    maintenance = url.set(database="postgres").render_as_string(hide_password=False)
    admin = await asyncpg.connect(asyncpg_dsn(maintenance))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            quoted = '"' + name.replace('"', '""') + '"'
            await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()


def prepare_database(database_url: str) -> None:
    """Create the database if needed and migrate it to head."""
    if is_sqlite(database_url):
        Path(sqlite_path(database_url)).parent.mkdir(parents=True, exist_ok=True)
    else:
        asyncio.run(_create_pg_database(database_url))
    command.upgrade(alembic_config(database_url), "head")


def hash_password(settings: Settings) -> str:
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    hasher = Argon2Hasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
    )
    return PasswordHash((hasher,)).hash(PASSWORD)


class Sink(Protocol):
    async def clear(self) -> None: ...
    async def write(self, batch: Batch) -> None: ...
    async def finish(self) -> None: ...


def _app_tables() -> list[str]:
    return [table.name for table in Base.metadata.sorted_tables]


class PostgresSink:
    def __init__(self, connection: Any) -> None:
        self.conn = connection

    async def clear(self) -> None:
        names = ", ".join(f'"{name}"' for name in _app_tables())
        await self.conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        await self.conn.execute("SET synchronous_commit = off")
        # Skip the foreign-key triggers while loading: the ids are consistent by design.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await self.conn.execute("SET session_replication_role = replica")

    async def write(self, batch: Batch) -> None:
        if batch.rows:
            await self.conn.copy_records_to_table(
                batch.table, records=batch.rows, columns=list(batch.columns)
            )

    async def finish(self) -> None:
        await self.conn.execute("RESET session_replication_role")
        for table in TABLES_WITH_IDS:
            await self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        await self.conn.execute("VACUUM ANALYZE")


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # stored naive UTC, as the app's UTCDateTime does
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


class SqliteSink:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.conn = connection

    async def clear(self) -> None:
        self.conn.execute("PRAGMA foreign_keys = OFF")
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("BEGIN")
        for name in reversed(_app_tables()):
            self.conn.execute(f'DELETE FROM "{name}"')

    async def write(self, batch: Batch) -> None:
        if not batch.rows:
            return
        columns = ", ".join(batch.columns)
        marks = ", ".join("?" for _ in batch.columns)
        rows = [tuple(_sqlite_value(v) for v in row) for row in batch.rows]
        self.conn.executemany(
            f"INSERT INTO {batch.table} ({columns}) VALUES ({marks})",
            rows,
        )

    async def finish(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("ANALYZE")


async def _load(sink: Sink, data: DataSet, progress: Progress | None) -> dict[str, int]:
    expected = data.expected_rows()
    tasks = {}
    if progress is not None:
        for table, total in expected.items():
            tasks[table] = progress.add_task(table, total=total)
    written: dict[str, int] = dict.fromkeys(expected, 0)
    await sink.clear()
    current = ""
    for batch in data.batches():
        await sink.write(batch)
        written[batch.table] += len(batch.rows)
        if progress is not None:
            if current and current != batch.table:  # the estimate was only an estimate
                progress.update(tasks[current], total=written[current], completed=written[current])
            progress.update(tasks[batch.table], completed=written[batch.table])
        current = batch.table
    if progress is not None:
        progress.update(tasks[current], total=written[current], completed=written[current])
        task = progress.add_task("indexes, statistics", total=1)
    await sink.finish()
    if progress is not None:
        progress.update(task, completed=1)
    return written


async def _count(settings: Settings, progress: Progress | None) -> None:
    """Fill the maintained article counts from the loaded rows, then give them statistics."""
    task = progress.add_task("article counts", total=1) if progress is not None else None
    db = Database(settings)
    try:
        async with db.session() as session:
            await ArticleService(session).recount()
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE article_counts")
            await conn.commit()
    finally:
        await db.dispose()
    if progress is not None and task is not None:
        progress.update(task, completed=1)


async def _seed(settings: Settings, data: DataSet, progress: Progress | None) -> dict[str, int]:
    database_url = settings.database_url
    if is_sqlite(database_url):
        conn = sqlite3.connect(sqlite_path(database_url), isolation_level=None)
        try:
            rows = await _load(SqliteSink(conn), data, progress)
        finally:
            conn.close()
    else:
        pg = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            rows = await _load(PostgresSink(pg), data, progress)
        finally:
            await pg.close()
    await _count(settings, progress)
    return rows


def seed(database_url: str, scale: Scale, *, show_progress: bool = True) -> SeedResult:
    """Create/migrate the database, empty it and load `scale`'s data set."""
    started = time.monotonic()
    prepare_database(database_url)
    settings = Settings(database_url=database_url)
    data = DataSet(scale, hash_password(settings))
    if show_progress:
        columns: Sequence[Any] = (
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns) as progress:
            rows = asyncio.run(_seed(settings, data, progress))
    else:
        rows = asyncio.run(_seed(settings, data, None))
    return SeedResult(scale.name, rows, time.monotonic() - started)
