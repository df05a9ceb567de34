"""The generated `schemas.py`: the bodies of create, replace and update, the item as read,
the page, and the list's query."""

from __future__ import annotations

from conduit.scaffold.code import GENERATED, Imports, camel, pascal, squeeze, string
from conduit.scaffold.spec import Field, Resource
from conduit.scaffold.tables import limit_name
from conduit.scaffold.values import bounds, example_value


def type_name(f: Field) -> str:
    """The name of a field's constrained type in the generated schemas."""
    return pascal(f.name) + "Value"


def _constrained(f: Field, imports: Imports) -> str | None:
    """The `Name = Annotated[...]` line of a field's type, or None for a plain type."""
    low, high = bounds(f)
    name = type_name(f)
    match f.type:
        case "str" | "text":
            imports.add("typing", "Annotated").add("pydantic", "StringConstraints")
            size = limit_name(f) if f.type == "str" else str(high)
            length = (
                [f"max_length={size}"] if not low else [f"min_length={low}", f"max_length={size}"]
            )
            if low:
                imports.add("pydantic", "AfterValidator")
                imports.add("conduit.core.schemas", "FILLED", "not_blank")
                rules = ["AfterValidator(not_blank)", "FILLED"]
            else:
                imports.add("pydantic", "AfterValidator")
                imports.add("conduit.core.schemas", "TEXT", "clean_text")
                rules = ["AfterValidator(clean_text)", "TEXT"]
            constraints = f"StringConstraints({', '.join(length)})"
            return f"{name} = Annotated[str, {constraints}, {', '.join(rules)}]"
        case "email" | "url":
            imports.add("typing", "Annotated").add("pydantic", "StringConstraints")
            pattern = _PATTERNS[f.type]
            limit = limit_name(f)
            return (
                f"{name} = Annotated[str, StringConstraints(max_length={limit}, pattern={pattern})]"
            )
        case "int":
            # A JSON integer (7 or 7.0), never true or "7", as the schema says.
            imports.add("typing", "Annotated").add("pydantic", "BeforeValidator", "Field")
            imports.add("conduit.core.schemas", "json_integer")
            bounds_ = f"ge={_number(f, low)}, le={_number(f, high)}"
            # The bounds first: after a validator they would be missing from the schema.
            return f"{name} = Annotated[int, Field({bounds_}), BeforeValidator(json_integer)]"
        case "float":
            imports.add("typing", "Annotated").add("pydantic", "Field")
            args = f"ge={_number(f, low)}, le={_number(f, high)}, strict=True, allow_inf_nan=False"
            return f"{name} = Annotated[float, Field({args})]"
        case "decimal":
            # Sent and shown as a string: exact, and its shape is the whole rule.
            imports.add("typing", "Annotated").add("decimal", "Decimal")
            imports.add("pydantic", "BeforeValidator", "WithJsonSchema")
            imports.add("conduit.core.schemas", "decimal_text")
            precision, scale = int(f.arg[0]), int(f.arg[1])
            sign = "" if low is not None and low >= 0 else "-?"
            places = rf"(\.\d{{1,{scale}}})?" if scale else ""
            pattern = rf"^{sign}\d{{1,{precision - scale}}}{places}$"
            constant = f"{f.name.upper()}_PATTERN"
            bounded = [f"ge={_number(f, low)}"] if low is not None else []
            bounded += [f"le={_number(f, high)}"] if high is not None else []
            extra = f", Field({', '.join(bounded)})" if bounded else ""
            if bounded:
                imports.add("pydantic", "Field")
            return (
                f'{constant} = r"{pattern}"\n'
                f"{name} = Annotated[\n    Decimal,\n"
                f"    BeforeValidator(decimal_text({constant})),\n"
                f'    WithJsonSchema({{"type": "string", "pattern": {constant}}}){extra},\n]'
            )
        case "enum":
            imports.add("typing", "Literal")
            return f"{name} = Literal[{', '.join(string(v) for v in f.arg)}]"
        case "ref":
            imports.add("typing", "Annotated").add("pydantic", "Field")
            imports.add("conduit.core.db", "MAX_ID")
            imports.add("pydantic", "BeforeValidator").add("conduit.core.schemas", "json_integer")
            return f"{name} = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(json_integer)]"
        case "bool":
            # Strict: JSON's true and false only (not 0 or "yes"), as the schema says.
            imports.add("typing", "Annotated").add("pydantic", "Field")
            return f"{name} = Annotated[bool, Field(strict=True)]"
        case "date" | "datetime" | "uuid":
            # Text only, as the schema says: no number stands for a date, a time or a UUID.
            imports.add("typing", "Annotated").add("pydantic", "BeforeValidator")
            imports.add("conduit.core.schemas", "text_only")
            base = {"date": "date", "datetime": "AwareDatetime", "uuid": "UUID"}[f.type]
            imports.add(
                *{
                    "date": ("datetime", "date"),
                    "datetime": ("pydantic", "AwareDatetime"),
                    "uuid": ("uuid", "UUID"),
                }[f.type]
            )
            if f.type == "datetime":
                imports.add("pydantic", "AfterValidator").add("conduit.core.schemas", "in_utc")
                checks = "BeforeValidator(text_only), AfterValidator(in_utc)"
                return f"{name} = Annotated[{base}, {checks}]"
            return f"{name} = Annotated[{base}, BeforeValidator(text_only)]"
    raise AssertionError(f.type)  # pragma: no cover


