"""Read replicas: which database serves a read (`Database.read` asks `Replicas.choose`).

A read goes to a replica that is up and lags the primary by at most REPLICA_MAX_LAG, in
turn; to the primary when there is none, or when its caller wrote recently. Everything
else (writes, the middleware's own sessions, cache fills) reads from the primary.

Health and lag come from a poll every `POLL_INTERVAL` (`run`, a task of the application's
lifespan): the primary's WAL position is recorded with the time it was seen, and a
replica's lag is how long ago the primary first stood past the position the replica has
replayed (0 when it has replayed all that was seen). A replica that fails a poll, or a read
with a connection fault, is skipped until a poll succeeds again.

Read-your-writes: a request whose write committed marks its caller, by user id (from the
access token's claims, no query) and by client IP (sign-up and login have no token yet),
for `window` seconds: any replica in use has replayed the write by then. Marks are kept in
this process and, with REDIS_URL, in Redis for every instance; when Redis cannot answer,
the read goes to the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import time
from collections import OrderedDict, deque

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.core import metrics
from conduit.core.config import Settings
from conduit.core.context import Identify, current_context
from conduit.core.db import Database
from conduit.core.faults import log_failure

logger = logging.getLogger("conduit.replicas")

POLL_INTERVAL = 0.5  # seconds between two polls
POLL_TIMEOUT = 2.0  # seconds a poll of one server may take before it counts as down
MAX_MARKS = 100_000  # callers marked in this process (the oldest are forgotten first)
# WAL positions as numbers; the replica's is NULL on a server that is not in recovery (a
# replica URL that leads to the primary, through a pooler say): it lags nothing.
_PRIMARY_LSN = text("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
_REPLAYED_LSN = text("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")


class PrimaryMarks:
    """Callers who wrote recently, each mark for `window` seconds (see the module)."""

    def __init__(self, window: float, redis: Redis | None, prefix: str) -> None:
        self.window = window
        self.redis = redis
        self.prefix = f"{prefix}:primary:"
        self._local: OrderedDict[str, float] = OrderedDict()  # mark -> monotonic expiry

    async def mark(self, marks: list[str]) -> None:
        expires = time.monotonic() + self.window
        for mark in marks:
            self._local[mark] = expires
            self._local.move_to_end(mark)
        while len(self._local) > MAX_MARKS:
            self._local.popitem(last=False)
        if self.redis is None:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for mark in marks:
                    pipe.set(self.prefix + mark, 1, px=math.ceil(self.window * 1000))
                await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            # Other instances may read from a replica for up to `window`: counted, logged.
            metrics.STORE_ERRORS.labels("replicas").inc()
            logger.warning("could not share a read-your-writes mark: %s", type(exc).__name__)

    async def any_marked(self, marks: list[str]) -> bool:
        now = time.monotonic()
        if any(self._local.get(mark, 0.0) > now for mark in marks):
            return True
        if self.redis is None:
            return False
        try:
            found = await self.redis.mget([self.prefix + mark for mark in marks])
        except (RedisError, OSError, TimeoutError):
            metrics.STORE_ERRORS.labels("replicas").inc()
            return True  # unsure whether the caller wrote: the primary has it all
        return any(value is not None for value in found)


class Replicas:
    """The replicas' health and lag, and the choice of one for a read (see the module);
    the application makes it its database's `router` and runs `run` in its lifespan."""

    def __init__(
        self, db: Database, settings: Settings, redis: Redis | None, identify: Identify
    ) -> None:
        self.db = db
        self.max_lag = settings.replica_max_lag
        # A replica in use lagged at most `max_lag` at its last poll; the lag is measured
        # against positions seen a poll apart and is polled again a poll later, so a write
        # is on every replica in use within `max_lag` and two polls.
        self.marks = PrimaryMarks(
            self.max_lag + 2 * POLL_INTERVAL, redis, settings.redis_key_prefix
        )
        self.identify = identify
        count = len(db.replicas)
        self.up = [False] * count  # nothing is known before the first poll
        self.lag = [math.inf] * count
        self._turn = itertools.count()
        self._history: deque[tuple[float, int]] = deque()  # (monotonic time, primary LSN)
        for index in range(count):
            self._publish(index)

    # --- the read path ---------------------------------------------------------------

    async def choose(self, headers: Headers) -> int | None:
        """The replica for a read by the caller of `headers`, or None: the primary."""
        usable = [i for i, up in enumerate(self.up) if up and self.lag[i] <= self.max_lag]
        if not usable or await self.marks.any_marked(await self._marks_of(headers)):
            return None
        return usable[next(self._turn) % len(usable)]

    def failed(self, replica: int) -> None:
        """A read on `replica` met a connection fault: skipped until a poll succeeds."""
        self.up[replica] = False
        self._publish(replica)

    async def note_writer(self, headers: Headers) -> None:
        """The caller of `headers` has just written: it reads from the primary a while."""
        await self.marks.mark(await self._marks_of(headers))

    async def _marks_of(self, headers: Headers) -> list[str]:
        marks = []
        user_id = await self.identify(headers)
        if user_id is not None:
            marks.append(f"user:{user_id}")
        context = current_context()
        if context is not None:
            marks.append(f"ip:{context.client_ip}")
        return marks

    # --- the poll ----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a failed round is logged, never fatal."""
        while not stop.is_set():
            try:
                await self.poll()
            except Exception as exc:
                log_failure(logger, "replica poll failed", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), POLL_INTERVAL)

    async def poll(self) -> None:
        now = time.monotonic()
        try:
            position = await _position(self.db.engine, _PRIMARY_LSN)
        except Exception as exc:  # lags are then measured against what was seen before
            log_failure(logger, "could not read the primary's WAL position", exc)
        else:
            if position is not None:
                self._history.append((now, position))
        horizon = now - 2 * self.max_lag - 10 * POLL_INTERVAL
        while len(self._history) > 1 and self._history[0][0] < horizon:
            self._history.popleft()
        await asyncio.gather(*(self._poll_replica(i, now) for i in range(len(self.up))))

    async def _poll_replica(self, index: int, now: float) -> None:
        try:
            replayed = await _position(self.db.replicas[index], _REPLAYED_LSN)
        except Exception as exc:
            self.up[index], self.lag[index] = False, math.inf
            log_failure(logger, f"replica {index} poll failed", exc)
        else:
            self.up[index], self.lag[index] = True, self._lag(replayed, now)
        self._publish(index)

    def _lag(self, replayed: int | None, now: float) -> float:
        if replayed is None:
            return 0.0
        if not self._history:
            return math.inf  # the primary was never seen: how far behind is unknown
        for seen_at, position in self._history:
            if position > replayed:
                return now - seen_at
        return 0.0

    def _publish(self, index: int) -> None:
        label = str(index)
        metrics.REPLICA_UP.labels(label).set(1 if self.up[index] else 0)
        metrics.REPLICA_LAG.labels(label).set(self.lag[index])  # +Inf: unknown


async def _position(engine: AsyncEngine, statement: TextClause) -> int | None:
    async with asyncio.timeout(POLL_TIMEOUT), engine.connect() as connection:
        value = (await connection.execute(statement)).scalar()
    return None if value is None else int(value)


class MarkWriters:
    """ASGI middleware: when a request's write committed (`RequestContext.wrote`), mark
    its caller before the response starts, so that its next read cannot miss the write."""

    def __init__(self, app: ASGIApp, replicas: Replicas) -> None:
        self.app = app
        self.replicas = replicas

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marking(message: Message) -> None:
            if message["type"] == "http.response.start":
                context = current_context()
                if context is not None and context.wrote:
                    await self.replicas.note_writer(Headers(scope=scope))
            await send(message)

        await self.app(scope, receive, marking)
