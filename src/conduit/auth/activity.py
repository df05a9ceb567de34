"""Sessions end after a spell of idleness: each use moves a session's idle expiry forward.

Writing that on every request would turn every signed-in read into a write. Instead each
process writes it at most once per `interval` for a session (a hundredth of the idle
lifetime, at most an hour), after the request's unit of work has committed, in a short
write unit of its own. A session in use therefore never ends for idleness, and one left
alone ends at most `interval` before its idle lifetime has fully passed.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.repository import AuthRepository
from conduit.core.db import Database, after_commit, utcnow
from conduit.core.faults import log_failure

logger = logging.getLogger("conduit.auth")

REMEMBERED = 4096  # sessions whose last write this process remembers
MAX_INTERVAL = 3600.0  # seconds


class SessionActivity:
    def __init__(self, db: Database, idle_ttl: timedelta) -> None:
        self.db = db
        self.idle_ttl = idle_ttl
        self.interval = min(MAX_INTERVAL, idle_ttl.total_seconds() / 100)
        self._next_write: dict[str, float] = {}  # session id -> monotonic time

    def started(self, session_id: str) -> None:
        """A session was just created, its idle expiry written with it."""
        self._remember(session_id, time.monotonic() + self.interval)

    def used(self, session: AsyncSession, session_id: str) -> None:
        """Record that the request running in `session` used the session `session_id`."""
        now = time.monotonic()
        if self._next_write.get(session_id, 0.0) > now:
            return
        self._remember(session_id, now + self.interval)
        after_commit(session, partial(self._extend, session_id))

    def _remember(self, session_id: str, next_write: float) -> None:
        if len(self._next_write) >= REMEMBERED and session_id not in self._next_write:
            self._next_write.pop(next(iter(self._next_write)))  # forget the oldest
        self._next_write[session_id] = next_write

    async def _extend(self, session_id: str) -> None:
        try:
            async with self.db.session() as session:
                await AuthRepository(session).extend_idle(session_id, utcnow() + self.idle_ttl)
        except Exception as exc:  # the request itself has succeeded; the next one retries
            self._next_write.pop(session_id, None)
            log_failure(logger, "could not record a session's use", exc)
