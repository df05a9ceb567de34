"""The generated table: its ORM model (`models.py`), its field limits (`limits.py`) and its
Alembic migration, from one description of the columns so that the two cannot differ."""

from __future__ import annotations

from dataclasses import dataclass
from textwrap import fill

from conduit.scaffold.code import GENERATED, Imports, call, pascal, squeeze, string
from conduit.scaffold.spec import Field, Resource
from conduit.scaffold.values import bounds


@dataclass(frozen=True, slots=True)
class Column:
    attribute: str
    python: str  # the Mapped[...] type
    orm: list[str]  # mapped_column(...) arguments
    migration: list[str]  # sa.Column(...) arguments after the name


def limit_name(f: Field) -> str:
    return f"{f.name.upper()}_MAX"


def sized(f: Field) -> bool:
    """A column with a length: its limit lives in `limits.py`."""
    return f.type in {"str", "email", "url", "enum"}


def _type(f: Field, imports: Imports) -> tuple[str, str, str]:
    """(python type, ORM type expression, migration type expression)."""
    match f.type:
        case "str" | "email" | "url" | "enum":
            imports.add("sqlalchemy", "String")
            size = str(max(len(v) for v in f.arg)) if f.type == "enum" else limit_name(f)
            migration_size = size if f.type == "enum" else str(bounds(f)[1])
            return "str", f"String({size})", f"sa.String({migration_size})"
        case "text":
            imports.add("sqlalchemy", "Text")
            return "str", "Text", "sa.Text()"
        case "int" | "ref":
            imports.add("sqlalchemy", "Integer")
            return "int", "Integer", "sa.Integer()"
        case "float":
            imports.add("sqlalchemy", "Float")
            return "float", "Float", "sa.Float()"
        case "decimal":
            imports.add("sqlalchemy", "Numeric").add("decimal", "Decimal")
            precision, scale = f.arg
            expr = f"Numeric({precision}, {scale})"
            return "Decimal", expr, "sa." + expr
        case "bool":
            imports.add("sqlalchemy", "Boolean")
            return "bool", "Boolean", "sa.Boolean()"
        case "date":
            imports.add("sqlalchemy", "Date").add("datetime", "date")
            return "date", "Date", "sa.Date()"
        case "datetime":
            imports.add("datetime", "datetime").add("conduit.core.db", "UTCDateTime")
            return "datetime", "UTCDateTime", "TIMESTAMP"
        case "uuid":
            imports.add("sqlalchemy", "Uuid").add("uuid", "UUID")
            return "UUID", "Uuid", "sa.Uuid()"
    raise AssertionError(f.type)  # pragma: no cover


def columns(resource: Resource, imports: Imports) -> list[Column]:
    found: list[Column] = []
    if resource.owner:
        imports.add("sqlalchemy", "ForeignKey")
        found.append(
            Column(
                "owner_id",
                "int",
                ['ForeignKey("users.id", ondelete="CASCADE")'],
                ["sa.Integer()", 'sa.ForeignKey("users.id", ondelete="CASCADE")', "nullable=False"],
            )
        )
    for f in resource.fields:
        python, orm, migration = _type(f, imports)
        orm_args, migration_args = [orm], [migration]
        if f.type == "ref":
            imports.add("sqlalchemy", "ForeignKey")
            on_delete = "SET NULL" if f.optional else "CASCADE"
            target = f'"{f.arg[0]}.id", ondelete="{on_delete}"'
            orm_args.append(f"ForeignKey({target})")
            migration_args.append(f"sa.ForeignKey({target})")
        if f.optional:
            python += " | None"
            orm_args.append("nullable=True")
        migration_args.append(f"nullable={f.optional}")
        found.append(Column(f.column, python, orm_args, migration_args))
    return found


def _indexes(resource: Resource) -> list[tuple[str, tuple[str, ...]]]:
    """(kind, columns) of every index and unique constraint, in a fixed order."""
    table: list[tuple[str, tuple[str, ...]]] = []
    first = ("owner_id",) if resource.owner else ()
    table.append(("index", (*first, "created_at", "id")))  # the list's order
    for f in resource.fields:
        if f.unique == "owner":
            table.append(("unique", ("owner_id", f.column)))
        elif f.unique == "global":
            table.append(("unique", (f.column,)))
        elif f.index or f.filter or f.sort or f.type == "ref":
            table.append(("index", (f.column,)))
    return table


def _checks(resource: Resource) -> list[tuple[str, str]]:
    """(name, SQL) of the check constraints: an enum's values."""
    return [
        (f.name, f"{f.name} IN ({', '.join(repr(v) for v in f.arg)})")
        for f in resource.fields
        if f.type == "enum"
    ]


def index_name(resource: Resource, kind: str, cols: tuple[str, ...]) -> str:
    return f"{'uq' if kind == 'unique' else 'ix'}_{resource.plural}_{'_'.join(cols)}"


