"""What a field's type and modifiers allow: its bounds, whether a default fits, and a
valid value for examples."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from conduit.scaffold.spec import (
    EMAIL_MAX,
    FLOAT_LIMIT,
    INT_MAX,
    INT_MIN,
    NUMERIC,
    SIZED,
    STR_MAX,
    TEXT_MAX,
    URL_MAX,
    Field,
)


def as_number(kind: str, value: str) -> int | float | Decimal:
    if kind == "int":
        return int(value)
    if kind == "float":
        number = float(value)
        if number != number or abs(number) == float("inf"):
            raise ValueError(value)
        return number
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError(value) from None


def bounds(f: Field) -> tuple[int | float | Decimal | None, int | float | Decimal | None]:
    """(min, max): lengths for strings, values for numbers; the type's defaults included."""
    try:
        if f.type in SIZED:
            ceiling = {"str": STR_MAX, "text": TEXT_MAX, "email": EMAIL_MAX, "url": URL_MAX}
            low = int(f.min) if f.min is not None else (None if f.optional else 1)
            return low, int(f.max) if f.max is not None else ceiling[f.type]
        if f.type in NUMERIC:
            low_n = as_number(f.type, f.min) if f.min is not None else None
            high_n = as_number(f.type, f.max) if f.max is not None else None
            if f.type == "int":
                return (INT_MIN if low_n is None else low_n), (
                    INT_MAX if high_n is None else high_n
                )
            if f.type == "float":
                low_n = -FLOAT_LIMIT if low_n is None else low_n
                return low_n, FLOAT_LIMIT if high_n is None else high_n
            return low_n, high_n
    except ValueError:
        pass
    return None, None


def default_error(f: Field) -> str | None:
    """Why the field's default does not fit it, or None when it does."""
    value = f.default
    assert value is not None
    try:
        if f.type == "bool":
            return None if value in ("true", "false") else "is not true or false"
        if f.type == "enum":
            return None if value in f.arg else f"is not one of {', '.join(f.arg)}"
        if f.type == "date":
            date.fromisoformat(value)
            return None
        if f.type in NUMERIC:
            number = as_number(f.type, value)
            low, high = bounds(f)
            if (low is not None and number < low) or (high is not None and number > high):
                return "is out of the field's bounds"
            return None
        if f.type in SIZED:
            low, high = bounds(f)
            if (low and len(value) < low) or (high and len(value) > high):
                return "does not fit the field's length"
            if f.type == "email" and "@" not in value:
                return "is not an e-mail address"
            if f.type == "url" and not value.startswith(("http://", "https://")):
                return "is not an http(s) URL"
            return None
    except ValueError:
        return f"is not a valid {f.type}"
    return None  # pragma: no cover - every type with a default is handled above


def example_value(f: Field) -> object:
    """A valid value for examples and tests, deterministic."""
    low, high = bounds(f)
    if f.default is not None and f.type not in NUMERIC | {"bool"}:
        return f.default
    match f.type:
        case "str" | "text":
            base = f"{f.name.replace('_', ' ')} one"
            size = max(len(base), int(low or 1))
            return (base * (size // len(base) + 1))[: min(size, int(high or size))]
        case "int":
            return int(max(low or 0, min(high if high is not None else 7, 7)))
        case "float":
            return float(max(low or 0, min(high if high is not None else 2.5, 2.5)))
        case "decimal":
            scale = int(f.arg[1])
            return str(Decimal(1).scaleb(-scale) if scale else Decimal(1))
        case "bool":
            return f.default != "true"
        case "date":
            return "2026-01-02"
        case "datetime":
            return "2026-01-02T03:04:05.678Z"
        case "uuid":
            return str(uuid.UUID(int=1))
        case "email":
            return "someone@example.com"
        case "url":
            return "https://example.com/a"
        case "enum":
            return f.arg[-1]
    raise AssertionError(f.type)  # pragma: no cover - a ref has no literal example
