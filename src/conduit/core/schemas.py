"""The one base schema (camelCase aliases) and the constrained string types every schema uses."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PlainSerializer,
)
from pydantic.alias_generators import to_camel
from pydantic_core import CoreSchema, PydanticCustomError


class CamelModel(BaseModel):
    """Base of every request and response schema: camelCase on the wire."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        str_strip_whitespace=False,
    )


def clean_text(value: str) -> str:
    """Refuse what no database column can hold: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise PydanticCustomError(
            "value_error",
            "must not contain NUL characters",
            {"reason": "must not contain NUL characters"},
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "value_error", "must be valid UTF-8", {"reason": "must be valid UTF-8"}
        ) from None
    return value


def not_blank(value: str) -> str:
    """For text kept verbatim (not stripped): whitespace alone counts as blank."""
    if not value.strip():
        raise PydanticCustomError("value_error", "can't be blank", {"reason": "can't be blank"})
    return clean_text(value)


def decimal_text(pattern: str) -> Callable[[object], object]:
    """A validator: a decimal sent as a string of the shape `pattern` (exact, where a JSON
    number would go through a float), as a `Decimal`."""
    shape = re.compile(pattern)

    def check(value: object) -> object:
        if not isinstance(value, str) or not shape.match(value):
            raise PydanticCustomError(
                "decimal_text",
                "must be a decimal number in a string of the form {pattern}",
                {"pattern": pattern},
            )
        return Decimal(value)

    return check


def in_utc(value: datetime) -> datetime:
    """An aware time moved to UTC; one that UTC cannot hold (at the edges of year 1 and year
    9999) is refused."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "is out of range") from None


def text_only(value: object) -> object:
    """For a value JSON sends as a string (a date, a time, a UUID): no number stands for it."""
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    return value


def not_null(value: object) -> object:
    """For a field that may be left out but not cleared (a PATCH of a required field)."""
    if value is None:
        raise PydanticCustomError("value_error", "can't be null", {"reason": "can't be null"})
    return value


def _without_null(schema: dict[str, Any]) -> None:
    variants = schema.pop("anyOf", None)
    if variants:
        schema.update(next(v for v in variants if v.get("type") != "null"))


# On an `X | None = None` field with `not_null`: the schema shows X alone, since null is
# refused; the field may still be left out.
NOT_NULLABLE = Field(json_schema_extra=_without_null)


def json_integer(value: object) -> object:
    """An integer as JSON Schema counts one: 7 or 7.0, never true, 7.5 or "7"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise PydanticCustomError(
                "int_from_float", "Input should be a valid integer, got a fractional number"
            )
        return int(value)
    return value


# --- the same rules, for the OpenAPI document -------------------------------------------
# Blank is what `str.strip()` removes. The characters are spelled out because `\s` means
# different sets in Python and in the ECMA-262 patterns of JSON Schema.
BLANK_CHARS = "".join(f"\\u{code:04x}" for code in range(0x3001) if chr(code).isspace())
NO_NUL_PATTERN = r"^[^\x00]*$"
NOT_BLANK_PATTERN = rf"^[^\x00]*[^\x00{BLANK_CHARS}][^\x00]*$"


@dataclass(frozen=True, slots=True)
class SchemaPattern:
    """Annotation: a `pattern` for the JSON Schema of a string whose rules a validator
    enforces (with its own error message); a pattern declared with the field wins."""

    pattern: str

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        json_schema: dict[str, Any] = handler(schema)
        json_schema.setdefault("pattern", self.pattern)
        return json_schema


def raw_max_length(limit: int) -> BeforeValidator:
    """For a field stripped before its length is checked: the length as sent counts too,
    as the schema's `maxLength` says (`" " * 10 + 254 characters` is not a valid e-mail)."""

    def check(value: object) -> object:
        if isinstance(value, str) and len(value) > limit:
            raise PydanticCustomError(
                "string_too_long",
                "String should have at most {max_length} characters",
                {"max_length": limit},
            )
        return value

    return BeforeValidator(check)


TEXT = SchemaPattern(NO_NUL_PATTERN)  # what `clean_text` lets through
FILLED = SchemaPattern(NOT_BLANK_PATTERN)  # ... and not blank: `not_blank`, or stripped to 1+


def iso_millis(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds (truncated) and a ``Z``: ``2026-01-02T03:04:05.678Z``.

    Also what the read paths that render JSON themselves use, so the two cannot differ."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="milliseconds")[:23] + "Z"


Timestamp = Annotated[datetime, PlainSerializer(iso_millis, return_type=str, when_used="json")]
