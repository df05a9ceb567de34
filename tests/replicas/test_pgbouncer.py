"""The app behind a real pgbouncer (Debian's) in transaction pooling with two server
connections, so that its clients share them: with DB_PGBOUNCER mixed concurrent reads and
writes all succeed; without it, statements prepared on one server connection are missing
or taken on the next one, and requests fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from conduit.main import create_app
from tests.factories import PASSWORD, auth, create_article, register
from tests.faults import scratch_postgres
from tests.replicas.support import (
    PGBOUNCER,
    client,
    needs_postgres_binaries,
    pgbouncer,
    running,
    settings_for,
)

pytestmark = [
    needs_postgres_binaries,
    pytest.mark.skipif(not PGBOUNCER.exists(), reason="needs Debian's pgbouncer"),
]

# What pgbouncer would refuse to pass on: the settings sent on connect without DB_PGBOUNCER.
STARTUP_PARAMETERS = "jit,plan_cache_mode,statement_timeout,lock_timeout"
CONCURRENCY = 30


@pytest.fixture
def database() -> Iterator[str]:
    with scratch_postgres() as name:
        yield name


def bouncer_settings(url: str, **overrides: Any) -> Settings:
    return settings_for(url, cache_enabled=False, db_pool_size=10, **overrides)


async def mixed_burst(http: httpx.AsyncClient, tokens: list[str]) -> list[httpx.Response]:
    """`CONCURRENCY` requests at once: anonymous and signed-in reads, new articles."""
    requests = []
    for i in range(CONCURRENCY):
        token = tokens[i % len(tokens)]
        if i % 3 == 0:
            payload = {"title": f"Burst {i}", "description": "d", "body": "b"}
            requests.append(
                http.post("/api/articles", json={"article": payload}, headers=auth(token))
            )
        elif i % 3 == 1:
            requests.append(http.get("/api/articles", headers=auth(token)))
        else:
            requests.append(http.get("/api/articles", params={"author": "user0"}))
    async with asyncio.timeout(60):
        return list(await asyncio.gather(*requests))


async def test_behind_pgbouncer_concurrent_reads_and_writes_succeed(database: str) -> None:
    with pgbouncer(database) as url:
        async with running(bouncer_settings(url, db_pgbouncer=True)) as app, client(app) as http:
            tokens = [await register(http, f"user{i}") for i in range(3)]
            await create_article(http, tokens[0])
            for _ in range(3):
                responses = await mixed_burst(http, tokens)
                bad = [(r.status_code, r.text[:200]) for r in responses if r.status_code >= 300]
                assert not bad, bad[:3]


@pytest.mark.server_error
async def test_without_the_setting_prepared_statements_clash_behind_pgbouncer(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pgbouncer(database, ignore=STARTUP_PARAMETERS) as url:
        async with running(bouncer_settings(url)) as app, client(app) as http:
            sign_ups = [
                http.post(
                    "/api/users",
                    json={
                        "user": {
                            "username": f"user{i}",
                            "email": f"user{i}@example.com",
                            "password": PASSWORD,
                        }
                    },
                )
                for i in range(CONCURRENCY)
            ]
            reads = [http.get("/api/articles") for _ in range(CONCURRENCY)]
            async with asyncio.timeout(60):
                responses = await asyncio.gather(*sign_ups, *reads)
    assert any(r.status_code == 500 for r in responses)
    assert 'prepared statement "__asyncpg_stmt_' in caplog.text


async def test_pgbouncer_refuses_the_startup_settings_it_does_not_know(database: str) -> None:
    """Why DB_PGBOUNCER sends none: without it the app cannot even connect (503)."""
    with pgbouncer(database) as url:
        app = create_app(bouncer_settings(url))
        async with app.router.lifespan_context(app), client(app) as http:
            response = await http.get("/api/articles")
    assert response.status_code == 503
