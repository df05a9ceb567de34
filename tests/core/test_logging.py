"""Log lines: the scrubber masks secrets, and every kind of line (structlog's, the standard
library's, with an exception) is scrubbed and carries the request id.
The access line: tests/core/test_access_log.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from conduit.core.config import Settings
from conduit.core.context import RequestContext, reset_context, set_context
from conduit.core.logging import configure_logging, formatter
from conduit.core.scrubbing import scrub_secrets, scrub_text

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


class _Lines(logging.Handler):
    """Each record, rendered by our formatter."""

    def __init__(self, json_lines: bool) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(formatter(json_lines))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


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


def test_every_kind_of_line_is_scrubbed_and_has_the_request_id(lines: _Lines) -> None:
    log = structlog.stdlib.get_logger("conduit.test")
    log.info("plain", n=1, f=0.5, flag=True, none=None, items=("cdt_abcdefghijkl", 2))
    log.warning("nested", data={"api_key": "k", "note": f"Token {JWT}"}, password="p")
    logging.getLogger("conduit.test").warning("stdlib %s", JWT, extra={"token": "t"})
    try:
        raise RuntimeError(f"boom {JWT}")
    except RuntimeError:
        log.exception("failed")
    assert len(lines.lines) == 4
    for line in lines.lines:
        assert JWT not in line
        assert "cdt_abcdefghijkl" not in line
        assert "req-7" in line
    assert "RuntimeError: boom [redacted]" in lines.lines[3]