# The whole rule is the pattern, so that the OpenAPI document states it exactly; no `\\s`,
# which means other characters to JSON Schema (ECMA-262) than to Python.
_PATTERNS = {
    "email": 'r"^[^@\\x00-\\x20]+@[^@\\x00-\\x20]+\\.[^@\\x00-\\x20]+$"',
    "url": 'r"^https?://[^\\x00-\\x20]+$"',
}


def _number(f: Field, value: object) -> str:
    if f.type == "decimal":
        return f'Decimal("{value}")'
    if f.type == "float":
        return repr(float(value))  # type: ignore[arg-type]
    return str(value)


_PLAIN = {
    "str": "str",
    "text": "str",
    "email": "str",
    "url": "str",
    "int": "int",
    "ref": "int",
    "float": "float",
    "decimal": "Decimal",
    "bool": "bool",
    "date": "date",
    "datetime": "Timestamp",
    "uuid": "UUID",
}


def annotation(f: Field, *, read: bool = False, query: bool = False) -> str:
    """The type a schema gives the field: its constrained type in a body, the plain type in
    an answer and in the list's query (a query string's values are all text)."""
    if f.type == "enum":
        core = type_name(f)
    elif read:
        core = _PLAIN[f.type]
    elif query:
        core = _query_type(f)
    else:
        core = type_name(f)
    return f"{core} | None" if f.optional else core


def _query_type(f: Field) -> str:
    """A filter's type: the field's rules, read from text (a query string's values)."""
    low, high = bounds(f)
    if f.type in {"int", "float"}:
        finite = ", allow_inf_nan=False" if f.type == "float" else ""
        return f"Annotated[{f.type}, Field(ge={_number(f, low)}, le={_number(f, high)}{finite})]"
    if f.type == "ref":
        return "Annotated[int, Field(ge=1, le=MAX_ID)]"
    if f.type in {"bool", "date", "uuid"}:
        return _PLAIN[f.type]
    if f.type == "datetime":
        return "Annotated[AwareDatetime, AfterValidator(in_utc)]"
    return type_name(f)


def default_literal(f: Field) -> str | None:
    """The Python literal of a field's default, or None."""
    if f.default is None:
        return "None" if f.optional else None
    match f.type:
        case "bool":
            return "True" if f.default == "true" else "False"
        case "int":
            return str(int(f.default))
        case "float":
            return repr(float(f.default))
        case "decimal":
            return f'Decimal("{f.default}")'
        case "date":
            return f'date.fromisoformat("{f.default}")'
    return string(f.default)


