"""Log lines: the scrubber, the access line and the formatter's shortcut for structlog records
render exactly what structlog's own path renders."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import structlog

from conduit.core.config import Settings
from conduit.core.context import RequestContext, reset_context, set_context
from conduit.core.logging import (
    AccessLog,
    UTCStamp,
    configure_logging,
    formatter,
)
from conduit.core.scrubbing import scrub_secrets, scrub_text

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


@pytest.mark.parametrize(
    "nanos",
    [
        1_795_000_000_123_456_789,  # a fraction
        1_795_000_000_000_000_000,  # a whole second: no fraction, as isoformat
        1_795_000_000_000_000_999,  # under a microsecond: truncated, as datetime.now
        1_795_000_001_000_001_000,  # the next second: the cached part moves on
        1_798_761_599_999_999_999,  # the last microsecond of 2026
        1_798_761_600_000_000_000,  # midnight, New Year
    ],
)
def test_the_timestamp_is_the_one_structlog_writes(nanos: int) -> None:
    stamp = UTCStamp(clock=lambda: nanos)
    second, rest = divmod(nanos, 1_000_000_000)
    moment = datetime.fromtimestamp(second, UTC).replace(microsecond=rest // 1000)
    expected = moment.isoformat().replace("+00:00", "Z")  # structlog's iso, UTC stamper
    assert stamp() == expected
    assert stamp() == expected  # from the cached second


def test_the_timestamp_follows_the_clock() -> None:
    clock = iter([1_795_000_000_500_000_000, 1_795_000_000_900_000_000, 1_795_003_600_0])
    stamp = UTCStamp(clock=lambda: next(clock))
    assert [stamp(), stamp()] == ["2026-11-18T11:06:40.500000Z", "2026-11-18T11:06:40.900000Z"]
    assert stamp() == "1970-01-01T00:00:17.950036Z"  # any second, even backwards
    assert STAMP.fullmatch(UTCStamp()())


def test_scrub_text_masks_every_kind_of_secret() -> None:
    text = f"a {JWT} b cdt_abcdefghijkl c Bearer abcdefghijkl d"
    assert scrub_text(text) == "a [redacted] b [redacted] c [redacted] d"
    assert scrub_text("nothing secret here, token words only") == (
        "nothing secret here, token words only"
    )
    # Any case, as the pattern's (?i:...) matches (the quick look folds case first).
    assert scrub_text("BEARER abcdefghijkl / tOkEn abcdefghijkl") == "[redacted] / [redacted]"
    assert scrub_text("\u212aey \u0042a\u017fic abcdefghijkl") == "\u212aey [redacted]"


def test_only_the_fields_holding_a_secret_are_masked() -> None:
    event = {"event": "e", "a": "/plain", "b": f"x {JWT}", "c": 3, "d": "cdt_abcdefghijkl"}
    assert scrub_secrets(None, "info", dict(event)) == {
        **event,
        "b": "x [redacted]",
        "d": "[redacted]",
    }
    assert scrub_secrets(None, "info", {"a": "token", "b": "abcdefghijkl"})["b"] == "abcdefghijkl"


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


@contextmanager
def _others_set_aside() -> Iterator[None]:
    """Only our handler on the root logger, as in production: pytest's capture handlers
    (added around each test's call) are set aside meanwhile."""
    root = logging.getLogger()
    others = [h for h in root.handlers if h.get_name() != "conduit"]
    for handler in others:
        root.removeHandler(handler)
    try:
        yield
    finally:
        for handler in others:
            root.addHandler(handler)


@pytest.fixture(params=[True, False], ids=["json", "console"])
def own_handler_only(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[io.StringIO]:
    """Our handler (configure_logging's) writing into a buffer."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    database_url = "sqlite+aiosqlite:///unused.db"
    configure_logging(Settings(_env_file=None, database_url=database_url, log_json=request.param))
    token = set_context(RequestContext(request_id="req-7", client_ip="192.0.2.1"))
    try:
        yield stream
    finally:
        reset_context(token)


ODD_FIELDS = [
    {},  # the JWT in the path, as in _access
    {"path": '/api/caf\u00e9/"q"\\\t\u2028', "user_id": None, "duration_ms": 0.1 + 0.2},
    {"path": "/api/tags", "client_ip": "2001:db8::1", "status": 304, "duration_ms": 1e-05},
    {"path": "/x", "route": "Bearer abcdefghijkl", "method": "OTHER", "user_id": 10**12},
]
REQUEST_IDS = ["req-7", "cdt_abcdefghijklmnop", "a" * 32]


@pytest.mark.parametrize("changes", ODD_FIELDS)
@pytest.mark.parametrize("request_id", REQUEST_IDS)
def test_the_access_line_written_without_a_record_is_the_same_line(
    own_handler_only: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    changes: dict[str, object],
    request_id: str,
) -> None:
    made: list[logging.LogRecord] = []
    make_record = logging.Logger.makeRecord

    def counting(self: logging.Logger, *args: object, **kwargs: object) -> logging.LogRecord:
        made.append(record := make_record(self, *args, **kwargs))  # type: ignore[arg-type]
        return record

    monkeypatch.setattr(logging.Logger, "makeRecord", counting)
    fields = {**_access(), **changes}
    token = set_context(RequestContext(request_id=request_id, client_ip="192.0.2.1"))
    try:
        with _others_set_aside():
            structlog.stdlib.get_logger("conduit.access").info("request", **fields)
            assert len(made) == 1  # structlog's own path makes a record
            AccessLog().request(request_id=request_id, **fields)  # type: ignore[arg-type]
            assert len(made) == 1  # the access line did not
    finally:
        reset_context(token)
    via_structlog, direct = own_handler_only.getvalue().splitlines()
    assert STAMP.sub("T", direct) == STAMP.sub("T", via_structlog)
    assert JWT not in direct
    assert "cdt_abcdefghijklmnop" not in direct
    assert "abcdefghijkl" not in direct or "route" not in changes


def test_any_other_handler_or_filter_gets_the_access_record(
    own_handler_only: io.StringIO,
) -> None:
    seen: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    capture = Capture()
    access = logging.getLogger("conduit.access")
    with _others_set_aside():
        access.addHandler(capture)
        try:
            AccessLog().request(request_id="req-7", **_access())  # type: ignore[arg-type]
        finally:
            access.removeHandler(capture)
        assert [r.name for r in seen] == ["conduit.access"]
        access.addFilter(lambda record: False)
        try:
            AccessLog().request(request_id="req-7", **_access())  # type: ignore[arg-type]
        finally:
            access.filters.clear()
    # One line from the first call (our handler too, through the record); none filtered.
    assert len(own_handler_only.getvalue().splitlines()) == 1
