"""Names a generated resource or field may not take."""

from __future__ import annotations

import keyword

from pydantic import BaseModel

# Reserved in SQL:2016 or PostgreSQL (and the SQLite keywords that clash in practice):
# a table or column of this name needs quoting everywhere, which the house never does.
SQL_RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "authorization",
        "between",
        "binary",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "collation",
        "column",
        "concurrently",
        "constraint",
        "create",
        "cross",
        "current_catalog",
        "current_date",
        "current_role",
        "current_schema",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "delete",
        "desc",
        "distinct",
        "do",
        "drop",
        "else",
        "end",
        "except",
        "exists",
        "false",
        "fetch",
        "filter",
        "for",
        "foreign",
        "freeze",
        "from",
        "full",
        "grant",
        "group",
        "having",
        "ilike",
        "in",
        "index",
        "initially",
        "inner",
        "insert",
        "intersect",
        "into",
        "is",
        "isnull",
        "join",
        "key",
        "lateral",
        "leading",
        "left",
        "like",
        "limit",
        "localtime",
        "localtimestamp",
        "match",
        "natural",
        "not",
        "notnull",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "outer",
        "overlaps",
        "placing",
        "primary",
        "references",
        "returning",
        "right",
        "row",
        "rows",
        "select",
        "session_user",
        "similar",
        "some",
        "symmetric",
        "system_user",
        "table",
        "tablesample",
        "then",
        "to",
        "trailing",
        "transaction",
        "trigger",
        "true",
        "union",
        "unique",
        "update",
        "user",
        "using",
        "values",
        "variadic",
        "verbose",
        "view",
        "when",
        "where",
        "window",
        "with",
    ]
)

# Columns every generated table has, and what the house's models and schemas reserve.
RESERVED_FIELDS = frozenset(
    {"id", "owner", "owner_id", "created_at", "updated_at", "deleted_at", "items", "page"}
    | {"metadata", "registry", "query", "sort"}
    | {name for name in dir(BaseModel) if not name.startswith("__")}
)

# A field whose name says it holds a secret would be stored and shown in clear.
SECRET_PARTS = ("password", "passwd", "token", "secret", "api_key", "apikey", "private_key")


def python_reserved(name: str) -> bool:
    return keyword.iskeyword(name) or keyword.issoftkeyword(name)


def looks_secret(name: str) -> bool:
    return any(part in name for part in SECRET_PARTS)
