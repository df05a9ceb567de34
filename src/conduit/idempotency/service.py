"""Idempotency keys: claiming a key, recording the response, replaying it.

A key belongs to one user. The first request with it claims the key in a short transaction
of its own (an INSERT that does nothing if the user already has the key), runs, and records
its response in another transaction if it succeeded (2xx), or releases the key otherwise, so
that a retry runs again. A later request with the same key:

- finds the response recorded, for the same request (method, path and body): it is replayed;
- finds it recorded for a different request: refused (`mismatch`);
- finds the first request still running: refused (`conflict`), unless the claim is older
  than `LOCK_SECONDS` (the request that held it presumably crashed): it takes the key over.

Keys are kept `IDEMPOTENCY_TTL` seconds; older rows count as absent and are purged now and
then. The work and the record are two transactions: a process that dies between them leaves
a claim that is taken over (and the work done again) after `LOCK_SECONDS`.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from conduit.core.config import Settings
from conduit.core.db import Database, utcnow
from conduit.idempotency.models import DONE, IN_PROGRESS, IdempotencyRecord
from conduit.idempotency.repository import IdempotencyRepository

logger = logging.getLogger("conduit.idempotency")

LOCK_SECONDS = 60.0  # how long a claim holds the key against a concurrent duplicate
PURGE_INTERVAL = 600.0  # seconds between purges of expired keys, per process

NEW, REPLAYED, CONFLICT, MISMATCH = "new", "replayed", "conflict", "mismatch"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Begun:
    """What to do with a request: run it (`new`, holding `claim`), replay `stored`
    (`replayed`), or refuse it (`conflict`, `mismatch`)."""

    outcome: str
    claim: str = ""
    stored: StoredResponse | None = None


class IdempotencyService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        lock_seconds: float = LOCK_SECONDS,
        purge_interval: float = PURGE_INTERVAL,
    ) -> None:
        self.db = db
        self.ttl = timedelta(seconds=settings.idempotency_ttl)
        self.lock = timedelta(seconds=lock_seconds)
        self.purge_interval = purge_interval
        self._next_purge = 0.0

    async def begin(self, user_id: int, key: str, fingerprint: str) -> Begun:
        claim = secrets.token_hex(16)
        now = utcnow()
        until = now + self.lock
        async with self.db.session() as session:
            repo = IdempotencyRepository(session)
            if await repo.insert_claim(user_id, key, fingerprint, claim, now, until):
                return Begun(NEW, claim)
            record = await repo.get_locked(user_id, key)
            if record is None:  # purged in between: the key is free again
                if await repo.insert_claim(user_id, key, fingerprint, claim, now, until):
                    return Begun(NEW, claim)
                return Begun(CONFLICT)
            return self._resolve(record, fingerprint, claim, now)

    def _resolve(
        self, record: IdempotencyRecord, fingerprint: str, claim: str, now: datetime
    ) -> Begun:
        expired = record.created_at <= now - self.ttl
        if not expired and record.fingerprint != fingerprint:
            return Begun(MISMATCH)
        if not expired and record.state == DONE:
            assert record.status_code is not None
            stored = StoredResponse(
                record.status_code, record.content_type, record.response_body or b""
            )
            return Begun(REPLAYED, stored=stored)
        if not expired and record.locked_until is not None and record.locked_until > now:
            return Begun(CONFLICT)
        # Expired, or claimed by a request that never finished: start afresh.
        record.fingerprint = fingerprint
        record.state = IN_PROGRESS
        record.claim = claim
        record.locked_until = now + self.lock
        record.status_code = None
        record.content_type = None
        record.response_body = None
        if expired:
            record.created_at = now
        return Begun(NEW, claim)

    async def complete(self, user_id: int, key: str, claim: str, response: StoredResponse) -> None:
        async with self.db.session() as session:
            recorded = await IdempotencyRepository(session).record_response(
                user_id,
                key,
                claim,
                status_code=response.status_code,
                content_type=response.content_type,
                body=response.body,
            )
        if not recorded:
            logger.warning("idempotency key was taken over before its response was recorded")

    async def release(self, user_id: int, key: str, claim: str) -> None:
        async with self.db.session() as session:
            await IdempotencyRepository(session).release(user_id, key, claim)

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
