"""Structured logs (structlog): JSON lines in production, readable console output otherwise.

Every record, from structlog or from the standard library (uvicorn, SQLAlchemy, our own
`logging.getLogger(...)` calls), goes through the same processors: the request's context
variables (`request_id`, ...), a level, a UTC timestamp, and a scrubber that removes
credentials. Secrets never reach a log line: fields named like a secret are replaced, and
anything that looks like a JWT, an API key or an `Authorization` value is masked wherever
it appears (messages, exception text).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.types import EventDict, Processor

from conduit.core.config import Environment, Settings

REDACTED = "[redacted]"
_SECRET_FIELDS = re.compile(
    r"pass(word)?|secret|token|authorization|api[-_]?key|cookie|credential", re.IGNORECASE
)
_SECRET_VALUES = [
    # JWTs (three base64url segments, the first a JSON header).
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"),
    # Our API keys and opaque refresh / e-mail tokens are prefixed `cdt_` or long base64url.
    re.compile(r"\bcdt_[A-Za-z0-9_-]{8,}"),
    # An Authorization header value, whatever its scheme.
    re.compile(r"(?i)\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
]
_HANDLER_NAME = "conduit"


def scrub_text(text: str) -> str:
    for pattern in _SECRET_VALUES:
        text = pattern.sub(REDACTED, text)
    return text


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            k: REDACTED if _SECRET_FIELDS.search(str(k)) else _scrub_value(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


def scrub_secrets(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: drop secret-named fields, mask secret-looking values."""
    event_dict.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    for key in list(event_dict):
        if key != "event" and _SECRET_FIELDS.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub_value(event_dict[key])
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(json_lines: bool) -> list[Processor]:
    if json_lines:
        return [
            structlog.processors.format_exc_info,
            scrub_secrets,
            structlog.processors.JSONRenderer(),
        ]
    return [
        structlog.processors.format_exc_info,
        scrub_secrets,
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        ),
    ]


def formatter(json_lines: bool) -> logging.Formatter:
    """A stdlib formatter rendering any record the way our own log lines look."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(json_lines),
        ],
    )


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
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter(json_lines))
    root.addHandler(handler)
    level = logging.getLevelName(settings.log_level.upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)
    # uvicorn's own access log is replaced by ours (one line per request, with its id).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


def bind_request(values: MutableMapping[str, Any]) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**values)
