"""Password hashing (Argon2id, on threads of its own) and JWT access tokens (PyJWT).

Argon2id is CPU-bound for tens of milliseconds per hash, and argon2-cffi releases the GIL
while it runs, so a hash on another thread leaves the event loop free to serve requests. It
still competes with the event loop's thread for the CPU: forty threads of the default pool
hashing at once on a one-core worker left the loop a fortieth of the core. So hashing runs
on `HashingPool`: a few threads of its own (`ARGON2_THREADS`), at a lower CPU priority
(`ARGON2_NICE`, Linux), with a bounded queue (`ARGON2_QUEUE`) beyond which a request is
refused with 503 and `Retry-After` rather than left to wait ever longer.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from conduit.core.config import Settings
from conduit.core.db import MAX_ID
from conduit.core.errors import ServiceUnavailable

logger = logging.getLogger("conduit.security")

# Only this algorithm is ever accepted; "none" and asymmetric algorithms are refused.
ALLOWED_ALGORITHMS = ("HS256", "HS384", "HS512")
TOKEN_ISSUER = "conduit"  # noqa: S105 - a name, not a secret
VERIFIED_TOKENS = 4096  # access tokens whose verified claims are remembered

T = TypeVar("T")


def lower_thread_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice` (at most to 19).

    On Linux a thread is a task with a nice value of its own, addressed by its native id
    through PRIO_PROCESS. Elsewhere that id would name a process, so this does nothing.
    Raising one's own nice value needs no privilege; lowering it back would.
    """
    if nice <= 0 or not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + nice))
    except OSError as exc:  # e.g. a seccomp profile that forbids it: hash at full priority
        logger.warning("could not lower the hashing thread's priority: %s", exc)


class HashingPool:
    """Dedicated threads for password hashing, with a bounded queue.

    At most `threads` jobs run at once and at most `queue` more wait (first come, first
    served); a job beyond that is refused at once with `ServiceUnavailable` (503), whose
    `Retry-After` estimates how long the queue takes to drain. A waiting job whose caller
    goes away (a client that disconnected) is dropped without running.
    """

    def __init__(self, threads: int, queue: int, nice: int = 0) -> None:
        self.threads = threads
        self.capacity = threads + queue
        self._executor = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="argon2",
            initializer=lower_thread_priority,
            initargs=(nice,),
        )
        self._lock = threading.Lock()  # the counters are updated from the worker threads too
        self._pending = 0  # running and waiting
        self._seconds = 0.05  # moving average of the wall time of a job

    @property
    def pending(self) -> int:
        """Jobs running or waiting."""
        return self._pending

    def retry_after(self) -> int:
        """Seconds until the current queue has likely drained (at least 1)."""
        return max(1, math.ceil(self._pending * self._seconds / self.threads))

    async def run(self, job: Callable[[], T]) -> T:
        with self._lock:
            if self._pending >= self.capacity:
                raise ServiceUnavailable("server", "is busy, try again shortly", self.retry_after())
            self._pending += 1
        try:
            future = self._executor.submit(self._timed, job)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _timed(self, job: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return job()
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self._seconds += (elapsed - self._seconds) / 5

    def _release(self, _: Future[Any] | None) -> None:
        with self._lock:
            self._pending -= 1

    def close(self) -> None:
        """Drop the waiting jobs; a running one finishes on its own."""
        self._executor.shutdown(wait=False, cancel_futures=True)


class PasswordHasher:
    """Argon2id hashing and verification on a `HashingPool`."""

    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost,
                    parallelism=settings.argon2_parallelism,
                ),
            )
        )
        # Verified against when the account does not exist, so that a login for an
        # unknown e-mail costs the same time as one with a wrong password.
        self._dummy_hash = self._hash.hash("conduit-dummy-password")
        self.pool = HashingPool(
            settings.argon2_threads, settings.argon2_queue, settings.argon2_nice
        )

    async def hash(self, password: str) -> str:
        return await self.pool.run(partial(self._hash.hash, password))

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Whether `password` matches `password_hash` (None: no such account, checked
        against a dummy hash all the same), and, when it matches a hash made with other
        Argon2 parameters than the configured ones, the password hashed anew, to store."""
        target = password_hash or self._dummy_hash
        ok, updated = await self.pool.run(partial(self._hash.verify_and_update, password, target))
        if password_hash is None:
            return False, None
        return ok, updated

    def close(self) -> None:
        self.pool.close()


class InvalidToken(Exception):
    """The token is malformed, forged, expired or otherwise unusable."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int  # the subject
    session_id: str
    issued_at: datetime
    expires_at: datetime


class TokenCodec:
    """Signs and verifies JWT access tokens with an explicit algorithm list."""

    def __init__(self, settings: Settings) -> None:
        if settings.jwt_algorithm not in ALLOWED_ALGORITHMS:
            raise ValueError(f"unsupported JWT algorithm {settings.jwt_algorithm!r}")
        self._key = settings.secret_key
        self._algorithm = settings.jwt_algorithm
        self._ttl = timedelta(seconds=settings.access_token_ttl)
        self.refresh_ttl = timedelta(seconds=settings.refresh_token_ttl)  # a session's life
        self.idle_ttl = timedelta(seconds=settings.session_idle_ttl)
        # token -> its claims, once verified: a signed-in client sends the same token on
        # every request (and the middleware reads it too), and verifying it (base64, HMAC,
        # JSON, PyJWT's checks) costs more than the request's SQL. A remembered token is
        # still refused from its expiry on; what a token cannot say (its session revoked,
        # its user deactivated) is checked in the database on every request regardless.
        self._verified: dict[str, TokenClaims] = {}

    def fingerprint(self, secret: str) -> str:
        """A keyed hash (HMAC-SHA256 with the secret key): what is stored of an API key."""
        return hmac.new(self._key.encode(), secret.encode(), hashlib.sha256).hexdigest()

    @property
    def ttl_seconds(self) -> int:
        return int(self._ttl.total_seconds())

    def encode(
        self,
        subject: str,
        session_id: str,
        *,
        now: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> str:
        """An access token for the session; it expires after the access-token lifetime
        unless `expires_at` says when (a session token: see `AuthService.start_session`)."""
        issued = now or datetime.now(UTC)
        payload: dict[str, Any] = {
            "sub": subject,
            "sid": session_id,
            "iat": issued,
            "nbf": issued,
            "exp": expires_at or issued + self._ttl,
            "iss": TOKEN_ISSUER,
            "typ": "access",
            # Unique per token (RFC 9068, 2.2): two tokens issued in the same second differ.
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(payload, self._key, algorithm=self._algorithm)

    def decode(self, token: str) -> TokenClaims:
        claims = self._verified.get(token)
        if claims is not None and datetime.now(UTC) < claims.expires_at:
            return claims
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS:  # forget the oldest
            self._verified.pop(next(iter(self._verified)), None)
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                issuer=TOKEN_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "sid"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from None
        subject, session_id = payload.get("sub"), payload.get("sid")
        if (
            payload.get("typ") != "access"
            or not isinstance(subject, str)
            or not subject.isascii()
            or not subject.isdigit()
            or not 0 < int(subject) <= MAX_ID
            or not isinstance(session_id, str)
        ):
            raise InvalidToken("not an access token")
        return TokenClaims(
            user_id=int(subject),
            session_id=session_id,
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
