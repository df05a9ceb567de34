"""`conduit worker`: the outbox deliverer as a process of its own."""

from __future__ import annotations

import asyncio
import signal

from conduit.core.config import Settings
from conduit.core.db import Database
from conduit.core.mail import transport_for
from conduit.outbox.service import OutboxDeliverer


async def run_worker(settings: Settings, interval: float = 1.0) -> None:
    """Deliver due mail every `interval` seconds until SIGINT or SIGTERM."""
    db = Database(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    deliverer = OutboxDeliverer(db, transport_for(settings), settings)
    try:
        await deliverer.run_forever(interval, stop=stop)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await db.dispose()
