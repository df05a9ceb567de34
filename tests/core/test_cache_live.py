"""The read cache in real server processes: invalidation over real HTTP, and — with Redis —
one cache shared by two servers on one database, so a write on one is seen on the other."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis
from typer.testing import CliRunner

from conduit.cli import app as cli
from tests.factories import PASSWORD
from tests.live import LiveServer, start_server

REDIS_URL = os.environ.get("REDIS_URL")


def sign_up(url: str, username: str) -> dict[str, str]:
    user = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    response = httpx.post(f"{url}/api/users", json={"user": user})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Token {response.json()['user']['token']}"}


def publish(url: str, headers: dict[str, str], title: str) -> str:
    article = {"title": title, "description": "d", "body": "b", "tagList": ["live"]}
    response = httpx.post(f"{url}/api/articles", json={"article": article}, headers=headers)
    assert response.status_code == 201, response.text
    slug: str = response.json()["article"]["slug"]
    return slug


def read(url: str) -> Any:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_write_is_seen_by_the_next_read_over_http(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        alice = sign_up(server.url, "alice")
        slug = publish(server.url, alice, "Live")
        single = f"{server.url}/api/articles/{slug}"
        for _ in range(2):  # the second read is served from the cache
            assert read(single)["article"]["title"] == "Live"
            assert read(f"{server.url}/api/articles")["articlesCount"] == 1
        etag = httpx.get(single).headers["etag"]
        assert httpx.get(single, headers={"If-None-Match": etag}).status_code == 304
        response = httpx.put(single, json={"article": {"body": "edited"}}, headers=alice)
        assert response.status_code == 200
        assert read(single)["article"]["body"] == "edited"
        assert httpx.get(single, headers={"If-None-Match": etag}).status_code == 200
        assert httpx.delete(single, headers=alice).status_code == 204
        assert httpx.get(single).status_code == 404
        assert read(f"{server.url}/api/articles")["articlesCount"] == 0
        assert read(f"{server.url}/api/tags")["tags"] == []
    finally:
        server.terminate()


# --- two servers, one SQLite file, one Redis ---------------------------------------------


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    if REDIS_URL:
        with Redis.from_url(REDIS_URL) as redis:
            keys = list(redis.scan_iter(f"{prefix}:*"))
            if keys:
                redis.delete(*keys)


@pytest.fixture
def servers(tmp_path: Path, prefix: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    if not REDIS_URL:
        pytest.skip("REDIS_URL is not set: processes share a cache only through Redis")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    first = start_server(tmp_path, name="a", database_url=database_url, key_prefix=prefix)
    try:
        # The second one starts once the first has migrated the file.
        second = start_server(tmp_path, name="b", database_url=database_url, key_prefix=prefix)
    except BaseException:
        first.terminate()
        raise
    try:
        yield first, second
    finally:
        first.terminate()
        second.terminate()


def cached_entries(prefix: str, slug: str) -> list[str]:
    assert REDIS_URL is not None
    with Redis.from_url(REDIS_URL) as redis:
        return [key.decode() for key in redis.scan_iter(f"{prefix}:cache:article:{slug}@*")]


def test_a_write_on_one_server_is_seen_by_the_other(
    servers: tuple[LiveServer, LiveServer],
) -> None:
    a, b = servers
    alice = sign_up(a.url, "alice")
    slug = publish(b.url, alice, "Shared")
    read(f"{a.url}/api/articles/{slug}")  # A caches it
    read(f"{a.url}/api/articles")
    response = httpx.put(
        f"{b.url}/api/articles/{slug}", json={"article": {"body": "from B"}}, headers=alice
    )
    assert response.status_code == 200
    assert read(f"{a.url}/api/articles/{slug}")["article"]["body"] == "from B"
    bob = sign_up(b.url, "bob")
    assert httpx.post(f"{b.url}/api/articles/{slug}/favorite", headers=bob).status_code == 200
    assert read(f"{a.url}/api/articles")["articles"][0]["favoritesCount"] == 1
    assert httpx.put(f"{b.url}/api/user", json={"user": {"bio": "B"}}, headers=alice).is_success
    assert read(f"{a.url}/api/articles/{slug}")["article"]["author"]["bio"] == "B"


def test_the_cache_is_shared(servers: tuple[LiveServer, LiveServer], prefix: str) -> None:
    """A's read fills the entry B then serves: shown by planting a marker in that entry
    (B answers the marker, so it read Redis, not the database)."""
    a, b = servers
    alice = sign_up(a.url, "alice")
    slug = publish(a.url, alice, "Once")
    assert cached_entries(prefix, slug) == []
    body = read(f"{a.url}/api/articles/{slug}")
    (key,) = cached_entries(prefix, slug)
    marker = {"article": {**body["article"], "title": "served from Redis"}}
    assert REDIS_URL is not None
    with Redis.from_url(REDIS_URL) as redis:
        redis.set(key, json.dumps(marker).encode(), keepttl=True)
    assert read(f"{b.url}/api/articles/{slug}")["article"]["title"] == "served from Redis"
    # And a write anywhere makes everyone forget it.
    response = httpx.put(
        f"{a.url}/api/articles/{slug}", json={"article": {"body": "new"}}, headers=alice
    )
    assert response.status_code == 200
    assert read(f"{b.url}/api/articles/{slug}")["article"]["title"] == "Once"
    metrics = httpx.get(f"{b.url}/metrics")
    if metrics.status_code == 200 and "conduit_cache_requests_total" in metrics.text:
        assert 'conduit_cache_requests_total{cache="article",result="hit"} 1.0' in metrics.text


# --- several workers without Redis --------------------------------------------------------


def test_several_workers_without_redis_serve_uncached(
    cli_database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes share no memory: without Redis, `serve --workers N` turns the
    in-process cache off rather than let a worker serve what another one changed."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("CACHE_ENABLED", "true")  # restored after the test
    # `serve --workers 2` points the metrics at a shared directory; keep it to this test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(cli_database.parent / "metrics"))
    seen: dict[str, Any] = {}

    def fake_run(*_args: Any, **kwargs: Any) -> None:
        seen.update(kwargs, cache=os.environ.get("CACHE_ENABLED"))

    monkeypatch.setattr("uvicorn.run", fake_run)
    runner = CliRunner()
    result = runner.invoke(cli, ["serve", "--no-migrate", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert seen["cache"] == "true"
    result = runner.invoke(cli, ["serve", "--no-migrate", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert (seen["workers"], seen["cache"]) == (2, "false")
