"""The faults, one at a time: each does its damage and returns once it has ended (the
instant recovery is measured from), within a bounded time."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from chaos.load import Load, Phase
from chaos.stack import DATABASE, Stack

FREEZE_SECONDS = 10.0
REDIS_DOWN_SECONDS = 15.0
KILLED_SECONDS = 3.0
LOCK_SECONDS = 15
BURST_SECONDS = 15.0
BURST_LOOPS = 2  # extra loops per user during the burst, each without pauses


@dataclass(frozen=True, slots=True)
class Context:
    stack: Stack
    load: Load
    phase: Phase


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    summary: str
    act: Callable[[Context], Awaitable[None]]
    # Instance settings for this fault's run: the instances are restarted with them before
    # the load starts, and with their own after it, neither restart being measured.
    settings: Mapping[str, str] = field(default_factory=dict)
    # The share of bad requests (5xx, connection errors, timeouts) the fault may cause while
    # it lasts, for a fault the service should serve through (None: it may stop serving).
    tolerated: float | None = None


async def rolling_sigterm(ctx: Context) -> None:
    """SIGTERM each instance, start it again, and wait until HAProxy holds it up before the
    next one: never both down because of the suite itself."""
    haproxy = ctx.stack.haproxy
    assert haproxy is not None
    for instance in ctx.stack.instances:
        await asyncio.to_thread(ctx.stack.restart_instance, instance, signal.SIGTERM, None)
        if instance is not ctx.stack.instances[-1]:
            await asyncio.to_thread(haproxy.wait_up, [instance.name])


async def sigkill(ctx: Context) -> None:
    instance = ctx.stack.instances[0]
    await asyncio.to_thread(instance.signal, signal.SIGKILL)
    await asyncio.sleep(KILLED_SECONDS)
    await asyncio.to_thread(instance.start)


async def pg_restart(ctx: Context) -> None:
    await asyncio.to_thread(ctx.stack.postgres.restart, "fast")


async def pg_freeze(ctx: Context) -> None:
    ctx.stack.postgres.freeze()
    try:
        await asyncio.sleep(FREEZE_SECONDS)
    finally:
        ctx.stack.postgres.thaw()


async def redis_stop(ctx: Context) -> None:
    ctx.stack.redis.stop()
    try:
        await asyncio.sleep(REDIS_DOWN_SECONDS)
    finally:
        await asyncio.to_thread(ctx.stack.redis.start)


async def small_pool(ctx: Context) -> None:
    """The instances already run with a pool of 2 (the fault's settings); every user now
    runs more loops without pauses: far more requests at once than the pools hold."""
    stop = asyncio.Event()
    loops = [ctx.load.users_until(ctx.phase, stop, think=0.0) for _ in range(BURST_LOOPS)]
    burst = asyncio.gather(*loops)
    await asyncio.sleep(BURST_SECONDS)
    stop.set()
    await burst


async def table_lock(ctx: Context) -> None:
    statement = (
        "BEGIN; LOCK TABLE articles IN ACCESS EXCLUSIVE MODE; "
        f"SELECT pg_sleep({LOCK_SECONDS}); COMMIT"
    )
    await asyncio.to_thread(ctx.stack.postgres.sql, statement, DATABASE)


FAULTS = [
    Fault(
        "rolling-sigterm",
        "SIGTERM to each instance in turn, each started again",
        rolling_sigterm,
        tolerated=0.01,
    ),
    Fault(
        "sigkill",
        f"SIGKILL to instance a, started again {KILLED_SECONDS:.0f} s later",
        sigkill,
        tolerated=0.02,  # the requests in flight on the killed instance
    ),
    Fault("pg-restart", "PostgreSQL restarted (pg_ctl restart -m fast)", pg_restart),
    Fault(
        "pg-freeze",
        f"PostgreSQL frozen (SIGSTOP) for {FREEZE_SECONDS:.0f} s, then SIGCONT",
        pg_freeze,
    ),
    Fault(
        "redis-stop",
        f"Redis stopped for {REDIS_DOWN_SECONDS:.0f} s, then started",
        redis_stop,
        tolerated=0.01,  # the app fails open without Redis: it serves on
    ),
    Fault(
        "small-pool",
        f"pools of 2 (DB_POOL_SIZE=2, DB_POOL_TIMEOUT=1), a {BURST_SECONDS:.0f} s burst",
        small_pool,
        {"DB_POOL_SIZE": "2", "DB_POOL_TIMEOUT": "1"},
    ),
    Fault(
        "table-lock",
        f"articles locked ACCESS EXCLUSIVE for {LOCK_SECONDS} s",
        table_lock,
    ),
]
BY_NAME = {fault.name: fault for fault in FAULTS}
