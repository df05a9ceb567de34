"""Account protection: the password policy and throttling of failed logins.

Passwords follow NIST SP 800-63B: a minimum length (`PASSWORD_MIN_LENGTH`), at most 256
characters (refused beyond, never truncated), no composition rules, not the username or
e-mail, and optionally not on a list of common passwords (`COMMON_PASSWORDS_FILE`).

After `LOGIN_MAX_FAILURES` failed logins for one e-mail address within
`LOGIN_FAILURE_WINDOW` seconds, logins for it answer 429 until the window passes, the
correct password included. Unknown addresses are counted the same way, so the answers
do not tell which accounts exist. The count (the `limits` library's moving window) lives
in Redis when `REDIS_URL` is set, shared by every instance, and in this process otherwise.
If Redis cannot be reached, logins are let through (fail open) and the failure is logged.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from pathlib import Path
from typing import Any

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from conduit.core.config import Settings
from conduit.core.errors import InvalidInput, TooManyRequests
from conduit.core.redis import redis_client

logger = logging.getLogger("conduit.accounts")


def _load_common(path: str | None) -> frozenset[str]:
    if not path:
        return frozenset()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


class ThrottleMemoryStorage(MemoryStorage):
    """`limits`' in-process storage, with a `clear` that is safe beside its expiry task.

    In limits 5.8 `clear` deletes a key's entries and its lock without taking that lock,
    while the background task that expires entries walks a snapshot of the keys and then
    reads each one: a login succeeding at that moment killed the task with a KeyError
    ("Task exception was never retrieved", logged as an error). Found under schemathesis'
    load. Here `clear` takes the key's lock and only empties the entries; the expiry task
    removes the key, as it does for any key with no entry left."""

    async def clear(self, key: str) -> None:
        async with self.locks[key]:
            self.storage.pop(key, None)
            self.expirations.pop(key, None)
            if key in self.events:
                self.events[key] = []


class AccountProtection:
    def __init__(self, settings: Settings, redis: Redis | None = None) -> None:
        """The failure counts in Redis when `REDIS_URL` is set: on `redis`'s connection pool
        (the application's, shared) when given, on a client of their own otherwise."""
        self.min_length = settings.password_min_length
        self._common = _load_common(settings.common_passwords_file)
        self._limit = RateLimitItemPerSecond(
            settings.login_max_failures, settings.login_failure_window
        )
        storage: Storage = ThrottleMemoryStorage()
        if settings.redis_url:
            client = redis if redis is not None else redis_client(settings.redis_url)
            options: dict[str, Any] = {"connection_pool": client.connection_pool}
            storage = RedisStorage(
                f"async+{settings.redis_url}",
                implementation="redispy",
                key_prefix=f"{settings.redis_key_prefix}:limits",
                wrap_exceptions=True,
                **options,
            )
        self._limiter = MovingWindowRateLimiter(storage)

    def check_password(self, password: str, *, username: str, email: str) -> None:
        if len(password) < self.min_length:
            raise InvalidInput(
                "password", f"is too short (minimum is {self.min_length} characters)"
            )
        lowered = password.lower()
        if lowered in {username.lower(), email.lower(), email.split("@")[0].lower()}:
            raise InvalidInput("password", "must differ from the username and e-mail")
        if lowered in self._common:
            raise InvalidInput("password", "is too common")

    @staticmethod
    def _key(email: str) -> str:
        return hashlib.sha256(email.lower().encode()).hexdigest()

    async def ensure_login_allowed(self, email: str) -> None:
        key = self._key(email)
        try:
            if await self._limiter.test(self._limit, "login", key):
                return
            stats = await self._limiter.get_window_stats(self._limit, "login", key)
        except StorageError:
            logger.warning("login throttle store unavailable; letting the login through")
            return
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise TooManyRequests("credentials", "too many failed attempts", retry_after)

    async def login_failed(self, email: str) -> None:
        try:
            await self._limiter.hit(self._limit, "login", self._key(email))
        except StorageError:
            logger.warning("login throttle store unavailable; a failed login was not counted")

    async def login_succeeded(self, email: str) -> None:
        try:
            await self._limiter.clear(self._limit, "login", self._key(email))
        except StorageError:
            logger.warning("login throttle store unavailable; the count was not reset")
