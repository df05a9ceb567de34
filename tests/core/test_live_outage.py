"""A real `conduit serve` whose PostgreSQL goes away, or holds a lock past the statement
timeout: every route answers 503 with Retry-After in the error shape, the log holds a warning
and no traceback, and the service recovers by itself."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.factories import PASSWORD
from tests.faults import TcpProxy, postgres_reachable, scratch_postgres
from tests.live import LiveServer, start_server

pytestmark = pytest.mark.skipif(
    not postgres_reachable(), reason="needs PostgreSQL on 127.0.0.1:5432"
)

UNAVAILABLE = {"database": ["is unavailable, try again shortly"]}
WARNING = "database unavailable"


@pytest.fixture
def database() -> Iterator[str]:
    with scratch_postgres() as name:
        yield name


def _sign_up(url: str) -> tuple[dict[str, str], str]:
    """A new user's `Authorization` header and e-mail address."""
    name = f"u{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    response = httpx.post(f"{url}/api/users", json={"user": user})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Token {response.json()['user']['token']}"}, user["email"]


def _assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["errors"] == UNAVAILABLE
    assert body["request_id"] == response.headers["x-request-id"]
    assert "internal error" not in response.text


def _requests(live: LiveServer, signed_in: dict[str, str], email: str) -> list[httpx.Response]:
    article = {"article": {"title": "t", "description": "d", "body": "b"}}
    login = {"user": {"email": email, "password": PASSWORD}}
    keyed = {**signed_in, "Idempotency-Key": uuid.uuid4().hex}
    with httpx.Client(base_url=live.url, timeout=15) as client:
        return [
            client.get("/api/user", headers=signed_in),
            client.get("/api/articles"),
            client.post("/api/articles", json=article, headers=signed_in),
            client.post("/api/articles", json=article, headers=keyed),  # idempotency middleware
            client.post("/api/users/login", json=login),
        ]


def test_a_lost_database_is_503_on_every_route_and_the_service_recovers(
    tmp_path: Path, database: str
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    live = start_server(
        tmp_path,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{database}",
        # Reads from the database, not the cache; a dead pool gives up quickly.
        extra_env={"DB_POOL_TIMEOUT": "2", "CACHE_ENABLED": "false", "READY_TIMEOUT": "2"},
        args=("--no-migrate",),
    )
    try:
        user, email = _sign_up(live.url)
        assert httpx.get(f"{live.url}/api/user", headers=user).status_code == 200
        proxy.cut()
        answered = [response for _ in range(3) for response in _requests(live, user, email)]
        for response in answered:
            _assert_unavailable(response)
        assert httpx.get(f"{live.url}/ready", timeout=10).status_code == 503
        assert httpx.get(f"{live.url}/health").status_code == 200
        proxy.restore()
        deadline = time.monotonic() + 15
        while (up := httpx.get(f"{live.url}/api/user", headers=user)).status_code != 200:
            _assert_unavailable(up)
            assert time.monotonic() < deadline, up.text
            time.sleep(0.2)
        for response in _requests(live, user, email):
            assert response.status_code in {200, 201}, response.text
    finally:
        live.terminate()
        proxy.cut()
    log = live.log()
    assert "Traceback" not in log
    warnings = [line for line in log.splitlines() if WARNING in line]
    assert warnings, log
    assert len(warnings) < len(answered) // 2, "\n".join(warnings)


async def _hold_lock(
    database: str, table: str, held: asyncio.Event, release: asyncio.Event
) -> None:
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
    try:
        async with conn.transaction():
            await conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            held.set()
            await release.wait()
    finally:
        await conn.close()


def test_a_statement_cancelled_by_the_server_timeout_is_503(tmp_path: Path, database: str) -> None:
    """`statement_timeout` (DB_STATEMENT_TIMEOUT, below DB_LOCK_TIMEOUT here) cancels a
    statement that waits on a lock: the client is told to retry, as for any infrastructure
    fault."""
    live = start_server(
        tmp_path,
        database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}",
        extra_env={"CACHE_ENABLED": "false", "DB_STATEMENT_TIMEOUT": "0.5"},
        args=("--no-migrate",),
    )
    try:
        user, _ = _sign_up(live.url)

        async def while_locked() -> httpx.Response:
            held, release = asyncio.Event(), asyncio.Event()
            holder = asyncio.create_task(_hold_lock(database, "articles", held, release))
            await held.wait()
            try:
                async with httpx.AsyncClient(base_url=live.url, timeout=15) as client:
                    return await client.get("/api/articles", headers=user)
            finally:
                release.set()
                await holder

        _assert_unavailable(asyncio.run(while_locked()))
        assert httpx.get(f"{live.url}/api/articles", headers=user).status_code == 200
    finally:
        live.terminate()
    log = live.log()
    assert "Traceback" not in log
    assert "QueryCanceledError" in log
