"""Reads from a real streaming replica (chaos.postgres: pg_basebackup -R) of a primary of the
tests' own. A replica whose replay is paused shows what it served: an anonymous caller does
not see a new article there, while its author (read-your-writes) and the cache's fills,
which read from the primary, do. A replica that is down, or lags beyond REPLICA_MAX_LAG, is
skipped, and used again once it is back.

Callers are told apart by their address (the ASGI client's): the writer's address is marked
too, so the anonymous reader calls from another one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from chaos.postgres import Postgres
from tests.factories import auth, create_article, register
from tests.live import free_port
from tests.replicas.support import (
    DATABASE,
    client,
    migrated_server,
    needs_postgres_binaries,
    running,
    settings_for,
    until,
)

pytestmark = needs_postgres_binaries

WRITER_IP, READER_IP = "10.0.0.1", "10.0.0.2"


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Postgres, Postgres]]:
    with migrated_server() as primary:
        replica = primary.replica(free_port())
        try:
            replica.wait_replaying()
            yield primary, replica
        finally:
            replica.destroy()


@pytest.fixture
def replica(cluster: tuple[Postgres, Postgres]) -> Iterator[Postgres]:
    """The replica, replaying and started again whatever the test did to it."""
    replica = cluster[1]
    yield replica
    if not (replica.data / "postmaster.pid").exists():
        replica.start()
    replica.sql("SELECT pg_wal_replay_resume()")


def app_settings(cluster: tuple[Postgres, Postgres], **overrides: Any) -> Any:
    primary, replica = cluster
    values = {"cache_enabled": False, "replica_max_lag": 5.0, **overrides}
    return settings_for(
        primary.url(DATABASE), database_replica_url=[replica.url(DATABASE)], **values
    )


async def count(http: httpx.AsyncClient, token: str | None = None, **params: Any) -> int:
    headers = auth(token) if token else {}
    response = await http.get("/api/articles", params=params, headers=headers)
    assert response.status_code == 200, response.text
    total: int = response.json()["articlesCount"]
    return total


async def usable(app: FastAPI) -> None:
    """Wait until the poll finds the replica up and caught up."""
    replicas = app.state.replicas
    await until(lambda: replicas.up[0] and replicas.lag[0] == 0.0)


async def test_reads_go_to_the_replica_and_writers_read_their_writes(
    cluster: tuple[Postgres, Postgres], replica: Postgres
) -> None:
    async with (
        running(app_settings(cluster)) as app,
        client(app, WRITER_IP) as writer,
        client(app, READER_IP) as reader,
    ):
        token = await register(writer, "alice")
        await usable(app)
        replica.sql("SELECT pg_wal_replay_pause()")
        await create_article(writer, token, "Only on the primary")
        assert await count(reader) == 0  # served by the paused replica
        assert await count(reader, token) == 1  # alice's own reads: from the primary
        assert await count(writer) == 1  # her address is marked too (sign-up, login)
        replica.sql("SELECT pg_wal_replay_resume()")
        await usable(app)
        assert await count(reader) == 1


async def test_a_cache_fill_reads_from_the_primary(
    cluster: tuple[Postgres, Postgres], replica: Postgres
) -> None:
    async with (
        running(app_settings(cluster, cache_enabled=True)) as app,
        client(app, WRITER_IP) as writer,
        client(app, READER_IP) as reader,
    ):
        token = await register(writer, "alice")
        await usable(app)
        replica.sql("SELECT pg_wal_replay_pause()")
        await create_article(writer, token, "Cached from the primary")
        assert await count(reader, author="alice") == 0  # not cached: the replica
        assert await count(reader) == 1  # the first page is cached: filled on the primary
        assert await count(reader) == 1  # and served from the cache


async def test_a_replica_that_is_down_is_skipped_and_used_again_once_back(
    cluster: tuple[Postgres, Postgres], replica: Postgres
) -> None:
    async with (
        running(app_settings(cluster)) as app,
        client(app, WRITER_IP) as writer,
        client(app, READER_IP) as reader,
    ):
        token = await register(writer, "alice")
        await usable(app)
        replica.stop()
        await create_article(writer, token, "While the replica is down")
        assert await count(reader) == 1  # at once: the failed read is retried on the primary
        await until(lambda: not app.state.replicas.up[0])
        assert await count(reader) == 1
        replica.start()
        await usable(app)
        replica.sql("SELECT pg_wal_replay_pause()")
        await create_article(writer, token, "Once it is back")
        assert await count(reader) == 1  # the replica again: without the second article


async def test_a_replica_lagging_beyond_the_limit_is_skipped(
    cluster: tuple[Postgres, Postgres], replica: Postgres
) -> None:
    async with (
        running(app_settings(cluster, replica_max_lag=1.0)) as app,
        client(app, WRITER_IP) as writer,
        client(app, READER_IP) as reader,
    ):
        token = await register(writer, "alice")
        await usable(app)
        replica.sql("SELECT pg_wal_replay_pause()")
        await create_article(writer, token, "Written while it lags")
        assert await count(reader) == 0  # still within the limit: the replica
        await until(lambda: app.state.replicas.lag[0] > 1.0)
        assert await count(reader) == 1  # beyond it: the primary
        metrics = (await reader.get("/metrics")).text
        assert 'conduit_db_replica_up{replica="0"} 1.0' in metrics
        assert 'conduit_db_replica_lag_seconds{replica="0"}' in metrics
        replica.sql("SELECT pg_wal_replay_resume()")
        await usable(app)
        replica.sql("SELECT pg_wal_replay_pause()")
        await create_article(writer, token, "Within the limit again")
        assert await count(reader) == 1  # the replica again