def render_limits(resource: Resource) -> str | None:
    """`limits.py`, when a field has a length its column and its schema share."""
    lines = [
        f"{limit_name(f)} = {bounds(f)[1]}"
        for f in resource.fields
        if sized(f) and f.type != "enum"
    ]
    if not lines:
        return None
    doc = f'"""The longest value of each field of {resource.plural}: its column and its schema."""'
    return squeeze(doc + "\n\n" + "\n".join(lines))


def render_model(resource: Resource) -> str:
    imports = Imports().add("datetime", "datetime").add("sqlalchemy.orm", "Mapped", "mapped_column")
    imports.add("conduit.core.db", "Base", "UTCDateTime", "utcnow")
    cols = columns(resource, imports)
    limits = [limit_name(f) for f in resource.fields if sized(f) and f.type != "enum"]
    if limits:
        imports.add(f"conduit.{resource.plural}.limits", *limits)
    args: list[str] = []
    for kind, names in _indexes(resource):
        quoted = [string(n) for n in names]
        if kind == "unique":
            imports.add("sqlalchemy", "UniqueConstraint")
            args.append(call("UniqueConstraint", quoted))
        else:
            imports.add("sqlalchemy", "Index")
            args.append(call("Index", [string(index_name(resource, kind, names)), *quoted]))
    for name, sql in _checks(resource):
        imports.add("sqlalchemy", "CheckConstraint")
        args.append(call("CheckConstraint", [string(sql), f"name={string(name)}"]))
    table_args = "".join(f"        {arg},\n" for arg in args)
    body = [
        f"class {pascal(resource.name)}(Base):",
        f'    __tablename__ = "{resource.plural}"',
        f"    __table_args__ = (\n{table_args}    )",
        "",
        "    id: Mapped[int] = mapped_column(primary_key=True)",
    ]
    for col in cols:
        body.append(call(f"    {col.attribute}: Mapped[{col.python}] = mapped_column", col.orm))
    body.append("    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)")
    body.append("    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)")
    if resource.soft_delete:
        body.append(
            "    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)"
        )
    doc = f'"""The {resource.plural} table.\n\n{GENERATED}\n"""'
    return squeeze("\n\n".join([doc, imports.render(), "", "\n".join(body)]))


def render_migration(resource: Resource, revision: str, down: str, spec_line: str) -> str:
    imports = Imports().add("collections.abc", "Sequence").add("sqlalchemy as sa")
    imports.add("alembic", "op")
    cols = columns(resource, Imports())
    args = [call("sa.Column", ['"id"', "sa.Integer()", "nullable=False"])]
    args += [call("sa.Column", [string(c.attribute), *c.migration]) for c in cols]
    for stamp in ("created_at", "updated_at"):
        args.append(call("sa.Column", [string(stamp), "TIMESTAMP", "nullable=False"]))
    if resource.soft_delete:
        args.append(call("sa.Column", ['"deleted_at"', "TIMESTAMP", "nullable=True"]))
    args.append(f'sa.PrimaryKeyConstraint("id", name=op.f("pk_{resource.plural}"))')
    for kind, names in _indexes(resource):
        if kind == "unique":
            quoted = [string(n) for n in names]
            name = f"name=op.f({string(index_name(resource, kind, names))})"
            args.append(call("sa.UniqueConstraint", [*quoted, name]))
    for name, sql in _checks(resource):
        full = f"ck_{resource.plural}_{name}"
        args.append(call("sa.CheckConstraint", [string(sql), f"name=op.f({string(full)})"]))
    create = call("    op.create_table", [string(resource.plural), *args])
    index_lines = [
        call(
            "    op.create_index",
            [
                string(index_name(resource, kind, names)),
                string(resource.plural),
                "[" + ", ".join(string(n) for n in names) + "]",
            ],
        )
        for kind, names in _indexes(resource)
        if kind == "index"
    ]
    header = (
        f'"""{resource.plural}: generated by `conduit generate resource`\n\n'
        f'{fill(spec_line, 96)}\n\nRevision ID: {revision}\nRevises: {down}\n"""'
    )
    top = [
        header,
        imports.render(),
        f'revision: str = "{revision}"\ndown_revision: str | None = "{down}"\n'
        "branch_labels: str | Sequence[str] | None = None\n"
        "depends_on: str | Sequence[str] | None = None\n\n"
        "TIMESTAMP = sa.DateTime(timezone=True)",
    ]
    upgrade = "def upgrade() -> None:\n" + create + "\n" + "\n".join(index_lines)
    downgrade = f'def downgrade() -> None:\n    op.drop_table("{resource.plural}")'
    return squeeze("\n\n".join(top) + "\n\n\n" + upgrade.rstrip() + "\n\n\n" + downgrade)