def example(resource: Resource) -> dict[str, object]:
    """A create body that every generated spec accepts (a ref's id is 1)."""
    return {camel(f.column): 1 if f.type == "ref" else example_value(f) for f in resource.fields}


def render_schemas(resource: Resource) -> str:
    Name, plural = pascal(resource.name), resource.plural
    imports = Imports().add("pydantic", "BaseModel", "ConfigDict")
    imports.add("conduit.core.schemas", "CamelModel", "Timestamp")
    types = [line for f in resource.fields if (line := _constrained(f, imports))]
    limits = [limit_name(f) for f in resource.fields if f.type in {"str", "email", "url"}]
    if limits:
        imports.add(f"conduit.{plural}.limits", *limits)
    sorts = [f for f in resource.fields if f.sort]
    filters = [f for f in resource.fields if f.filter]
    lines: list[str] = []
    create, update, read = [], [], []
    for f in resource.fields:
        attr, kind = f.column, annotation(f)
        default = default_literal(f)
        create.append(f"    {attr}: {kind}" + (f" = {default}" if default else ""))
        if f.optional:
            update.append(f"    {attr}: {kind} = None")
        else:
            # Left out: unchanged; null: refused (`not_null`), and not offered by the schema.
            imports.add("pydantic", "AfterValidator")
            imports.add("conduit.core.schemas", "NOT_NULLABLE", "not_null")
            rules = "AfterValidator(not_null), NOT_NULLABLE"
            update.append(f"    {attr}: Annotated[{kind} | None, {rules}] = None")
            imports.add("typing", "Annotated")
        read.append(f"    {attr}: {annotation(f, read=True)}")
    body = repr(example(resource))
    config = f'ConfigDict(extra="forbid", json_schema_extra={{"examples": [{body}]}})'
    item = {"id": 1, **({"owner": "jake"} if resource.owner else {}), **example(resource)}
    item |= {"createdAt": "2026-01-02T03:04:05.678Z", "updatedAt": "2026-01-02T03:04:05.678Z"}
    lines += [
        f"class {Name}Create(CamelModel):",
        f'    """A new {_label(resource)}; also the body of PUT, which replaces every field."""',
        "",
        f"    model_config = {config}",
        "",
        *create,
        "",
        "",
        f"class {Name}Update(CamelModel):",
        '    """The fields to change; a field not sent stays as it is."""',
        "",
        f"    model_config = {config}",
        "",
        *update,
        "",
        "",
        f"class {Name}Read(CamelModel):",
        f'    model_config = ConfigDict(json_schema_extra={{"examples": [{item!r}]}})',
        "",
        "    id: int",
        *(["    owner: str"] if resource.owner else []),
        *read,
        "    created_at: Timestamp",
        "    updated_at: Timestamp",
        "",
        "",
        f"class {Name}Page(BaseModel):",
        f"    items: list[{Name}Read]",
        "    page: int",
        "    limit: int",
        "    total_count: int",
    ]
    if sorts:
        imports.add("typing", "Literal")
        keys = [k for f in sorts for k in (camel(f.column), "-" + camel(f.column))]
        types.append(f"{Name}Sort = Literal[{', '.join(string(k) for k in keys)}]")
    query = [
        f"    {f.column}: {annotation(f, query=True).removesuffix(' | None')} | None = None"
        for f in filters
    ]
    if sorts:
        query.append(f"    sort: {Name}Sort | None = None")
    if query:
        lines += [
            "",
            "",
            f"class {Name}Query(CamelModel):",
            '    """The list\'s filters (equality) and its order."""',
            "",
            *query,
        ]
    doc = f'"""Request and response schemas for {plural}.\n\n{GENERATED}\n"""'
    top = [doc, imports.render()]
    if types:
        top.append("\n".join(types))
    return squeeze("\n\n".join(top) + "\n\n\n" + "\n".join(lines))


def _label(resource: Resource) -> str:
    return resource.name.replace("_", " ")
