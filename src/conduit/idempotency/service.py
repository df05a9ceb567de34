"""Idempotency keys: claimed, replayed or refused in the request's own transaction.

A key belongs to one user. A keyed request to an idempotent route carries a `KeyedRequest`,
which its route (`SessionRoute`) runs inside the request's unit of work, so that the key and
the work are one transaction (brandur.org, "Implementing Stripe-like Idempotency Keys in
Postgres", with a single atomic phase):

1. the first statement inserts the key (`in_progress`), or finds the user's committed row;
2. a row for the same request (method, path and body) that is `done` is replayed without
   running the route; one for a different request is refused (422, `mismatch`); one older
   than `IDEMPOTENCY_TTL`, or a committed `in_progress` row (left by the former two-step
   design) whose lock has passed, is taken over (until then it is refused: 409);
3. the route runs; a 2xx response small enough to keep is recorded in the row (`done`),
   any other answer deletes the row, all before the unit of work commits.

So the key is committed exactly when the work is: a crash, a failed commit or a rollback
leaves neither, and a retry runs at once. A duplicate sent while the first request runs
waits for it (PostgreSQL: its INSERT waits on the unique index; SQLite: writers queue on the
write lock) and is then replayed, or runs if the first failed; if that wait ends in a lock
timeout it is refused (409, `conflict`). Keys older than the TTL are purged now and then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from conduit.core import metrics
from conduit.core.config import Settings
from conduit.core.db import Database, utcnow
from conduit.core.errors import Conflict, DomainError, InvalidInput
from conduit.idempotency.models import DONE, IdempotencyRecord
from conduit.idempotency.repository import IdempotencyRepository

logger = logging.getLogger("conduit.idempotency")

PURGE_INTERVAL = 600.0  # seconds between purges of expired keys, per process
MAX_STORED_BYTES = 1024 * 1024  # a larger response is not recorded (the key is released)
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock wait that timed out

NEW, REPLAYED, CONFLICT, MISMATCH = "new", "replayed", "conflict", "mismatch"


@dataclass(frozen=True, slots=True)
class KeyedRequest:
    """One request's key, run by its route in the request's unit of work (it is the
    `core.policies.KeyedWrite` of the request)."""

    user_id: int
    key: str
    fingerprint: str
    ttl: timedelta

    async def run(self, session: AsyncSession, work: Callable[[], Awaitable[Response]]) -> Response:
        repo = IdempotencyRepository(session)
        try:
            replay = await self._claim(repo, utcnow())
        except DBAPIError as exc:
            if not _lock_not_available(exc):
                raise
            metrics.IDEMPOTENCY.labels(CONFLICT).inc()
            raise Conflict("idempotency_key", "is in use by a request still in progress") from exc
        if replay is not None:
            return replay
        metrics.IDEMPOTENCY.labels(NEW).inc()
        try:
            response = await work()
        except DomainError as exc:
            if exc.keep_changes:  # its changes are committed: the key must not be
                await repo.remove(self.user_id, self.key)
            raise
        body = getattr(response, "body", None)  # a streamed response has none to keep
        if (
            200 <= response.status_code < 300
            and isinstance(body, bytes)
            and len(body) <= MAX_STORED_BYTES
        ):
            await repo.record_response(
                self.user_id,
                self.key,
                status_code=response.status_code,
                content_type=response.headers.get("content-type"),
                body=body,
            )
        else:
            await repo.remove(self.user_id, self.key)  # not kept: a retry runs again
        return response

    async def _claim(self, repo: IdempotencyRepository, now: datetime) -> Response | None:
        """Hold the key in this transaction (None: run the work), or the response to replay."""
        while not await repo.insert_claim(self.user_id, self.key, self.fingerprint, now):
            record = await repo.get_locked(self.user_id, self.key)
            if record is not None:  # else purged in between: the key is free again
                return await self._resolve(repo, record, now)
        return None

    async def _resolve(
        self, repo: IdempotencyRepository, record: IdempotencyRecord, now: datetime
    ) -> Response | None:
        expired = record.created_at <= now - self.ttl
        if not expired and record.fingerprint != self.fingerprint:
            metrics.IDEMPOTENCY.labels(MISMATCH).inc()
            raise InvalidInput("idempotency_key", "was used with a different request")
        if not expired and record.state == DONE:
            assert record.status_code is not None
            metrics.IDEMPOTENCY.labels(REPLAYED).inc()
            headers = {"Idempotent-Replayed": "true"}
            if record.content_type:
                headers["Content-Type"] = record.content_type
            body = record.response_body or b""
            return Response(body, status_code=record.status_code, headers=headers)
        # A committed `in_progress` row comes from the former two-step design: during a
        # rolling upgrade an instance of it may still run that request until `locked_until`.
        if not expired and record.locked_until is not None and record.locked_until > now:
            metrics.IDEMPOTENCY.labels(CONFLICT).inc()
            raise Conflict("idempotency_key", "is in use by a request still in progress")
        # Expired, or a former claim whose lock has passed: start afresh.
        await repo.take_over(record, self.fingerprint, now if expired else record.created_at)
        return None


def _lock_not_available(exc: DBAPIError) -> bool:
    """Whether the statement gave up waiting for a lock (`lock_timeout`)."""
    driver_error = exc.orig
    return any(
        getattr(error, "sqlstate", None) == LOCK_NOT_AVAILABLE
        for error in (driver_error, getattr(driver_error, "__cause__", None))
    )


class IdempotencyService:
    def __init__(
        self, db: Database, settings: Settings, *, purge_interval: float = PURGE_INTERVAL
    ) -> None:
        self.db = db
        self.ttl = timedelta(seconds=settings.idempotency_ttl)
        self.purge_interval = purge_interval
        self._next_purge = 0.0

    def keyed(self, user_id: int, key: str, fingerprint: str) -> KeyedRequest:
        """The key of one request, for its route to run (`KeyedRequest.run`)."""
        return KeyedRequest(user_id, key, fingerprint, self.ttl)

    async def purge_expired(self) -> int:
        """Delete the keys older than the TTL; how many went."""
        async with self.db.session() as session:
            return await IdempotencyRepository(session).purge(utcnow() - self.ttl)

    async def purge_now_and_then(self) -> None:
        """Purge expired keys if this process has not done so for `purge_interval`."""
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + self.purge_interval
        purged = await self.purge_expired()
        if purged:
            logger.info("purged %d expired idempotency keys", purged)
