"""The application's Redis client (redis-py asyncio), when `REDIS_URL` is set.

One connection pool per process, shared by everything that talks to Redis: the read cache,
the rate limits' counters and the login throttle (both through `limits`, which takes the
pool), and readiness. The client made by `create_redis` owns the pool and closes it at
shutdown; the others only borrow it.

Timeouts are short and nothing is retried: every user of Redis in this app fails open (rate
limits, cache, login throttling), so a dead or slow Redis must cost a request milliseconds,
not seconds, and the next request tries again.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from conduit.core.config import Settings

SOCKET_TIMEOUT = 0.25  # seconds per command: a slow cache is no cache
CONNECT_TIMEOUT = 0.5  # seconds to connect (TLS included)


def redis_client(url: str) -> Redis:
    """A client with a pool of its own (closed by its `aclose`)."""
    return Redis.from_url(
        url,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        retry=Retry(NoBackoff(), 0),  # fail fast; the next request tries again
        health_check_interval=30,
    )


def create_redis(settings: Settings) -> Redis | None:
    return redis_client(settings.redis_url) if settings.redis_url else None
