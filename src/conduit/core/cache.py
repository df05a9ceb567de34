"""A cache of serialized public reads, invalidated in O(1) by generation counters.

An entry's key embeds the current value of every *generation* it depends on (say
`article:<slug>@17.4` depends on "articles" and "profiles"). A write bumps the generations
it changes, after its transaction commits; every entry built on older data becomes
unreachable at once, and its TTL reclaims it. A reader that raced a writer (read the
generation, then old rows) can only store its result under the old generation, where no
one looks again. Nothing is ever deleted, so invalidation is one round trip however many
entries there are. A miss is read from the primary (`from_primary`), never from a replica
that may not have the write that bumped the generation yet.

Three implementations: Redis (shared by every instance, when `REDIS_URL` is set), an
in-process LRU with TTL (one process), and a null cache (`CACHE_ENABLED=false`).
The Redis cache FAILS OPEN: any Redis error is a miss (or, for a write, a skipped bump),
logged on `conduit.cache` and counted in `conduit_store_errors_total{component="cache"}`;
reads then leave Redis alone for a second. A bump that failed is owed and retried before
this process uses the cache again, so this process never serves data older than its own
writes; other processes may, until the TTL (`CACHE_TTL`) ends the entries.
"""

from __future__ import annotations

import logging
import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core import metrics
from conduit.core.config import Settings
from conduit.core.db import after_commit, from_primary
from conduit.core.redis import redis_client

logger = logging.getLogger("conduit.cache")

Produce = Callable[[], Awaitable[bytes]]

PAUSE_AFTER_ERROR = 1.0  # seconds during which reads skip a failing store
WARN_EVERY = 10.0  # seconds between two warnings about a failing store


class CacheUnavailable(Exception):
    """The store failed; the cache answers as if it were empty."""


class Cache(ABC):
    """Byte strings under string keys, plus named generation counters (see the module)."""

    enabled = True

    def __init__(self, ttl: int) -> None:
        self.ttl = ttl
        self.clock = time.monotonic  # seconds; tests may move it
        self._owed: set[str] = set()  # generations whose bump failed
        self._paused_until = 0.0
        self._warned_at = -WARN_EVERY

    # --- the store ----------------------------------------------------------------
    # Implementations raise CacheUnavailable, never anything else, when the store fails.

    @abstractmethod
    async def _generations(self, names: Sequence[str]) -> list[int]: ...

    @abstractmethod
    async def _bump(self, names: Sequence[str]) -> None: ...

    @abstractmethod
    async def _get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def _set(self, key: str, value: bytes) -> None: ...

    async def close(self) -> None:
        return None

    # --- what the application uses --------------------------------------------------

    async def fetch(
        self, name: str, key: str, depends_on: Sequence[str], produce: Produce
    ) -> bytes:
        """The bytes cached under `key` for the current generations of `depends_on`, or
        `produce()`'s, stored. `name` labels the metrics ("article", "tags", ...)."""
        if self.clock() < self._paused_until:
            metrics.CACHE.labels(name, "error").inc()
            return await produce()
        try:
            await self._pay_owed()
            generations = await self._generations(depends_on)
            versioned = f"{key}@{'.'.join(map(str, generations))}"
            cached = await self._get(versioned)
        except CacheUnavailable as exc:
            self._failed(exc, name)
            return await produce()
        if cached is not None:
            metrics.CACHE.labels(name, "hit").inc()
            return cached
        metrics.CACHE.labels(name, "miss").inc()
        with from_primary():
            body = await produce()
        try:
            await self._set(versioned, body)
        except CacheUnavailable as exc:
            self._failed(exc)
        return body

    async def invalidate(self, *names: str) -> None:
        """Bump these generations now. Never raises: a failed bump is owed (see the module)."""
        self._owed.update(names)
        await self._pay_owed(quiet=True)

    def invalidate_after_commit(self, session: AsyncSession, *names: str) -> None:
        """Bump these generations once `session` commits (a rollback drops it), before the
        response is sent."""

        after_commit(session, partial(self.invalidate, *names))

    async def _pay_owed(self, *, quiet: bool = False) -> None:
        if not self._owed:
            return
        names = sorted(self._owed)
        try:
            await self._bump(names)
        except CacheUnavailable as exc:
            if not quiet:
                raise
            self._failed(exc)
            return
        self._owed.difference_update(names)

    def _failed(self, exc: CacheUnavailable, name: str | None = None) -> None:
        metrics.STORE_ERRORS.labels("cache").inc()
        if name is not None:
            metrics.CACHE.labels(name, "error").inc()
        now = self.clock()
        self._paused_until = now + PAUSE_AFTER_ERROR
        if now - self._warned_at >= WARN_EVERY:
            self._warned_at = now
            logger.warning("cache store unavailable, serving without it: %s", exc)


