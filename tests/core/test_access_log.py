"""The access line: structlog's own line, whichever way it is written. Alone with our JSON
handler it is built as one string without a record; any other handler, filter or set-up gets
structlog's record, with the same text."""

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

from conduit.core.access_log import ACCESS_LOGGER, AccessLog, UTCStamp
from conduit.core.config import Settings
from conduit.core.context import RequestContext, reset_context, set_context
from conduit.core.logging import Handler, configure_logging, formatter
from conduit.core.scrubbing import scrub_text

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+Z")
FIELDS = ("method", "route", "path", "status", "duration_ms", "user_id", "client_ip")


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


def _request(**changes: object) -> None:
    AccessLog().request(**{**_access(), **changes})  # type: ignore[arg-type]


def _same(first: str, second: str) -> bool:
    """The same line, but for the timestamps."""
    return STAMP.sub("T", first) == STAMP.sub("T", second)


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
    """Our handler (configure_logging's) writing into a buffer, within a request (id req-7).
    pytest adds its capture handlers around each test's call: a test sets them aside."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    database_url = "sqlite+aiosqlite:///unused.db"
    configure_logging(Settings(_env_file=None, database_url=database_url, log_json=request.param))
    token = set_context(RequestContext(request_id="req-7", client_ip="192.0.2.1"))
    try:
        yield stream
    finally:
        reset_context(token)


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> list[logging.LogRecord]:
    """The log records made from here on."""
    made: list[logging.LogRecord] = []
    make_record = logging.Logger.makeRecord

    def counting(self: logging.Logger, *args: object, **kwargs: object) -> logging.LogRecord:
        made.append(record := make_record(self, *args, **kwargs))  # type: ignore[arg-type]
        return record

    monkeypatch.setattr(logging.Logger, "makeRecord", counting)
    return made


class _Capture(logging.Handler):
    """Another handler (a user's, a test's), rendering with our formatter."""

    def __init__(self, json_lines: bool) -> None:
        super().__init__()
        self.setFormatter(formatter(json_lines))
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


ODD_FIELDS = [
    {},  # the JWT in the path, as in _access
    {"path": '/api/caf\u00e9/"q"\\\t\u2028', "user_id": None, "duration_ms": 0.1 + 0.2},
    {"path": "/api/tags", "client_ip": "2001:db8::1", "status": 304, "duration_ms": 1e-05},
    {"path": "/x", "route": "Bearer abcdefghijkl", "method": "OTHER", "user_id": 10**12},
]
REQUEST_IDS = ["req-7", "cdt_abcdefghijklmnop", "a" * 32]


def _ours() -> Handler:
    (handler,) = [h for h in logging.getLogger().handlers if isinstance(h, Handler)]
    return handler


@pytest.mark.parametrize("changes", ODD_FIELDS)
@pytest.mark.parametrize("request_id", REQUEST_IDS)
def test_the_access_line_is_the_line_structlog_writes(
    own_handler_only: io.StringIO,
    records: list[logging.LogRecord],
    changes: dict[str, object],
    request_id: str,
) -> None:
    fields = {**_access(), **changes}
    token = set_context(RequestContext(request_id=request_id, client_ip="192.0.2.1"))
    try:
        with _others_set_aside():
            structlog.stdlib.get_logger(ACCESS_LOGGER).info("request", **fields)
            assert len(records) == 1  # structlog's own path makes a record
            AccessLog().request(**fields)  # type: ignore[arg-type]
    finally:
        reset_context(token)
    # JSON lines: written without a record; console lines: structlog's own path.
    assert len(records) == (1 if _ours().json_lines else 2)
    via_structlog, access = own_handler_only.getvalue().splitlines()
    assert _same(access, via_structlog)
    assert JWT not in access
    assert "cdt_abcdefghijklmnop" not in access
    assert "abcdefghijkl" not in access or "route" not in changes
    if _ours().json_lines:
        line = json.loads(access)
        assert list(line) == [*FIELDS, "event", "request_id", "level", "logger", "timestamp"]
        assert line["request_id"] == scrub_text(request_id)
        assert line["logger"] == ACCESS_LOGGER


@contextmanager
def _added(logger: str, handler: logging.Handler) -> Iterator[None]:
    logging.getLogger(logger).addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger(logger).removeHandler(handler)


@pytest.mark.parametrize("where", [ACCESS_LOGGER, "conduit", ""], ids=["access", "conduit", "root"])
def test_another_handler_gets_structlogs_record_with_the_same_line(
    own_handler_only: io.StringIO, records: list[logging.LogRecord], where: str
) -> None:
    capture = _Capture(_ours().json_lines)
    with _others_set_aside():
        _request()  # our handler alone
        with _added(where, capture):
            _request()
    alone, with_another = own_handler_only.getvalue().splitlines()
    assert _same(with_another, alone)
    assert len(capture.lines) == 1
    assert _same(capture.lines[0], alone)
    (record,) = capture.records
    assert record.name == ACCESS_LOGGER
    assert isinstance(record.msg, dict)  # structlog's event dict, as for any structlog line
    assert record.msg["request_id"] == "req-7"
    assert record.msg["path"] == f"/api/articles/{JWT}"  # scrubbed when rendered
    assert records[-1] is record


def test_pytests_caplog_gets_the_access_record(
    own_handler_only: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    _request(user_id=None)  # pytest's handlers in place, as in any test
    (record,) = [r for r in caplog.records if r.name == ACCESS_LOGGER]
    assert isinstance(record.msg, dict)
    assert {key: record.msg[key] for key in FIELDS} == _access(None)
    assert len(own_handler_only.getvalue().splitlines()) == 1


def test_a_filter_on_the_access_logger_suppresses_the_line(
    own_handler_only: io.StringIO,
) -> None:
    capture = _Capture(_ours().json_lines)
    access = logging.getLogger(ACCESS_LOGGER)
    with _others_set_aside():
        access.addFilter(lambda record: False)
        try:
            with _added("", capture):
                _request()
            _request()  # our handler alone, but filtered
        finally:
            access.filters.clear()
        assert capture.lines == []
        assert own_handler_only.getvalue() == ""
        _request()
    assert len(own_handler_only.getvalue().splitlines()) == 1


def test_what_our_handler_would_not_write_it_does_not(own_handler_only: io.StringIO) -> None:
    handler, access = _ours(), logging.getLogger(ACCESS_LOGGER)
    with _others_set_aside():
        handler.addFilter(lambda record: False)
        try:
            _request()
        finally:
            handler.filters.clear()
        for where, level in [(handler, logging.WARNING), (access, logging.WARNING)]:
            where.setLevel(level)
            try:
                _request()
            finally:
                where.setLevel(logging.NOTSET)
        for attribute, value in [("propagate", False), ("disabled", True)]:
            setattr(access, attribute, value)
            try:
                _request()
            finally:
                setattr(access, attribute, not value)
        assert own_handler_only.getvalue() == ""
        _request()
    assert len(own_handler_only.getvalue().splitlines()) == 1


def test_another_formatter_on_our_handler_is_used(own_handler_only: io.StringIO) -> None:
    handler = _ours()
    json_lines = handler.json_lines
    with _others_set_aside():
        handler.setFormatter(formatter(not json_lines))
        try:
            _request()
        finally:
            handler.setFormatter(handler.made_with)
    (line,) = own_handler_only.getvalue().splitlines()
    assert line.startswith("{") is not json_lines
    assert ("request_id=req-7" if json_lines else '"request_id": "req-7"') in line


def test_outside_a_request_the_line_has_no_request_id(
    own_handler_only: io.StringIO, records: list[logging.LogRecord]
) -> None:
    token = set_context(None)
    try:
        with _others_set_aside():
            structlog.stdlib.get_logger(ACCESS_LOGGER).info("request", **_access())
            _request()
    finally:
        reset_context(token)
    via_structlog, access = own_handler_only.getvalue().splitlines()
    assert _same(access, via_structlog)
    assert "request_id" not in access
    assert len(records) == 2
