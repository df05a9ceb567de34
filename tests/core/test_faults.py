"""The infrastructure-fault classifier (`conduit.core.faults`) on real driver exceptions, and
the 503 an app answers in process when its database is unreachable."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from asyncpg import exceptions as pg
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from conduit.core import faults
from conduit.core.security import TokenCodec
from conduit.main import create_app
from tests.conftest import make_settings
from tests.faults import ADMIN_URL, postgres_reachable
from tests.live import free_port

needs_postgres = pytest.mark.skipif(
    not postgres_reachable(), reason="needs PostgreSQL on 127.0.0.1:5432"
)


@pytest.fixture(autouse=True)
def fresh_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(faults, "_throttle", faults._Throttle())


@pytest.mark.parametrize(
    "error",
    [
        pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pg.AdminShutdownError("terminating connection due to administrator command"),
        pg.CannotConnectNowError("the database system is shutting down"),
        pg.CrashShutdownError("terminating connection because of crash of another process"),
        pg.QueryCanceledError("canceling statement due to statement timeout"),
        pg.TooManyConnectionsError("sorry, too many clients already"),
        pg.LockNotAvailableError("canceling statement due to lock timeout"),
        pg.InterfaceError("cannot perform operation: connection is closed"),
        pg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_driver_errors_of_a_lost_or_refusing_database_are_faults(error: Exception) -> None:
    fault = faults.classify(error)
    assert fault is not None
    assert fault.kind == type(error).__name__
    assert not fault.busy
    assert fault.message == "is unavailable, try again shortly"
    # Wrapped as SQLAlchemy wraps it, or raised from it: the same fault.
    wrapped = DBAPIError("SELECT 1", None, error)
    assert faults.classify(wrapped) == fault
    chained = RuntimeError("while serving")
    chained.__cause__ = error
    assert faults.classify(chained) == fault


@pytest.mark.parametrize(
    "error",
    [
        pg.InterfaceError("cannot perform operation: another operation is in progress"),
        pg.InternalClientError("no binary format encoder for type foo (OID 1)"),
        pg.UniqueViolationError("duplicate key value violates unique constraint"),
        pg.UndefinedTableError('relation "nowhere" does not exist'),
        pg.DeadlockDetectedError("deadlock detected"),
        IntegrityError("INSERT", None, Exception("duplicate")),
        ProgrammingError("SELEC", None, Exception("syntax error")),
        ConnectionRefusedError(111, "raised by our own code, not the driver"),
        TimeoutError(),
        ValueError("naive datetime"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_programming_errors_and_faults_of_other_code_are_not_faults(error: Exception) -> None:
    assert faults.classify(error) is None


def test_a_pool_timeout_is_busy_not_down() -> None:
    fault = faults.classify(PoolTimeout("QueuePool limit of size 1 overflow 0 reached"))
    assert fault is not None
    assert fault.busy
    assert fault.message == "is busy, try again shortly"
    assert fault.retry_after == faults.BUSY_RETRY_AFTER


def test_a_connection_sqlalchemy_found_lost_is_a_fault() -> None:
    error = DBAPIError("SELECT 1", None, Exception("gone"), connection_invalidated=True)
    assert faults.classify(error) is not None
    assert faults.classify(DBAPIError("SELECT 1", None, Exception("gone"))) is None


async def test_a_refused_connection_through_the_driver_is_a_fault() -> None:
    with pytest.raises(ConnectionRefusedError) as refused:
        await asyncpg.connect(host="127.0.0.1", port=free_port(), user="postgres")
    fault = faults.classify(refused.value)
    assert fault is not None
    assert fault.kind == "ConnectionRefusedError"


def test_sqlite_busy_is_a_fault_but_its_sql_mistakes_are_not(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0}, poolclass=NullPool)
    try:
        with pytest.raises(OperationalError) as mistake, engine.connect() as conn:
            conn.execute(text("SELECT * FROM nowhere"))
        assert "no such table" in str(mistake.value)
        assert faults.classify(mistake.value) is None
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(OperationalError) as locked, engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        assert "database is locked" in str(locked.value)
        assert faults.classify(locked.value) is not None
    finally:
        holder.close()
        engine.dispose()


@needs_postgres
async def test_a_statement_cancelled_by_the_server_is_a_fault() -> None:
    engine = create_async_engine(ADMIN_URL, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SET statement_timeout = 50"))
            with pytest.raises(DBAPIError) as cancelled:
                await conn.execute(text("SELECT pg_sleep(2)"))
        fault = faults.classify(cancelled.value)
        assert fault is not None
        assert fault.kind == "QueryCanceledError"
    finally:
        await engine.dispose()


def test_the_warning_is_one_line_per_kind_per_interval(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost = faults.Fault("ConnectionDoesNotExistError", "connection was closed")
    refused = faults.Fault("ConnectionRefusedError", "Connect call failed")
    with caplog.at_level(logging.WARNING, logger="conduit.faults"):
        for _ in range(5):
            faults.report(lost)
        faults.report(refused)
        monkeypatch.setattr(faults, "WARN_EVERY", 0.0)
        faults.report(lost)
    records = [r for r in caplog.records if r.name == "conduit.faults"]
    assert [r.levelno for r in records] == [logging.WARNING] * 3
    assert all(r.exc_info is None for r in records)
    messages = [r.getMessage() for r in records]
    assert "ConnectionDoesNotExistError" in messages[0]
    assert "0 more" in messages[0]
    assert "ConnectionRefusedError" in messages[1]
    assert "4 more since the last warning" in messages[2]


# --- in process: an app whose PostgreSQL does not answer -------------------------------


@pytest.fixture
async def unreachable() -> AsyncIterator[httpx.AsyncClient]:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app(make_settings(dead, cache_enabled=False))
    transport = httpx.ASGITransport(app=app)  # an exception reaching the test fails it
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client
    await app.state.db.dispose()


async def test_every_path_answers_503_when_the_database_is_unreachable(
    unreachable: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    token = TokenCodec(make_settings("sqlite://")).encode("1", "session")
    signed_in = {"Authorization": f"Token {token}"}
    article = {"article": {"title": "t", "description": "d", "body": "b"}}
    login = {"user": {"email": "a@example.com", "password": "long-enough-password"}}
    with caplog.at_level(logging.WARNING):
        responses = [
            await unreachable.get("/api/user", headers=signed_in),
            await unreachable.get("/api/articles"),
            await unreachable.post("/api/articles", json=article, headers=signed_in),
            # The idempotency middleware checks the session in the database before any route.
            await unreachable.post(
                "/api/articles", json=article, headers={**signed_in, "Idempotency-Key": "k1"}
            ),
            await unreachable.post("/api/users/login", json=login),
        ]
    for response in responses:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == str(faults.DOWN_RETRY_AFTER)
        body = response.json()
        assert body["errors"] == {"database": ["is unavailable, try again shortly"]}
        assert body["request_id"] == response.headers["x-request-id"]
    warnings = [r for r in caplog.records if r.name == "conduit.faults"]
    assert 1 <= len(warnings) < len(responses)
    assert not [r for r in caplog.records if r.exc_info]