class NullCache(Cache):
    """No caching at all (`CACHE_ENABLED=false`)."""

    enabled = False

    def __init__(self) -> None:
        super().__init__(ttl=1)

    async def fetch(
        self, name: str, key: str, depends_on: Sequence[str], produce: Produce
    ) -> bytes:
        return await produce()

    async def invalidate(self, *names: str) -> None:
        return None

    def invalidate_after_commit(self, session: AsyncSession, *names: str) -> None:
        return None

    async def _generations(self, names: Sequence[str]) -> list[int]:  # pragma: no cover
        return [0] * len(names)

    async def _bump(self, names: Sequence[str]) -> None:  # pragma: no cover
        return None

    async def _get(self, key: str) -> bytes | None:  # pragma: no cover
        return None

    async def _set(self, key: str, value: bytes) -> None:  # pragma: no cover
        return None


NULL_CACHE = NullCache()


class MemoryCache(Cache):
    """This process only: an LRU bounded in entries and bytes, each entry with a TTL."""

    def __init__(self, ttl: int, *, max_entries: int = 4096, max_bytes: int = 64 << 20) -> None:
        super().__init__(ttl)
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._counters: dict[str, int] = {}

    async def _generations(self, names: Sequence[str]) -> list[int]:
        return [self._counters.get(name, 0) for name in names]

    async def _bump(self, names: Sequence[str]) -> None:
        for name in names:
            self._counters[name] = self._counters.get(name, 0) + 1

    async def _get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        expires, value = found
        if expires <= self.clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return value

    async def _set(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (self.clock() + self.ttl, value)
        self._bytes += len(value)
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        _, value = self._entries.pop(key)
        self._bytes -= len(value)


def _fresh_start() -> int:
    """Where a missing generation counter starts: random, so that a counter lost to Redis
    eviction or a restart never comes back to a value that entries still live under."""
    return secrets.randbelow(2**52)


@contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError, TimeoutError, ValueError) as exc:
        raise CacheUnavailable(f"{type(exc).__name__}: {exc}") from exc


class RedisCache(Cache):
    """Shared by every instance. Keys live under `<REDIS_KEY_PREFIX>:cache:`."""

    def __init__(self, url: str, prefix: str, ttl: int, *, client: Redis | None = None) -> None:
        """On `client` (the application's, whose pool it shares), or on a client of its own
        for `url`."""
        super().__init__(ttl)
        self.prefix = f"{prefix}:cache:"
        self._owns_client = client is None
        self.redis = redis_client(url) if client is None else client

    def _counter(self, name: str) -> str:
        return f"{self.prefix}gen:{name}"

    async def _generations(self, names: Sequence[str]) -> list[int]:
        keys = [self._counter(name) for name in names]
        with _store_errors():
            values = await self.redis.mget(keys)
            if any(value is None for value in values):
                async with self.redis.pipeline(transaction=False) as pipe:
                    for key, value in zip(keys, values, strict=True):
                        if value is None:
                            pipe.set(key, _fresh_start(), nx=True)
                    pipe.mget(keys)
                    values = (await pipe.execute())[-1]
            if any(value is None for value in values):  # pragma: no cover - evicted at once
                raise CacheUnavailable("a generation counter vanished")
            return [int(value) for value in values if value is not None]

    async def _bump(self, names: Sequence[str]) -> None:
        with _store_errors():
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.set(self._counter(name), _fresh_start(), nx=True)
                    pipe.incr(self._counter(name))
                await pipe.execute()

    async def _get(self, key: str) -> bytes | None:
        with _store_errors():
            value = await self.redis.get(self.prefix + key)
            return value.encode() if isinstance(value, str) else value  # bytes: no decoding

    async def _set(self, key: str, value: bytes) -> None:
        with _store_errors():
            await self.redis.set(self.prefix + key, value, ex=self.ttl)

    async def close(self) -> None:
        if self._owns_client:
            await self.redis.aclose()


def create_cache(settings: Settings, redis: Redis | None = None) -> Cache:
    """The cache `settings` ask for; a Redis cache on `redis` when given (shared pool)."""
    if not settings.cache_enabled:
        return NULL_CACHE
    if settings.redis_url:
        return RedisCache(
            settings.redis_url, settings.redis_key_prefix, settings.cache_ttl, client=redis
        )
    return MemoryCache(settings.cache_ttl)
