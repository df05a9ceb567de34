"""Draining on SIGTERM: readiness fails first, the process stops a little later.

A balancer notices that `/ready` fails only at its next health checks; a process that stopped
at once would refuse or cut the requests the balancer still sends it meanwhile (keep-alive
connections included). So the first SIGTERM only marks the process as draining (`/ready`
answers 503 "draining", every other route keeps serving) and hands the signal to the server's
own handler `SHUTDOWN_DRAIN` seconds later: uvicorn then stops accepting connections and lets
the requests in flight finish (`SHUTDOWN_TIMEOUT`). A second SIGTERM, or SIGINT, stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from types import FrameType

logger = logging.getLogger("conduit.draining")


class Drain:
    """Whether this process is draining, and the SIGTERM handler that starts it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False

    def install(self) -> None:
        """Wrap the server's SIGTERM handler; run inside the server's event loop, after the
        server installed its handlers (the application's start-up). A no-op outside the main
        thread (an in-process test client) or when draining is off."""
        if self.seconds <= 0 or threading.current_thread() is not threading.main_thread():
            return
        server_handler = signal.getsignal(signal.SIGTERM)
        if not callable(server_handler):
            return
        loop = asyncio.get_running_loop()

        def on_sigterm(sig: int, frame: FrameType | None) -> None:
            if self.draining:  # a second SIGTERM: stop now
                server_handler(sig, frame)
                return
            self.draining = True
            logger.info("SIGTERM: draining for %.1f s before stopping", self.seconds)
            loop.call_soon_threadsafe(loop.call_later, self.seconds, server_handler, sig, frame)

        signal.signal(signal.SIGTERM, on_sigterm)
