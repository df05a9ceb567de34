"""The data the generated tests run on, worked out from the spec: three valid bodies whose
unique values differ, and each field's bad values."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from conduit.scaffold.code import camel
from conduit.scaffold.spec import Field, Resource
from conduit.scaffold.values import bounds, example_value

# For each resource a generated one refers to: valid create bodies, and whether only admins
# may create them.
Parents = dict[str, tuple[list[dict[str, Any]], bool]]


def _value(f: Field, n: int) -> Any:
    """The n-th (0, 1, 2) valid value of a field: distinct for every n where the type allows."""
    low, high = bounds(f)
    match f.type:
        case "str" | "text":
            lo, hi = int(low or 1), int(high or 10)
            core = f"{f.name[:8]}{n}"
            if len(core) > hi:
                core = (str(n) * hi)[:hi]
            return core + "x" * max(0, lo - len(core))
        case "int":
            lo, hi = int(low if low is not None else 0), int(high if high is not None else 100)
            return lo + n % (hi - lo + 1)
        case "float":
            flo, fhi = (
                float(low if low is not None else 0.0),
                float(high if high is not None else 4.0),
            )
            return flo + (fhi - flo) * n / 4
        case "decimal":
            scale = int(f.arg[1])
            step = Decimal(1).scaleb(-scale)
            dlo = Decimal(str(low)) if low is not None else Decimal(0)
            dhi = Decimal(str(high)) if high is not None else dlo + step * 10
            return str(min(dhi, dlo + step * n).quantize(step))
        case "bool":
            return n % 2 == 1
        case "date":
            return (date(2026, 1, 1) + timedelta(days=n)).isoformat()
        case "datetime":
            return f"2026-01-0{n + 1}T03:04:05.678Z"
        case "uuid":
            return f"00000000-0000-0000-0000-00000000000{n + 1}"
        case "email":
            return f"someone{n}@example.com"
        case "url":
            return f"https://example.com/{n}"
        case "enum":
            return f.arg[n % len(f.arg)]
    return example_value(f)  # pragma: no cover


def bodies(resource: Resource, count: int = 3) -> list[dict[str, Any]]:
    """`count` valid create bodies, their unique values distinct (refs left out: the tests
    fill them in)."""
    return [
        {camel(f.column): _value(f, n) for f in resource.fields if f.type != "ref"}
        for n in range(count)
    ]


def bad_values(resource: Resource) -> list[tuple[str, Any]]:
    """(field, value) pairs each of which alone makes a create body invalid (422)."""
    found: list[tuple[str, Any]] = []
    for f in resource.fields:
        key = camel(f.column)
        low, high = bounds(f)
        match f.type:
            case "str" | "text" | "email" | "url":
                found.append((key, "x" * (int(high or 0) + 1)))
                if low:
                    found.append((key, " " * int(low) if f.type in ("str", "text") else ""))
                found.append((key, 12))
            case "int" | "float" | "decimal":
                if high is not None:
                    found.append((key, str(Decimal(str(high)) + 1)))
                if low is not None:
                    found.append((key, str(Decimal(str(low)) - 1)))
                found.append((key, "many"))
                if f.type == "decimal":
                    found.append((key, "1" * (int(f.arg[0]) + 1)))
            case "bool":
                found.append((key, "maybe"))
            case "date":
                found.append((key, "2026-13-40"))
            case "datetime":
                found.append((key, "2026-01-02T03:04:05"))  # no time zone
            case "uuid":
                found.append((key, "not-a-uuid"))
            case "enum":
                found.append((key, "not-a-choice"))
            case "ref":
                found.append((key, 0))
        if f.type == "email":
            found.append((key, "not-an-address"))
        if f.type == "url":
            found.append((key, "ftp://example.com/x"))
        if f.type == "decimal":
            found.append((key, "0." + "1" * (int(f.arg[1]) + 1)))
    return found


def required(resource: Resource) -> list[str]:
    """The fields a create body must send."""
    return [camel(f.column) for f in resource.fields if not f.optional and f.default is None]
