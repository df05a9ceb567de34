"""Account protection: the password policy, password hashing, the check of a login's
password and throttling of failed logins — everything a password goes through.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis

from conduit.auth.schemas import SignedInUser
from conduit.core.config import Settings
from conduit.core.db import Database
from conduit.core.errors import InvalidInput, TooManyRequests, Unauthorized
from conduit.core.redis import redis_client
from conduit.core.security import PasswordHasher
from conduit.users.repository import UserRepository

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


@dataclass(frozen=True, slots=True)
class VerifiedLogin:
    """A password found right for an account, before the request's unit of work began."""

    account: SignedInUser  # as read with the hash: what the login's response shows
    active: bool
    password_hash: str  # the hash it was verified against
    rehashed: str | None  # a new hash, when the stored one has other Argon2 parameters

    @property
    def user_id(self) -> int:
        return self.account.id


class AccountProtection:
    def __init__(
        self,
        settings: Settings,
        passwords: PasswordHasher,
        db: Database,
        redis: Redis | None = None,
    ) -> None:
        """The failure counts in Redis when `REDIS_URL` is set: on `redis`'s connection pool
        (the application's, shared) when given, on a client of their own otherwise."""
        self.passwords = passwords
        self.db = db  # a login reads the password hash in a read-only unit of its own
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

    async def hash(self, password: str) -> str:
        return await self.passwords.hash(password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        return await self.passwords.verify(password, password_hash)

    async def verify_login(self, email: str, password: str) -> VerifiedLogin:
        """Check a login's password before the request's own (write) unit of work begins:
        the hash is read in a short read-only unit, and Argon2 runs outside any unit. On
        SQLite a write unit holds the database's write lock from its first statement to its
        commit, so verifying inside it made every other writer wait for the hash.

        401 alike for an unknown e-mail and a wrong password (same body, same Argon2 work);
        429 while the address is throttled. The password may have changed meanwhile: the
        caller opens the session only if the account still has the hash verified here
        (then calls `login_succeeded`), or loads it in its own unit and calls `recheck`."""
        await self.ensure_login_allowed(email)
        async with self.db.session(write=False) as reader:
            stored = await UserRepository(reader).credentials(email)
        valid, rehashed = await self.verify(password, stored.password_hash if stored else None)
        if stored is None or not valid:
            await self.refuse_login(email)
        return VerifiedLogin(stored.account, stored.active, stored.password_hash, rehashed)

    async def recheck(
        self, email: str, password: str, verified: VerifiedLogin, current_hash: str | None
    ) -> str | None:
        """Confirm a verified login against the account as the request's unit loaded it
        (`current_hash` None: the account is gone). A password changed since is verified
        again, under the lock, so an old password never opens a session after the change.
        Answers the new hash to store, if any; counts the outcome for the throttle."""
        valid, rehashed = True, verified.rehashed
        if current_hash is None:
            valid = False
        elif current_hash != verified.password_hash:
            valid, rehashed = await self.verify(password, current_hash)
        if not valid:
            await self.refuse_login(email)
        await self.login_succeeded(email)
        return rehashed

    async def refuse_login(self, email: str) -> NoReturn:
        await self.login_failed(email)
        raise Unauthorized("credentials", "invalid")

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
