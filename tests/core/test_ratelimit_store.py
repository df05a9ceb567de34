"""Rate limits and their store: fail open when Redis is down or hung, one limit shared by
the instances (and live servers) that share Redis, and a live server's 429."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from conduit.core.config import Settings
from conduit.main import create_app
from tests.factories import PASSWORD, auth
from tests.factories.apps import from_ip
from tests.factories.ratelimits import assert_refused, metric
from tests.live import free_port, start_server

REDIS_URL = os.environ.get("REDIS_URL")


def store_errors() -> float:
    return metric("conduit_store_errors_total", {"component": "ratelimit"})


# --- the store fails: fail open ---------------------------------------------------------------


@pytest.fixture
def dead_redis(database_url: str, tmp_path: Path) -> Settings:
    from tests.conftest import make_settings

    return make_settings(
        database_url,
        mail_embedded_worker=False,
        mail_dir=str(tmp_path / "mail"),
        rate_limit_anon="1/minute",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
    )


@asynccontextmanager
async def limited_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


async def test_requests_succeed_when_redis_is_down(
    dead_redis: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    before = store_errors()
    with caplog.at_level(logging.WARNING, logger="conduit.ratelimit"):
        async with limited_client(dead_redis) as client:
            for _ in range(3):
                response = await client.get("/api/tags")
                assert response.status_code == 200
                assert "RateLimit-Limit" not in response.headers
    assert store_errors() >= before + 1
    warnings = [r for r in caplog.records if r.name == "conduit.ratelimit"]
    assert warnings
    assert all(r.levelno == logging.WARNING for r in warnings)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers: a hung Redis."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


async def test_a_hung_redis_does_not_stall_requests(
    dead_redis: Settings, silent_server: int
) -> None:
    settings = dead_redis.model_copy(update={"redis_url": f"redis://127.0.0.1:{silent_server}/0"})
    before = store_errors()
    async with limited_client(settings) as client:
        started = time.monotonic()
        for _ in range(3):
            assert (await client.get("/api/tags")).status_code == 200
        # One short timeout, then the store is left alone for a while.
        assert time.monotonic() - started < 3.0
    assert store_errors() == before + 1


# --- Redis shared by several instances --------------------------------------------------------


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL")
@pytest.mark.settings(rate_limit_anon="3/minute")
async def test_instances_sharing_redis_share_the_limit(settings: Settings) -> None:
    assert settings.redis_url
    first, second = create_app(settings), create_app(settings)
    async with (
        first.router.lifespan_context(first),
        second.router.lifespan_context(second),
        from_ip(first, "10.0.0.1") as a,
        from_ip(second, "10.0.0.1") as b,
    ):
        assert (await a.get("/api/tags")).status_code == 200
        assert (await b.get("/api/tags")).status_code == 200
        assert (await a.get("/api/tags")).headers["RateLimit-Remaining"] == "0"
        assert_refused(await b.get("/api/tags"), 3)


# --- live servers ------------------------------------------------------------------------------


def test_a_live_server_answers_429_with_retry_after(tmp_path: Path) -> None:
    server = start_server(tmp_path, extra_env={"RATE_LIMIT_ANON": "5/minute"})
    try:
        with httpx.Client(base_url=server.url) as http:
            # Waiting for the server to start spent a request or more of the five.
            first = http.get("/api/tags")
            assert first.status_code == 200
            assert first.headers["RateLimit-Limit"] == "5"
            remaining = int(first.headers["RateLimit-Remaining"])
            assert remaining <= 3
            for _ in range(remaining):
                assert http.get("/api/tags").status_code == 200
            assert_refused(http.get("/api/tags"), 5)
    finally:
        server.terminate()


@pytest.mark.skipif(not REDIS_URL, reason="the limit is shared through Redis")
def test_two_live_servers_share_the_limit_through_redis(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    env = {"RATE_LIMIT_USER": "5/minute"}
    prefix = f"test-shared-{os.getpid()}-{time.monotonic_ns()}"
    first = start_server(
        tmp_path, name="a", database_url=database_url, extra_env=env, key_prefix=prefix
    )
    try:
        second = start_server(
            tmp_path, name="b", database_url=database_url, extra_env=env, key_prefix=prefix
        )
        try:
            user = {"username": "sam", "email": "sam@example.com", "password": PASSWORD}
            registered = httpx.post(f"{first.url}/api/users", json={"user": user})
            headers = auth(registered.json()["user"]["token"])
            for url in (first.url, first.url, first.url, second.url, second.url):
                assert httpx.get(f"{url}/api/user", headers=headers).status_code == 200
            assert_refused(httpx.get(f"{second.url}/api/user", headers=headers), 5)
            assert_refused(httpx.get(f"{first.url}/api/user", headers=headers), 5)
        finally:
            second.terminate()
    finally:
        first.terminate()
