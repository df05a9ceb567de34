"""How the database renders the columns of the reads that the JSON shows as they come:
an article's tag names and the timestamps (articles and comments)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    String,
    Text,
    TypeDecorator,
    aggregate_order_by,
    func,
    literal_column,
    select,
    type_coerce,
)

from conduit.articles.models import Article, ArticleTag, Tag

_articles = Article.__table__
_tags = Tag.__table__
_article_tags = ArticleTag.__table__


class TagNames(TypeDecorator[list[str]]):
    """An article's tag names, sorted, aggregated by the database: an array on PostgreSQL
    (sorted there), a JSON array on SQLite (sorted here: SQLite before 3.44 cannot order an
    aggregate; its BINARY collation and Python both order by code point)."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str]:
        if value is None:  # array_agg over no rows
            return []
        if isinstance(value, str):
            return sorted(json.loads(value))
        return list(value)


def tag_names(dialect: str) -> ColumnElement[list[str]]:
    """The article's tag names. On PostgreSQL each name is looked up by primary key: joined
    instead, the planner hashes the whole tags table once per article of the page."""
    if dialect == "postgresql":
        name = select(_tags.c.name).where(_tags.c.id == _article_tags.c.tag_id).scalar_subquery()
        names = (
            select(name.label("name"))
            .where(_article_tags.c.article_id == _articles.c.id)
            .correlate(_articles)
            .subquery("article_tag_names")
        )
        aggregate = select(aggregate_order_by(func.array_agg(names.c.name), names.c.name))
    else:
        aggregate = (
            select(func.json_group_array(_tags.c.name))
            .select_from(_article_tags.join(_tags, _tags.c.id == _article_tags.c.tag_id))
            .where(_article_tags.c.article_id == _articles.c.id)
        )
    return type_coerce(aggregate.scalar_subquery(), TagNames())


class Names(TypeDecorator[list[str]]):
    """Names aggregated by the database in the order it was given them: an array on
    PostgreSQL, a JSON array on SQLite."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str]:
        if value is None:  # array_agg over no rows
            return []
        return list(json.loads(value) if isinstance(value, str) else value)


def popular_names(uses: Any, dialect: str) -> Any:
    """`uses` (a SELECT of `name`, `uses`) as one row holding every name, most used first,
    then by name: one value for the driver to decode, not a row per name."""
    used = uses.subquery("used")
    order = (used.c.uses.desc(), used.c.name)
    if dialect == "postgresql":
        return select(type_coerce(aggregate_order_by(func.array_agg(used.c.name), *order), Names()))
    # SQLite before 3.44 cannot order an aggregate: it aggregates the rows in their order.
    ordered = select(used.c.name).order_by(*order).subquery("ordered")
    return select(type_coerce(func.json_group_array(ordered.c.name), Names()))


# ISO 8601 in UTC with milliseconds and a Z, as `core.schemas.iso_millis` renders it: `MS`
# truncates, as Python's `isoformat(timespec="milliseconds")` does.
_ISO_MILLIS: ColumnElement[str] = literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'""")


def iso_text(column: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """A timestamp column as the API shows it (`iso_millis`), rendered by the database on
    every dialect, so that rows carry text alike: in Python each would be a conversion to
    UTC and an `isoformat`, twice per row. SQLite holds the naive UTC text that SQLAlchemy
    writes with all six digits of microseconds (`YYYY-MM-DD HH:MM:SS.ffffff`): cut, not
    parsed, as its date functions round to the millisecond where `iso_millis` truncates."""
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), column)
        return func.to_char(utc, _ISO_MILLIS, type_=String)
    stored = type_coerce(column, String)
    return (
        func.substr(stored, 1, 10, type_=String)
        + literal_column("'T'", String)
        + func.substr(stored, 12, 12, type_=String)
        + literal_column("'Z'", String)
    )
