"""Structured logs (structlog): JSON lines in production, readable console output otherwise.

Every record, from structlog or from the standard library (uvicorn, SQLAlchemy, our own
`logging.getLogger(...)` calls), goes through the same processors: the request's context
variables (`request_id`, ...), a level, a UTC timestamp, and a scrubber that removes
credentials (`core.scrubbing`): secrets never reach a log line.

The access line (one per request) is `core.access_log`'s.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor

from conduit.core.config import Environment, Settings
from conduit.core.context import current_context
from conduit.core.scrubbing import scrub_secrets

_HANDLER_NAME = "conduit"


def add_request_id(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: the id of the request being served (from the request context
    that the middleware sets), unless the line already has one."""
    if "request_id" not in event_dict:
        context = current_context()
        if context is not None:
            event_dict["request_id"] = context.request_id
    return event_dict


@functools.cache
def _encoder(default: Callable[[Any], Any]) -> json.JSONEncoder:
    return json.JSONEncoder(default=default)


def _json_dumps(value: Any, **options: Any) -> str:
    """`json.dumps(value, default=...)` as structlog's JSONRenderer calls it, with one encoder
    kept instead of a new one per line: the same text."""
    return _encoder(**options).encode(value)


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(json_lines: bool) -> list[Processor]:
    if json_lines:
        return [
            structlog.processors.format_exc_info,
            scrub_secrets,
            structlog.processors.JSONRenderer(serializer=_json_dumps),
        ]
    return [
        structlog.processors.format_exc_info,
        scrub_secrets,
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        ),
    ]


def formatter(json_lines: bool) -> structlog.stdlib.ProcessorFormatter:
    """A stdlib formatter rendering any record the way our own log lines look."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(json_lines),
        ],
    )


class Handler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs on the root logger: `formatter(json_lines)`
    on standard error. `core.access_log` writes the access line to its stream itself while
    it still has that formatter (`made_with`) and that renders JSON lines."""

    def __init__(self, json_lines: bool) -> None:
        super().__init__(sys.stderr)
        self.set_name(_HANDLER_NAME)
        self.json_lines = json_lines
        self.made_with = formatter(json_lines)
        self.setFormatter(self.made_with)


def configure_logging(settings: Settings) -> None:
    """Route all logging through structlog's processors. Safe to call more than once; it
    replaces only its own handler, so test harnesses keep theirs."""
    json_lines = (
        settings.log_json
        if settings.log_json is not None
        else settings.environment is Environment.PRODUCTION
    )
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(Handler(json_lines))
    level = logging.getLevelName(settings.log_level.upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    # uvicorn's own access log is replaced by ours (one line per request, with its id).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
