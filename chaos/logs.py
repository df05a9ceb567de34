"""The distinct warnings and errors the instances and HAProxy logged during one fault's
run, read from where each log file stood when the run began."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

_LEVELS = frozenset({"warning", "error", "critical", "exception"})
# HAProxy's httplog line: backend/server, timers, status, bytes, cookies, termination state.
_HTTPLOG = re.compile(
    r"\S+/(?P<server>\S+) \S+ (?P<status>-?\d+) \S+ \S+ \S+ (?P<flags>\S{4}) .*?"
    r'"(?P<method>[A-Z]+) (?P<path>\S+)'
)
_SLUG = re.compile(r"^(/api/articles/)[^/?]+")
_COUNT = re.compile(r"\(\d+ more")
_LONG_NUMBER = re.compile(r"\b\d{4,}\b")
_PID = re.compile(r"\(\d+\)")
# HAProxy prints its warnings on stderr too, beside the same line on its log target.
_STDERR_ECHO = re.compile(r"^\[(WARNING|NOTICE)\]")


def distinct_lines(offsets: Mapping[Path, int]) -> Counter[str]:
    """`file: line` keys, each line reduced to what repeats (no times, ids or counts)."""
    found: Counter[str] = Counter()
    for path, offset in offsets.items():
        if not path.exists():
            continue
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", errors="replace")
        for line in text.splitlines():
            key = _haproxy(line) if path.name.startswith("haproxy") else _conduit(line)
            if key:
                found[f"{path.name}: {key}"] += 1
    return found


def _conduit(line: str) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        stripped = line.strip()
        if "Traceback" in stripped or "Error" in stripped:
            return _normalise(stripped[:200])
        return None
    level = str(record.get("level", "")).lower()
    if level not in _LEVELS:
        return None
    text = f"{level} {record.get('logger', '-')}: {record.get('event', '')}"
    exception = record.get("exception")
    if isinstance(exception, str) and exception.strip():
        text += f" [{exception.strip().splitlines()[-1][:160]}]"
    return _normalise(text)


def _haproxy(line: str) -> str | None:
    match = _HTTPLOG.search(line)
    if match is None:
        if _STDERR_ECHO.match(line):
            return None
        stripped = line.strip().split(", check duration")[0]
        return _normalise(_PID.sub("(N)", stripped[:200])) if stripped else None
    if match["flags"] == "----":
        return None  # an answer the instance gave, counted with the requests already
    path = _SLUG.sub(r"\1{slug}", match["path"].split("?")[0])
    return f"{match['server']} {match['status']} {match['flags']} {match['method']} {path}"


def _normalise(text: str) -> str:
    return _LONG_NUMBER.sub("N", _COUNT.sub("(N more", text))
