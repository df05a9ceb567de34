"""Log lines: the scrubber, the access line and the formatter's shortcut for structlog records
render exactly what structlog's own path renders."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import pytest
import structlog

from conduit.core.config import Settings
from conduit.core.context import RequestContext, reset_context, set_context
from conduit.core.logging import AccessLog, configure_logging, formatter, scrub_text

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+Z")
FIELDS = ("method", "route", "path", "status", "duration_ms", "user_id", "client_ip")


class _Lines(logging.Handler):
    """Each record rendered twice: by our formatter and by structlog's ProcessorFormatter."""

    def __init__(self, json_lines: bool) -> None:
        super().__init__(level=logging.DEBUG)
        self.json_lines = json_lines
        self.setFormatter(formatter(json_lines))
        self.reference = structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=self.formatter.foreign_pre_chain,  # type: ignore[union-attr]
            processors=self.formatter.processors,  # type: ignore[union-attr]
        )
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((self.format(record), self.reference.format(record)))


@pytest.fixture(params=[True, False], ids=["json", "console"])
def lines(request: pytest.FixtureRequest) -> Iterator[_Lines]:
    settings = Settings(
        _env_file=None,
        database_url="sqlite+aiosqlite:///unused.db",
        log_json=request.param,
    )
    configure_logging(settings)
    handler = _Lines(json_lines=request.param)
    logging.getLogger().addHandler(handler)
    token = set_context(RequestContext(request_id="req-7", client_ip="192.0.2.1"))
    try:
        yield handler
    finally:
        reset_context(token)
        logging.getLogger().removeHandler(handler)


def _access(user_id: int | None = 3) -> dict[str, object]:
    return {
        "method": "GET",
        "route": "/api/articles/{slug}",
        "path": f"/api/articles/{JWT}",
        "status": 200,
        "duration_ms": 1.25,
        "user_id": user_id,
        "client_ip": "192.0.2.1",
    }


def test_scrub_text_masks_every_kind_of_secret() -> None:
    text = f"a {JWT} b cdt_abcdefghijkl c Bearer abcdefghijkl d"
    assert scrub_text(text) == "a [redacted] b [redacted] c [redacted] d"
    assert scrub_text("nothing secret here, token words only") == (
        "nothing secret here, token words only"
    )


def test_the_access_line_is_the_one_structlog_renders(lines: _Lines) -> None:
    fields = _access()
    structlog.stdlib.get_logger("conduit.access").info("request", **fields)
    AccessLog().request(request_id="req-7", **fields)  # type: ignore[arg-type]
    (via_structlog, _), (direct, _) = lines.lines
    assert STAMP.sub("T", direct) == STAMP.sub("T", via_structlog)
    assert JWT not in direct
    if lines.json_lines:
        line = json.loads(direct)
        assert list(line) == [
            *FIELDS,
            "event",
            "request_id",
            "level",
            "logger",
            "timestamp",
        ]
        assert line["path"] == "/api/articles/[redacted]"
        assert line["request_id"] == "req-7"


def test_the_shortcut_renders_as_the_processor_formatter(lines: _Lines) -> None:
    log = structlog.stdlib.get_logger("conduit.test")
    log.info("plain", n=1, f=0.5, flag=True, none=None, items=("cdt_abcdefghijkl", 2))
    log.warning("nested", data={"api_key": "k", "note": f"Token {JWT}"}, password="p")
    logging.getLogger("conduit.test").warning("stdlib %s", JWT, extra={"token": "t"})
    try:
        raise RuntimeError(f"boom {JWT}")
    except RuntimeError:
        log.exception("failed")
    assert len(lines.lines) == 4
    for ours, reference in lines.lines:
        assert STAMP.sub("T", ours) == STAMP.sub("T", reference)
        assert JWT not in ours
        assert "cdt_abcdefghijkl" not in ours
        assert "req-7" in ours


def test_the_access_log_respects_the_level(lines: _Lines) -> None:
    logging.getLogger("conduit.access").setLevel(logging.WARNING)
    try:
        AccessLog().request(request_id="req-7", **_access(None))  # type: ignore[arg-type]
    finally:
        logging.getLogger("conduit.access").setLevel(logging.NOTSET)
    assert lines.lines == []
