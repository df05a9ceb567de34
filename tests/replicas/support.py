"""PostgreSQL servers of the tests' own (chaos.postgres) with a migrated database, the app on
them, and a pgbouncer in front of a database: for the replica, restart and pooler tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from fastapi import FastAPI
from sqlalchemy import text

from chaos.postgres import Postgres, binaries
from conduit.cli import alembic_config
from conduit.core.config import Settings
from conduit.main import create_app
from conduit.models import Base
from tests.conftest import make_settings
from tests.live import free_port

PGBOUNCER = Path("/usr/sbin/pgbouncer")
DATABASE = "conduit"
WAIT = 20.0  # seconds for a server or a poll to come round

needs_postgres_binaries = pytest.mark.skipif(
    binaries() is None or not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="needs PostgreSQL's server binaries and a PostgreSQL DATABASE_URL",
)


@contextmanager
def migrated_server() -> Iterator[Postgres]:
    """A server of its own holding the database `DATABASE`, migrated to head."""
    server = Postgres.create(free_port())
    try:
        command.upgrade(alembic_config(server.create_database(DATABASE)), "head")
        yield server
    finally:
        server.destroy()


def settings_for(url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"mail_embedded_worker": False, "rate_limit_enabled": False}
    return make_settings(url, **{**values, **overrides})


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app with its lifespan; its tables emptied on the primary afterwards."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        try:
            yield app
        finally:
            tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
            async with app.state.db.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def client(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client of the app, calling from `ip`."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def until(condition: Callable[[], bool]) -> None:
    """Wait (at most `WAIT` seconds) until `condition()` holds."""
    async with asyncio.timeout(WAIT):
        while True:
            if condition():
                return
            await asyncio.sleep(0.05)


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def pgbouncer(database: str, *, ignore: str = "") -> Iterator[str]:
    """Debian's pgbouncer in transaction pooling, two server connections, in front of
    `database` on the shared server; its URL. `ignore`: its ignore_startup_parameters."""
    directory = Path(tempfile.mkdtemp(prefix="conduit-pgbouncer-"))
    port = free_port()
    (directory / "users.txt").write_text('"postgres" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n{DATABASE} = host=127.0.0.1 port=5432 dbname={database}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nmax_client_conn = 500\n"
        "server_reset_query = DEALLOCATE ALL\nserver_reset_query_always = 1\n"
        f"ignore_startup_parameters = {ignore}\n"
        f"logfile = {directory / 'pgbouncer.log'}\npidfile = {directory / 'pgbouncer.pid'}\n"
    )
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        for path in directory.iterdir():
            shutil.chown(path, "postgres", "postgres")
    process = subprocess.Popen(  # noqa: S603
        _as_postgres([str(PGBOUNCER), str(directory / "pgbouncer.ini")]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_listening(port)
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{DATABASE}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
