"""Test harness: a real schema built by the migrations, the app over HTTP, clean tables per test.

SQLite by default (a temporary file). When `DATABASE_URL` points to PostgreSQL, the suite
creates a scratch database on that server, runs there, and drops it afterwards; the
database named in the URL is never touched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from conduit.cli import alembic_config
from conduit.core.config import Settings, get_settings
from conduit.core.logging import formatter as log_formatter
from conduit.main import create_app
from conduit.models import Base
from tests.factories import PASSWORD, register

# The bad-input tests of every domain (tests/*/test_bad_input*.py) share their support from
# tests/bad_input/: its fixtures (`world`, `three_articles`) are in `fixtures`. Every module
# of it is a plugin so that pytest rewrites their asserts (`check()` and the others) as it
# does a test's; listed after the modules they import.
pytest_plugins = [
    "tests.bad_input.checks",
    "tests.bad_input.fixtures",
    "tests.bad_input.endpoints",
    "tests.bad_input.values",
    "tests.bad_input.routes",
]

# Every credential the app hands out during the run (tokens, refresh tokens, API keys),
# collected from response bodies; none of them may ever appear in a log line.
ISSUED_SECRETS: set[str] = set()
_SECRET_FIELDS = {"token", "refreshToken", "refresh_token", "access_token", "key"}


def _collect_secrets(value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SECRET_FIELDS and isinstance(item, str) and len(item) >= 16:
                ISSUED_SECRETS.add(item)
            else:
                _collect_secrets(item)
    elif isinstance(value, list):
        for item in value:
            _collect_secrets(item)


async def _record_issued_secrets(response: httpx.Response) -> None:
    if response.headers.get("content-type", "").startswith("application/json"):
        await response.aread()
        with suppress(ValueError):
            _collect_secrets(response.json())


class _LogCapture(logging.Handler):
    """Renders every log record of the run the way production does (JSON lines)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(log_formatter(json_lines=True))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session", autouse=True)
def logs_hold_no_secrets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_LogCapture]:
    """After the whole run: the captured logs contain no password and no credential the
    app issued (grepped for each one)."""
    capture = _LogCapture()
    logging.getLogger().addHandler(capture)
    yield capture
    logging.getLogger().removeHandler(capture)
    text_of_logs = "\n".join(capture.lines)
    (tmp_path_factory.getbasetemp() / "run.log").write_text(text_of_logs, encoding="utf-8")
    if not capture.lines:
        return  # a run that logged nothing (e.g. a single unit test) has nothing to check
    assert PASSWORD not in text_of_logs, "a password reached the logs"
    leaked = [secret[:12] + "..." for secret in ISSUED_SECRETS if secret in text_of_logs]
    assert not leaked, f"{len(leaked)} issued credentials reached the logs: {leaked[:5]}"


def _postgres_scratch(url: str) -> tuple[str, Callable[[], None]]:
    base = make_url(url)
    name = f"conduit_test_{uuid.uuid4().hex[:10]}"
    admin_url = base.set(database="postgres")

    async def run(sql: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    scratch = base.set(database=name).render_as_string(hide_password=False)
    return scratch, lambda: asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith("postgresql"):
        url, drop = _postgres_scratch(configured)
        try:
            command.upgrade(alembic_config(url), "head")
            yield url
        finally:
            drop()
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'test.db'}"
        command.upgrade(alembic_config(url), "head")
        yield url


@pytest.fixture(autouse=True)
def no_unhandled_errors(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Fail any test during which the app logged an unhandled error (a 500), showing it.

    Tests marked `server_error` cause one on purpose. A test that already failed is left
    alone: its captured log shows the exception.
    """
    failed_before = request.session.testsfailed
    yield
    if request.node.get_closest_marker("server_error") or (
        request.session.testsfailed > failed_before
    ):
        return
    crashes = [r for r in caplog.get_records("call") if r.name == "conduit.errors"]
    assert not crashes, "\n".join(logging.Formatter().format(r) for r in crashes)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """The suite's settings: cheaper Argon2id for speed (same algorithm, smaller cost)."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        # REDIS_URL comes from the environment; a prefix of its own keeps each test's
        # counters apart from other tests and from earlier runs.
        "redis_key_prefix": f"test-{uuid.uuid4().hex}",
        # The suite starts thousands of applications in one process: freezing each one's
        # objects would keep them all (tests/core/test_gc_freeze.py turns it on).
        "gc_freeze": False,
        "gc_threshold": 0,  # the interpreter's own, as the suite has always run
        # No background fold of the count deltas: it would add its statements to the
        # counts of statements per request; tests that fold call it themselves.
        "counts_fold_interval": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Mail is queued, not delivered, unless a test delivers it; never into the worktree.
    `@pytest.mark.settings(name=value, ...)` overrides settings for one test (or module)."""
    marker = request.node.get_closest_marker("settings")
    values: dict[str, Any] = {"mail_embedded_worker": False, "mail_dir": str(tmp_path / "mail")}
    return make_settings(database_url, **{**values, **(marker.kwargs if marker else {})})


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A SQLite file of its own that the `conduit` command's settings point at."""
    path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("ARGON2_MEMORY_COST", "1024")
    monkeypatch.setenv("ARGON2_TIME_COST", "1")
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        engine = application.state.db.engine
        async with engine.begin() as conn:
            tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
            if engine.dialect.name == "postgresql":
                await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    await conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    hooks = {"response": [_record_issued_secrets]}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://test", event_hooks=hooks
    ) as c:
        yield c


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> str:
    """A signed-up user's token (the author, where a test needs one)."""
    return await register(client, "alice")


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> str:
    return await register(client, "bob")


@pytest.fixture
async def carol(client: httpx.AsyncClient) -> str:
    return await register(client, "carol")


class StatementCounter:
    """Counts the SQL statements (not BEGIN/COMMIT) the app's engine runs."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.split(None, 1)[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}:
            self.statements.append(statement)

    @contextmanager
    def counting(self) -> Iterator[list[str]]:
        self.statements = []
        yield self.statements


@pytest.fixture
def sql(app: Any) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)
