"""Readiness: can this instance reach what it depends on, within a short timeout each?"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from conduit.core import metrics
from conduit.core.db import Database
from conduit.core.faults import classify
from conduit.ops.repository import OpsRepository

logger = logging.getLogger("conduit.ops")


# Without the database an instance can serve nothing; without Redis it fails open (rate
# limits, the login throttle and the shared cache fall back to the process), so only the
# database decides readiness and Redis only degrades it.
REQUIRED = frozenset({"database"})


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(self.checks[name] == "ok" for name in REQUIRED)

    @property
    def status(self) -> str:
        if not self.ready:
            return "unavailable"
        return "ok" if all(state == "ok" for state in self.checks.values()) else "degraded"


class ReadinessService:
    def __init__(self, db: Database, redis: Redis | None, timeout: float) -> None:
        self.db = db
        self.redis = redis
        self.timeout = timeout

    async def _database(self) -> None:
        async with self.db.session(write=False) as session:
            await OpsRepository(session).ping()

    async def _redis(self) -> None:
        assert self.redis is not None
        await self.redis.ping()

    async def _check(self, name: str, probe: Coroutine[Any, Any, None]) -> tuple[str, str]:
        try:
            async with asyncio.timeout(self.timeout):
                await probe
        except TimeoutError:
            logger.warning("readiness check %s timed out", name)
            return name, "timeout"
        except Exception as exc:  # any failure means "not ready", never a 500
            fault = classify(exc)  # the driver's error, not the 503 it was turned into
            cause = type(exc).__name__ if fault is None else fault.kind
            logger.warning("readiness check %s failed: %s", name, cause)
            return name, "unavailable"
        return name, "ok"

    async def check(self) -> Readiness:
        probes: dict[str, Coroutine[Any, Any, None]] = {"database": self._database()}
        if self.redis is not None:
            probes["redis"] = self._redis()
        results = await asyncio.gather(
            *(self._check(name, probe) for name, probe in probes.items())
        )
        for name, state in results:
            metrics.DEPENDENCY_UP.labels(name).set(state == "ok")
        return Readiness(dict(results))
