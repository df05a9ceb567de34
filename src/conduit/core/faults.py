"""Infrastructure faults: the database is unreachable, overloaded or refusing work.

Such a fault is no bug of ours and no mistake of the client's: the request may succeed if it
is sent again shortly. `classify` recognises one from the exception raised, wherever it was
raised (a route, a middleware, a commit), and `report` logs it as one warning line without a
traceback; `conduit.core.errors` turns it into a 503 with `Retry-After`.

What counts, for each exception in the chain (its `__cause__`, its `__context__`, and the
driver's error a SQLAlchemy exception wraps as `.orig`):

- SQLAlchemy's pool timeout: every connection is in use ("busy");
- a SQLAlchemy error whose connection SQLAlchemy found lost (`connection_invalidated`);
- a PostgreSQL SQLSTATE of class 08 (connection exception), 53 (insufficient resources: too
  many connections, out of memory or disk), 57 (operator intervention: statement cancelled
  or timed out, server shutting down or starting up), or 55P03 (lock not available);
- asyncpg's client-side errors about a connection that is closed or lost mid-operation
  (`InterfaceError` about a closed connection, `InternalClientError` "cannot switch to
  state", which follows a connection lost mid-operation);
- an `OperationalError` (PEP 249: the database's operation, not the program): from SQLite,
  only the codes of a busy, locked, unreadable or full database, since SQLite also reports
  SQL mistakes (no such table, syntax) as `OperationalError`;
- an `OSError` (refused connection, unknown host, connect timeout) that came up through the
  database driver or SQLAlchemy, told by the modules of its traceback.

Anything else, an `IntegrityError` or a `ProgrammingError` included, is not a fault here.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass

from asyncpg.exceptions import InterfaceError, InternalClientError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

logger = logging.getLogger("conduit.faults")

# SQLSTATE classes (the first two characters) and codes that mean "not now".
_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
_SQLSTATES = frozenset({"55P03"})
# A statement cancelled (statement_timeout) or a lock not granted: the connection is fine.
_CONNECTION_KEPT = frozenset({"57014", "55P03"})
# SQLite primary result codes: BUSY, LOCKED, NOMEM, IOERR, FULL, CANTOPEN.
_SQLITE_CODES = frozenset({5, 6, 7, 10, 13, 14})
_DRIVER_MODULES = frozenset({"asyncpg", "sqlalchemy", "aiosqlite", "sqlite3"})

BUSY_RETRY_AFTER = 1  # seconds: the pool frees a connection as soon as any request ends
DOWN_RETRY_AFTER = 5  # seconds: a restart or failover of the database takes a few
# Per process and kind, one warning per this many seconds; the next one counts the rest.
WARN_EVERY = 10.0


@dataclass(frozen=True, slots=True)
class Fault:
    """An infrastructure fault: `kind` names the exception that told it apart."""

    kind: str
    detail: str
    busy: bool = False

    @property
    def message(self) -> str:
        return "is busy, try again shortly" if self.busy else "is unavailable, try again shortly"

    @property
    def retry_after(self) -> int:
        return BUSY_RETRY_AFTER if self.busy else DOWN_RETRY_AFTER


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it came from, each once."""
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        orig = current.orig if isinstance(current, DBAPIError) else None
        pending += [current.__context__, current.__cause__, orig]
    return seen


def _through_driver(exc: BaseException) -> bool:
    traceback = exc.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module.partition(".")[0] in _DRIVER_MODULES:
            return True
        traceback = traceback.tb_next
    return False


def _is_fault(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and (sqlstate[:2] in _SQLSTATE_CLASSES or sqlstate in _SQLSTATES):
        return True
    if isinstance(exc, InternalClientError):  # the protocol's state after a lost connection
        return str(exc).startswith("cannot switch to state")
    if isinstance(exc, InterfaceError):
        return "closed" in str(exc)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        return isinstance(code, int) and code & 0xFF in _SQLITE_CODES
    if isinstance(exc, OperationalError):
        return not isinstance(exc.orig, sqlite3.Error)
    return isinstance(exc, OSError) and _through_driver(exc)


def classify(exc: BaseException) -> Fault | None:
    """The infrastructure fault behind `exc`, or None when it is not one."""
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, PoolTimeout):
            return Fault(type(link).__name__, _first_line(link), busy=True)
    # The driver's own error names the fault better than SQLAlchemy's wrapper: last first.
    for link in reversed(chain):
        if _is_fault(link):
            return Fault(type(link).__name__, _first_line(link))
    return None


def connection_lost(exc: BaseException | None) -> bool:
    """Whether `exc` is a fault of the connection itself (lost, refused, the server going
    away), not a busy pool or a statement the server cancelled on a connection still fit."""
    if exc is None:
        return False
    fault = classify(exc)
    if fault is None or fault.busy:
        return False
    return not any(getattr(link, "sqlstate", None) in _CONNECTION_KEPT for link in _chain(exc))


def _first_line(exc: BaseException) -> str:
    return str(exc).partition("\n")[0][:200]


class _Throttle:
    """When each kind of fault was last logged, and how many were not logged since."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}
        self.quiet: dict[str, int] = {}

    def due(self, kind: str) -> int | None:
        """The number not logged since the last warning, when one is due now; else None."""
        now = time.monotonic()
        last = self.last.get(kind)
        if last is not None and now - last < WARN_EVERY:
            self.quiet[kind] = self.quiet.get(kind, 0) + 1
            return None
        self.last[kind] = now
        return self.quiet.pop(kind, 0)


_throttle = _Throttle()


def report(fault: Fault) -> None:
    """Log the fault as one warning line, no traceback. During an outage every request meets
    the same fault: one line per kind every `WARN_EVERY` seconds says as much as thousands."""
    quiet = _throttle.due(fault.kind)
    if quiet is None:
        return
    logger.warning(
        "database %s: %s: %s (%d more since the last warning)",
        "busy" if fault.busy else "unavailable",
        fault.kind,
        fault.detail,
        quiet,
    )


def log_failure(log: logging.Logger, message: str, exc: BaseException) -> None:
    """For work that may fail without failing the request (purging expired idempotency
    keys, a background round): an infrastructure fault is reported as such, anything else is
    logged with its traceback on `log`."""
    fault = classify(exc)
    if fault is not None:
        report(fault)
    else:
        log.error(message, exc_info=exc)
