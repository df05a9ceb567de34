"""Rate limiting: a pure ASGI middleware over the `limits` library.

Every API request is counted in one bucket, a fixed window that starts with the bucket's
first request:

- `auth`: the routes that declare it (`@policy(rate_limit="auth")`: sign-up, login, the
  token and refresh endpoints, e-mail verification and password reset), per client IP
  (`RATE_LIMIT_AUTH`, the strictest);
- `user`: a signed-in caller (access token or API key), per user, whatever the IP
  (`RATE_LIMIT_USER`);
- `anon`: everyone else, per client IP (`RATE_LIMIT_ANON`). IPv6 clients are counted by
  their /64 network, the block one subscriber usually gets.

Who is calling comes from an injected `Identify` callable, and each route's class from the
application's route table (`core/policies.py`), so that this module imports no domain and
names no path of one. The routes that declare `exempt` (health, readiness, metrics) and the
docs pages are never limited.

Every limited response carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`
(IETF draft-ietf-httpapi-ratelimit-headers); a refusal is 429 in the API's error shape with
`Retry-After`. Counters live in Redis when `REDIS_URL` is set (shared by every instance and
worker, keys under `{REDIS_KEY_PREFIX}:ratelimit`), in this process otherwise. If Redis
fails or is slow, requests are let through (fail open): the failure is logged and counted,
and the store is left alone for a few seconds so that a dead Redis costs neither latency
nor a log line per request.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.errors import StorageError
from redis.asyncio import Redis
from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.core import metrics
from conduit.core.config import Settings
from conduit.core.context import Identify, current_context
from conduit.core.docs import DOCS_URL, REDOC_URL
from conduit.core.errors import error_response
from conduit.core.policies import PolicyTable, RateLimitClass
from conduit.core.redis import redis_client

logger = logging.getLogger("conduit.ratelimit")

# The docs pages, their assets and the document are core's own (core/docs.py, FastAPI's
# `openapi_url`), served under a prefix rather than as routes of their own: never limited,
# so that reading the docs spends none of the API's budget.
EXEMPT_PATHS = frozenset({REDOC_URL, "/openapi.json"})
EXEMPT_PREFIXES = (DOCS_URL,)

RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
_RAW_HEADER_NAMES = frozenset(name.lower().encode() for name in RATE_LIMIT_HEADERS)
STORE_TIMEOUT = 1.0  # seconds for the whole store round trip of one request
STORE_BACKOFF = 5.0  # seconds the store is left alone after a failure


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window that decided restarts

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", b"%d" % self.limit),
            (b"ratelimit-remaining", b"%d" % self.remaining),
            (b"ratelimit-reset", b"%d" % self.reset),
        ]


def _storage(settings: Settings, redis: Redis | None) -> tuple[Storage, Redis | None]:
    """The counters' store, and the Redis client made for it alone (closed at shutdown):
    none when the application's client is given, whose connection pool `limits` shares."""
    if not settings.redis_url:
        return MemoryStorage(), None
    client = redis if redis is not None else redis_client(settings.redis_url)
    options: dict[str, Any] = {"connection_pool": client.connection_pool}
    storage = RedisStorage(
        f"async+{settings.redis_url}",
        implementation="redispy",
        key_prefix=f"{settings.redis_key_prefix}:ratelimit",
        wrap_exceptions=True,
        **options,
    )
    return storage, (None if client is redis else client)


class RateLimiter:
    """Fixed-window counters in a `limits` storage, failing open when the store fails."""

    def __init__(self, settings: Settings, redis: Redis | None = None) -> None:
        self.limits: dict[str, list[RateLimitItem]] = {
            "anon": parse_many(settings.rate_limit_anon),
            "user": parse_many(settings.rate_limit_user),
            "auth": parse_many(settings.rate_limit_auth),
        }
        self.storage, self._own_redis = _storage(settings, redis)
        # The in-process store answers without waiting for anything: no timeout to arm.
        self._timeout = None if isinstance(self.storage, MemoryStorage) else STORE_TIMEOUT
        self._skip_until = 0.0

    async def hit(self, bucket: str, identity: str) -> Decision | None:
        """Count one request of `identity` in `bucket`; None when the store is unavailable."""
        if time.monotonic() < self._skip_until:
            return None
        try:
            if self._timeout is None:
                counted = await self._count_all(bucket, identity)
            else:
                async with asyncio.timeout(self._timeout):
                    counted = await self._count_all(bucket, identity)
        except (StorageError, TimeoutError) as exc:
            self._skip_until = time.monotonic() + STORE_BACKOFF
            metrics.STORE_ERRORS.labels("ratelimit").inc()
            cause = exc.storage_error if isinstance(exc, StorageError) else exc
            logger.warning(
                "rate limit store unavailable (%s); requests are not limited for %.0f s",
                type(cause).__name__,
                STORE_BACKOFF,
            )
            return None
        return _decide(counted)

    async def _count_all(self, bucket: str, identity: str) -> list[tuple[RateLimitItem, int, int]]:
        return [await self._count(item, bucket, identity) for item in self.limits[bucket]]

    async def _count(
        self, item: RateLimitItem, bucket: str, identity: str
    ) -> tuple[RateLimitItem, int, int]:
        key = item.key_for(bucket, identity)
        count = await self.storage.incr(key, item.get_expiry())
        reset = max(0, math.ceil(await self.storage.get_expiry(key) - time.time()))
        return item, count, reset

    async def close(self) -> None:
        if self._own_redis is not None:
            await self._own_redis.aclose()


