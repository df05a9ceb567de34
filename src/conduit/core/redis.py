"""The application's Redis client (redis-py asyncio), when `REDIS_URL` is set.

Timeouts are short: every user of Redis in this app fails open (rate limits, cache, login
throttling), so a dead or slow Redis must cost a request milliseconds, not seconds.
"""

from __future__ import annotations

from redis.asyncio import Redis

from conduit.core.config import Settings

SOCKET_TIMEOUT = 0.5  # seconds


def create_redis(settings: Settings) -> Redis | None:
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=SOCKET_TIMEOUT,
        socket_connect_timeout=SOCKET_TIMEOUT,
        health_check_interval=30,
    )
