"""Parsing a spec from the command line: `NAME [FIELD ...]`.

A field is `name:type[:arg]{:modifier}`, for example `due:date:optional:sort` or
`priority:enum:low,normal,high:default=normal`. Every problem is collected, so that one run
lists them all; a spec that parses is valid on its own (the checks against the tree are in
`scaffold.tree`).
"""

from __future__ import annotations

from conduit.scaffold.spec import (
    ENUM_VALUE,
    FLAGS,
    INT_MAX,
    INT_MIN,
    NAME_MAX,
    NUMERIC,
    SIZED,
    SNAKE,
    STR_MAX,
    TEXT_CEILING,
    TYPES,
    WITH_ARG,
    Field,
    Resource,
    SpecError,
    plural_of,
)
from conduit.scaffold.values import as_number, bounds, default_error
from conduit.scaffold.words import RESERVED_FIELDS, SQL_RESERVED, looks_secret, python_reserved


def _check_name(what: str, name: str, problems: list[str]) -> None:
    if not SNAKE.fullmatch(name):
        problems.append(f"{what} {name!r}: use snake_case (a-z, 0-9, single underscores)")
    elif len(name) > NAME_MAX:
        problems.append(f"{what} {name!r}: at most {NAME_MAX} characters")
    if python_reserved(name):
        problems.append(f"{what} {name!r}: a Python keyword")
    if name in SQL_RESERVED:
        problems.append(f"{what} {name!r}: an SQL reserved word")


def parse_field(text: str, problems: list[str]) -> Field | None:
    """One FIELD, or None with the reasons added to `problems`."""
    start = len(problems)
    name, _, rest = text.partition(":")
    parts = rest.split(":") if rest else []
    if not parts or not parts[0]:
        problems.append(f"field {text!r}: give a type, as in {name or 'title'}:str")
        return None
    type_ = parts.pop(0)
    _check_name("field", name, problems)
    if name in RESERVED_FIELDS:
        problems.append(f"field {name!r}: reserved (every resource has it, or the schemas do)")
    if looks_secret(name):
        problems.append(f"field {name!r}: looks like a secret, which must not be kept in clear")
    if type_ not in TYPES:
        problems.append(f"field {name!r}: unknown type {type_!r} (one of {', '.join(TYPES)})")
        return None
    arg: tuple[str, ...] = ()
    if type_ in WITH_ARG:
        if not parts or "=" in parts[0] or parts[0] in FLAGS or parts[0] == "unique":
            problems.append(f"field {name!r}: {type_} needs its argument, as in {_EXAMPLE[type_]}")
            return None
        arg = tuple(parts.pop(0).split(","))
    values: dict[str, object] = {}
    for modifier in parts:
        key, eq, value = modifier.partition("=")
        known = key in FLAGS or key in ("unique", "min", "max", "default")
        if not known or (key in FLAGS and eq) or (key in ("min", "max", "default") and not eq):
            problems.append(f"field {name!r}: unknown modifier {modifier!r}")
            continue
        if key in values:
            problems.append(f"field {name!r}: modifier {key!r} given twice")
            continue
        if key == "unique":
            if eq and value != "global":
                problems.append(f"field {name!r}: unique takes no value but 'global'")
                continue
            values[key] = "global" if eq else "owner"
        else:
            values[key] = True if key in FLAGS else value
    found = Field(name, type_, arg, **values)  # type: ignore[arg-type]
    _check_field(found, problems)
    return found if len(problems) == start else None


_EXAMPLE = {
    "decimal": "price:decimal:10,2",
    "enum": "status:enum:open,closed",
    "ref": "project:ref:projects",
}


def _check_field(f: Field, problems: list[str]) -> None:
    where = f"field {f.name!r}"
    distinct = len(set(f.arg)) == len(f.arg)
    if f.type == "enum" and (not distinct or not all(ENUM_VALUE.fullmatch(v) for v in f.arg)):
        problems.append(f"{where}: enum values are distinct lower-case words: {f.arg}")
    if f.type == "decimal":
        if len(f.arg) != 2 or not all(a.isdigit() for a in f.arg):
            problems.append(f"{where}: decimal takes PRECISION,SCALE, as in decimal:10,2")
        elif not (1 <= int(f.arg[0]) <= 38 and 0 <= int(f.arg[1]) <= int(f.arg[0])):
            problems.append(f"{where}: decimal needs 1 <= precision <= 38, 0 <= scale <= precision")
    if f.type == "ref" and (len(f.arg) != 1 or not SNAKE.fullmatch(f.arg[0])):
        problems.append(f"{where}: ref names one resource's plural, as in ref:projects")
    bounded = f.type in SIZED | NUMERIC
    for key in ("min", "max"):
        raw = getattr(f, key)
        if raw is None:
            continue
        if not bounded:
            problems.append(f"{where}: {key} applies to strings and numbers, not {f.type}")
            continue
        try:
            number = int(raw) if f.type in SIZED else as_number(f.type, raw)
        except ValueError:
            problems.append(f"{where}: {key}={raw} is not a number for {f.type}")
            continue
        if f.type in SIZED and number < (0 if key == "min" else 1):
            problems.append(f"{where}: {key}={raw} is out of range")
    low, high = bounds(f)
    if low is not None and high is not None and low > high:
        problems.append(f"{where}: min is above max")
    if f.type == "str" and high is not None and high > STR_MAX:
        problems.append(f"{where}: str holds at most {STR_MAX} characters; use text")
    if f.type == "text" and high is not None and high > TEXT_CEILING:
        problems.append(f"{where}: text holds at most {TEXT_CEILING} characters")
    if f.type == "int" and (
        (low is not None and low < INT_MIN) or (high is not None and high > INT_MAX)
    ):
        problems.append(f"{where}: int bounds must lie within a 32-bit integer")
    if f.unique and f.type in {"text", "bool", "float"}:
        problems.append(f"{where}: a {f.type} cannot be unique")
    if (f.sort or f.filter or f.index) and f.type == "text":
        problems.append(f"{where}: a text field cannot be sorted, filtered or indexed; use str")
    if f.default is not None:
        if f.type in {"ref", "uuid", "datetime", "text"}:
            problems.append(f"{where}: a {f.type} takes no default")
        else:
            error = default_error(f)
            if error:
                problems.append(f"{where}: default={f.default} {error}")


def parse(
    name: str,
    fields: list[str],
    *,
    plural: str | None = None,
    visibility: str = "private",
    owner: bool = True,
    soft_delete: bool = False,
) -> Resource:
    """The resource, or SpecError listing every problem."""
    problems: list[str] = []
    _check_name("name", name, problems)
    plural = plural or plural_of(name)
    _check_name("plural", plural, problems)
    if plural == name:
        problems.append(f"plural {plural!r}: must differ from the name")
    if visibility not in ("private", "public"):
        problems.append(f"visibility {visibility!r}: private or public")
    if not owner and visibility == "private":
        problems.append("--no-owner items belong to no one, so they cannot be private")
    parsed = [parse_field(text, problems) for text in fields]
    seen: set[str] = set()
    for f in parsed:
        if f is None:
            continue
        for column in {f.name, f.column}:
            if column in seen:
                problems.append(f"field {f.name!r}: named twice")
            seen.add(column)
        if f.unique == "owner" and not owner:
            problems.append(f"field {f.name!r}: unique per owner needs an owner; unique=global")
    if not fields:
        problems.append("give at least one field, as in title:str")
    if problems:
        raise SpecError(problems)
    return Resource(
        name,
        plural,
        tuple(f for f in parsed if f is not None),
        visibility,
        owner,
        soft_delete,
    )
