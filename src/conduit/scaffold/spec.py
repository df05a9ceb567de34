"""A resource's spec, normalised: its name, its fields and its options (parsed from the
command line by `scaffold.parse`), and the limits every type has."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

TYPES = (
    *("str", "text", "int", "float", "decimal", "bool", "date", "datetime", "uuid"),
    *("email", "url", "enum", "ref"),
)
WITH_ARG = {"decimal", "enum", "ref"}
SIZED = {"str", "text", "email", "url"}  # min/max are lengths
NUMERIC = {"int", "float", "decimal"}  # min/max are values
FLAGS = ("optional", "index", "filter", "sort")
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
ENUM_VALUE = re.compile(r"[a-z0-9][a-z0-9_-]*")

STR_MAX = 255  # the default, and the most, for `str`
TEXT_MAX = 10_000  # the default for `text`
TEXT_CEILING = 100_000
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # a 32-bit column
FLOAT_LIMIT = 1e15
EMAIL_MAX, URL_MAX = 254, 2048
NAME_MAX = 28  # `Domain("<plural>", ..., scope="<plural>:write"),` fits a line


class SpecError(Exception):
    """Every problem found, at once."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str
    arg: tuple[str, ...] = ()  # enum values; decimal precision and scale; ref's plural
    optional: bool = False
    unique: str | None = None  # "owner" (per owner) or "global"
    index: bool = False
    filter: bool = False
    sort: bool = False
    min: str | None = None  # as written, checked against the type
    max: str | None = None
    default: str | None = None

    @property
    def column(self) -> str:
        """The column (and Python attribute): a ref's is `<name>_id`."""
        return f"{self.name}_id" if self.type == "ref" else self.name

    def text(self) -> str:
        """The normalised `name:type[:arg]{:modifier}`, modifiers in one order."""
        parts = [self.name, self.type]
        if self.arg:
            parts.append(",".join(self.arg))
        parts += [flag for flag in FLAGS if getattr(self, flag)]
        if self.unique == "owner":
            parts.append("unique")
        elif self.unique == "global":
            parts.append("unique=global")
        for key in ("min", "max", "default"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={value}")
        return ":".join(parts)


@dataclass(frozen=True, slots=True)
class Resource:
    name: str
    plural: str
    fields: tuple[Field, ...] = field(default_factory=tuple)
    visibility: str = "private"  # or "public"
    owner: bool = True
    soft_delete: bool = False

    @property
    def refs(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.type == "ref")


def plural_of(name: str) -> str:
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", name):
        return name + "es"
    return name + "s"
