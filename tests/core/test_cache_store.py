"""The cache stores on their own: generations, LRU and TTL, failing open, Redis keys."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from redis.asyncio import Redis

from conduit.core.cache import (
    Cache,
    CacheUnavailable,
    MemoryCache,
    NullCache,
    RedisCache,
    create_cache,
)
from tests.conftest import make_settings

REDIS_URL = os.environ.get("REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")


class Producer:
    """`produce` for `Cache.fetch`: answers b"v1", b"v2", ... and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> bytes:
        self.calls += 1
        return f"v{self.calls}".encode()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FlakyCache(MemoryCache):
    """A memory cache whose store can be switched off, as a Redis outage would."""

    def __init__(self) -> None:
        super().__init__(ttl=60)
        self.down = False
        self.clock = Clock()

    def _check(self) -> None:
        if self.down:
            raise CacheUnavailable("down")

    async def _generations(self, names: Sequence[str]) -> list[int]:
        self._check()
        return await super()._generations(names)

    async def _bump(self, names: Sequence[str]) -> None:
        self._check()
        await super()._bump(names)

    async def _get(self, key: str) -> bytes | None:
        self._check()
        return await super()._get(key)

    async def _set(self, key: str, value: bytes) -> None:
        self._check()
        await super()._set(key, value)


async def fetch(cache: Cache, produce: Producer, key: str = "k") -> bytes:
    return await cache.fetch("test", key, ("a", "b"), produce)


# --- generations ---------------------------------------------------------------------


async def test_a_bump_of_any_dependency_makes_the_entry_unreachable() -> None:
    cache, produce = MemoryCache(ttl=60), Producer()
    assert await fetch(cache, produce) == b"v1"
    assert await fetch(cache, produce) == b"v1"
    await cache.invalidate("b")
    assert await fetch(cache, produce) == b"v2"
    await cache.invalidate("unrelated")
    assert await fetch(cache, produce) == b"v2"
    assert produce.calls == 2


async def test_null_cache_always_produces() -> None:
    cache, produce = NullCache(), Producer()
    assert [await fetch(cache, produce) for _ in range(2)] == [b"v1", b"v2"]
    await cache.invalidate("a")


def test_create_cache_follows_the_settings() -> None:
    url = "sqlite+aiosqlite://"
    assert isinstance(create_cache(make_settings(url, cache_enabled=False)), NullCache)
    assert isinstance(create_cache(make_settings(url, redis_url=None)), MemoryCache)
    redis = create_cache(make_settings(url, redis_url="redis://127.0.0.1:1/0", cache_ttl=7))
    assert isinstance(redis, RedisCache)
    assert redis.ttl == 7


# --- the in-process store --------------------------------------------------------------


async def test_memory_entries_expire_after_the_ttl() -> None:
    cache, produce, clock = MemoryCache(ttl=5), Producer(), Clock()
    cache.clock = clock
    await fetch(cache, produce)
    clock.now += 4.9
    assert await fetch(cache, produce) == b"v1"
    clock.now += 0.2
    assert await fetch(cache, produce) == b"v2"


async def test_memory_cache_is_bounded_in_entries_and_bytes() -> None:
    cache, produce = MemoryCache(ttl=60, max_entries=3, max_bytes=100), Producer()
    for key in "abcd":
        await fetch(cache, produce, key)
    assert await fetch(cache, produce, "a") == b"v5"  # the least recently used went first
    assert await fetch(cache, produce, "d") == b"v4"

    async def big() -> bytes:
        return b"x" * 60

    await cache.fetch("test", "big1", (), big)
    await cache.fetch("test", "big2", (), big)
    assert sum(len(value) for _, value in cache._entries.values()) <= 100
    await cache.fetch("test", "huge", (), lambda: _value(b"y" * 101))  # never stored
    assert all(len(value) <= 100 for _, value in cache._entries.values())


async def _value(value: bytes) -> bytes:
    return value


# --- failing open ------------------------------------------------------------------------


async def test_a_failing_store_is_a_miss_and_a_failed_bump_is_owed() -> None:
    cache, produce = FlakyCache(), Producer()
    assert await fetch(cache, produce) == b"v1"
    cache.down = True
    await cache.invalidate("a")  # does not raise: owed
    assert await fetch(cache, produce) == b"v2"  # produced, not the stale v1
    cache.down = False
    # Paused for a second after the failure: reads leave the store alone.
    assert await fetch(cache, produce) == b"v3"
    cache.clock.now += 1.5
    # The owed bump is paid before the store is used again: v1 is never served.
    assert await fetch(cache, produce) == b"v4"
    assert await fetch(cache, produce) == b"v4"


async def test_an_owed_bump_is_paid_by_the_next_invalidation_too() -> None:
    cache, produce = FlakyCache(), Producer()
    await fetch(cache, produce)
    cache.down = True
    await cache.invalidate("a")
    cache.down = False
    await cache.invalidate("unrelated")  # pays "a" as well
    cache.clock.now += 1.5
    assert await fetch(cache, produce) == b"v2"


# --- Redis -----------------------------------------------------------------------------


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    assert REDIS_URL is not None
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex}"


@needs_redis
async def test_two_redis_caches_share_entries_and_generations(redis: Redis, prefix: str) -> None:
    assert REDIS_URL is not None
    one, two = RedisCache(REDIS_URL, prefix, 30), RedisCache(REDIS_URL, prefix, 30)
    try:
        produce = Producer()
        assert await fetch(one, produce) == b"v1"
        assert await fetch(two, produce) == b"v1"  # written by one, read by two
        await one.invalidate("a")
        assert await fetch(two, produce) == b"v2"
        keys = sorted(k.decode() for k in await redis.keys(f"{prefix}:*"))
        assert all(k.startswith(f"{prefix}:cache:") for k in keys)
        assert f"{prefix}:cache:gen:a" in keys
        entries = [k for k in keys if ":gen:" not in k]
        assert entries
        assert all(0 < ttl <= 30 for ttl in [await redis.ttl(k) for k in entries])
        assert await redis.ttl(f"{prefix}:cache:gen:a") == -1  # counters never expire
    finally:
        await redis.delete(*(await redis.keys(f"{prefix}:*")))
        await one.close()
        await two.close()


@needs_redis
async def test_a_lost_generation_counter_never_revives_old_entries(
    redis: Redis, prefix: str
) -> None:
    assert REDIS_URL is not None
    cache = RedisCache(REDIS_URL, prefix, 30)
    try:
        produce = Producer()
        await fetch(cache, produce)
        await redis.delete(f"{prefix}:cache:gen:a", f"{prefix}:cache:gen:b")  # evicted
        assert await fetch(cache, produce) == b"v2"  # fresh random counters: a miss
        await redis.delete(f"{prefix}:cache:gen:a")
        await cache.invalidate("a")  # a bump of a lost counter starts afresh too
        assert await fetch(cache, produce) == b"v3"
    finally:
        await redis.delete(*(await redis.keys(f"{prefix}:*")))
        await cache.close()


async def test_an_unreachable_redis_answers_as_an_empty_cache() -> None:
    cache, produce = RedisCache("redis://127.0.0.1:1/0", "test", 30), Producer()
    try:
        assert await fetch(cache, produce) == b"v1"
        await cache.invalidate("a")
        assert await fetch(cache, produce) == b"v2"
    finally:
        await cache.close()
