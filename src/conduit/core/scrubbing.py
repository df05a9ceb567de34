"""Secrets out of log lines: fields named like a secret are replaced, and anything that looks
like a JWT, an API key or an `Authorization` value is masked wherever it appears (messages,
exception text). `scrub_secrets` is the structlog processor every line goes through
(`core.logging`); `scrub_text` masks one string.
"""

from __future__ import annotations

import re
from typing import Any

from structlog.types import EventDict

REDACTED = "[redacted]"
_SECRET_FIELDS = re.compile(
    r"pass(word)?|secret|token|authorization|api[-_]?key|cookie|credential", re.IGNORECASE
)
_SECRET_VALUE_PATTERNS = (
    # JWTs (three base64url segments, the first a JSON header).
    r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}",
    # Our API keys and opaque refresh / e-mail tokens are prefixed `cdt_` or long base64url.
    r"\bcdt_[A-Za-z0-9_-]{8,}",
    # An Authorization header value, whatever its scheme.
    r"(?i:\b(Token|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,})",
)
_SECRET_VALUES = [re.compile(pattern) for pattern in _SECRET_VALUE_PATTERNS]
# Any of them, in one pass: most text holds none, and is then left as it is.
_ANY_SECRET_VALUE = re.compile("|".join(f"(?:{p})" for p in _SECRET_VALUE_PATTERNS))


# Text that holds none of these (case folded) holds no secret value: what every pattern
# above must contain, checked far faster than the patterns themselves.
_SECRET_MARKERS = ("eyj", "cdt_", "token", "bearer", "basic")


def may_hold_secret(text: str) -> bool:
    folded = text.casefold()
    return any(marker in folded for marker in _SECRET_MARKERS)


def scrub_text(text: str) -> str:
    if not may_hold_secret(text) or _ANY_SECRET_VALUE.search(text) is None:
        return text
    for pattern in _SECRET_VALUES:
        text = pattern.sub(REDACTED, text)
    return text


_FIELD_NAMES: dict[str, bool] = {}  # field name -> whether it names a secret


def _secret_field(name: str) -> bool:
    """Whether a field of this name holds a secret (names repeat: the answer is kept)."""
    secret = _FIELD_NAMES.get(name)
    if secret is None:
        if len(_FIELD_NAMES) >= 4096:
            _FIELD_NAMES.clear()
        secret = _FIELD_NAMES[name] = _SECRET_FIELDS.search(name) is not None
    return secret


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if _secret_field(str(k)) else _scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_value(v) for v in value]
    return value


def scrub_secrets(_: Any, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: drop secret-named fields, mask secret-looking values."""
    event_dict.pop("color_message", None)  # uvicorn's ANSI-coloured copy of the message
    texts: list[str] = []
    names = _FIELD_NAMES
    for key, value in event_dict.items():  # values replaced in place: no key added
        secret = names.get(key)  # `_secret_field`, its lookup inlined: this runs per line
        if (secret if secret is not None else _secret_field(key)) and key != "event":
            event_dict[key] = REDACTED
        elif isinstance(value, str):
            texts.append(key)
        elif isinstance(value, (dict, list, tuple)):  # a tuple: faster than a union
            event_dict[key] = _scrub_value(value)
    # One look over all the text fields, joined by NUL (which no pattern matches, nor
    # spans): a secret in any field shows in the joined text. Most lines hold none.
    if texts and may_hold_secret("\0".join([event_dict[k] for k in texts])):
        for key in texts:
            event_dict[key] = scrub_text(event_dict[key])
    return event_dict
