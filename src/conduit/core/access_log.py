"""The access line: one per request, `conduit.access`, level info, event "request".

It is structlog's own line, `get_logger("conduit.access").info("request", method=..., ...)`
with the request id from the request context, as on every line. It is the line every request
writes, so while production's set-up is as `configure_logging` left it (our JSON-lines
handler on the root logger is the only one the line reaches, and nothing filters it), the
same text is built as one string and written by that handler's stream (docs/performance.md,
"The access-log fast path"). Anything else (a test's capture handler, an operator's handler
or filter, console lines) gets structlog's record through the logging module, as any line.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import structlog

from conduit.core.context import current_context
from conduit.core.logging import Handler
from conduit.core.scrubbing import may_hold_secret, scrub_text

ACCESS_LOGGER = "conduit.access"

# A string as `json.JSONEncoder` (ensure_ascii, the default) writes it.
_quote: Callable[[str], str] = json.encoder.encode_basestring_ascii


class UTCStamp:
    """Now, as structlog's `TimeStamper(fmt="iso", utc=True)` writes it
    (`2026-11-23T17:00:00.123456Z`, the fraction left out at a whole second, as `isoformat`
    does; microseconds truncated, as `datetime.now` does), with the part up to the second
    formatted once a second, since a line's stamp rarely starts a new second."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._second: tuple[int, str] = (-1, "")  # replaced whole: no torn read

    def __call__(self) -> str:
        second, nanos = divmod(self._clock(), 1_000_000_000)
        cached = self._second
        if cached[0] != second:
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second = cached
        micros = nanos // 1000
        return f"{cached[1]}.{micros:06d}Z" if micros else f"{cached[1]}Z"


class AccessLog:
    """Writes the access line; `request` is the one entry point (the middleware's)."""

    def __init__(self) -> None:
        self.logger = logging.getLogger(ACCESS_LOGGER)
        self._root = logging.getLogger()
        self._structlog: Any = structlog.stdlib.get_logger(ACCESS_LOGGER)
        self._stamp = UTCStamp()

    def request(
        self,
        *,
        method: str,
        route: str,
        path: str,
        status: int,
        duration_ms: float,
        user_id: int | None,
        client_ip: str,
    ) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        handler = self._sole_handler()
        context = current_context()
        if (
            handler is not None
            and context is not None
            and type(status) is int
            and type(duration_ms) is float
            and (user_id is None or type(user_id) is int)
        ):
            line = self._json_line(
                method, route, path, status, duration_ms, user_id, client_ip, context.request_id
            )
            if _write(handler, line):
                return
        self._structlog.info(
            "request",
            method=method,
            route=route,
            path=path,
            status=status,
            duration_ms=duration_ms,
            user_id=user_id,
            client_ip=client_ip,
        )

    def _sole_handler(self) -> Handler | None:
        """Our JSON-lines handler when the logging module would hand the line to it alone
        and unfiltered: the access logger (enabled, unfiltered, without handlers,
        propagating) and its parent, the `conduit` logger or the root (without handlers,
        propagating), lead to the root whose one handler is ours, unfiltered, still with
        the formatter it was made with. A few reads made per line, so that any change of
        configuration takes effect at once; anything else takes the plain path."""
        access = self.logger
        if access.disabled or access.filters or access.handlers or not access.propagate:
            return None
        parent = access.parent
        root = self._root
        if parent is not root and (
            parent is None or parent.handlers or not parent.propagate or parent.parent is not root
        ):
            return None
        handlers = root.handlers
        if len(handlers) != 1:
            return None
        handler = handlers[0]
        if (
            type(handler) is not Handler
            or not handler.json_lines
            or handler.formatter is not handler.made_with
            or handler.filters
            or handler.level > logging.INFO
        ):
            return None
        return handler

    def _json_line(
        self,
        method: str,
        route: str,
        path: str,
        status: int,
        duration_ms: float,
        user_id: int | None,
        client_ip: str,
        request_id: str,
    ) -> str:
        """The JSON line our formatter renders for this event (same keys, order, separators,
        escapes and scrubbing; tests/core/test_access_log.py compares). Field names hold no
        secret; the constant values hold none either; the others are scrubbed as
        `scrub_secrets` would."""
        texts = (method, route, path, client_ip, request_id)
        if may_hold_secret("\0".join(texts)):
            method, route, path, client_ip, request_id = (scrub_text(text) for text in texts)
        user = "null" if user_id is None else int.__repr__(user_id)
        return (
            f'{{"method": {_quote(method)}, "route": {_quote(route)}, "path": {_quote(path)}, '
            f'"status": {int.__repr__(status)}, "duration_ms": {float.__repr__(duration_ms)}, '
            f'"user_id": {user}, "client_ip": {_quote(client_ip)}, "event": "request", '
            f'"request_id": {_quote(request_id)}, "level": "info", '
            f'"logger": "{ACCESS_LOGGER}", "timestamp": {_quote(self._stamp())}}}'
        )


def _write(handler: Handler, line: str) -> bool:
    """Write one rendered line as the handler's `emit` would; False, the line not written,
    if that failed (the record's path then reports it, as for any line)."""
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.stream.flush()
    except Exception:
        return False
    finally:
        handler.release()
    return True