def _decide(counted: Sequence[tuple[RateLimitItem, int, int]]) -> Decision:
    exceeded = [entry for entry in counted if entry[1] > entry[0].amount]
    if exceeded:  # refused until every exceeded window has restarted
        item, _, reset = max(exceeded, key=lambda entry: entry[2])
        return Decision(False, item.amount, 0, max(1, reset))
    # Otherwise report the tightest limit: the fewest requests left.
    item, count, reset = min(counted, key=lambda entry: (entry[0].amount - entry[1], -entry[2]))
    return Decision(True, item.amount, item.amount - count, reset)


def client_key(scope: Scope) -> str:
    """The client's address (as the request context resolved it, behind trusted proxies),
    an IPv6 address reduced to its /64 network."""
    context = current_context()
    if context is not None:
        host = context.client_ip
    else:
        client = scope.get("client")
        host = client[0] if client else "unknown"
    return _address_key(host)


@functools.lru_cache(maxsize=4096)
def _address_key(host: str) -> str:
    """What `client_key` counts for an address (addresses repeat: the answer is kept)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class RateLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, limiter: RateLimiter, identify: Identify, routes: list[BaseRoute]
    ) -> None:
        self.app = app
        self.limiter = limiter
        self.identify = identify
        # `routes` is the application's route list, read here: the stack is built at the
        # app's first call (its start-up), once every route is mounted.
        self.policies = PolicyTable.of(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        limit = self.policies.rate_limit(scope["path"])
        if limit == "exempt":
            await self.app(scope, receive, send)
            return
        bucket, identity = await self._bucket(scope, limit)
        decision = await self.limiter.hit(bucket, identity)
        if decision is None:
            await self.app(scope, receive, send)
            return
        if not decision.allowed:
            metrics.RATE_LIMITED.labels(bucket).inc()
            headers = {"Retry-After": str(decision.reset), **decision.headers()}
            refusal = error_response(429, {"rate_limit": ["too many requests"]}, headers)
            await refusal(scope, receive, send)
            return

        added = decision.raw_headers()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                message["headers"] = [
                    *(h for h in headers if h[0].lower() not in _RAW_HEADER_NAMES),
                    *added,
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _bucket(self, scope: Scope, limit: RateLimitClass) -> tuple[str, str]:
        path: str = scope["path"]
        if path.endswith("/"):  # an auth route's path with a trailing slash counts as auth
            limit = self.policies.rate_limit(path.rstrip("/"))
        if limit == "auth":
            return "auth", client_key(scope)
        user_id = await self.identify(Headers(scope=scope))
        if user_id is None:
            return "anon", client_key(scope)
        context = current_context()
        if context is not None:
            context.user_id = user_id
        return "user", str(user_id)


def _exempt(path: str) -> bool:
    return path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)


def install_rate_limiting(app: FastAPI, settings: Settings, identify: Identify) -> None:
    """Limit the app's requests as `settings` say; nothing when `RATE_LIMIT_ENABLED` is false."""
    if not settings.rate_limit_enabled:
        return
    limiter = RateLimiter(settings, app.state.redis)
    app.state.rate_limiter = limiter
    app.add_middleware(
        RateLimitMiddleware, limiter=limiter, identify=identify, routes=app.router.routes
    )
    close_on_shutdown(app, limiter.close)


def close_on_shutdown(app: FastAPI, close: Callable[[], Awaitable[None]]) -> None:
    """Run `close` when the app's lifespan ends, after the lifespan given to the app."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: Any) -> AsyncIterator[Any]:
        async with inner(app_) as state:
            try:
                yield state
            finally:
                await close()

    app.router.lifespan_context = lifespan
