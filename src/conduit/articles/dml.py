"""The article write statements (run by ArticleRepository): Core statements on the tables,
built once (per dialect where they differ), so that SQLAlchemy compiles each once and
finds it in its cache after that. Not `insert(Model)` through the ORM session: its
bulk-DML path costs more than the statement (docs/performance.md, issue 24).

Each changes its rows by key, in one statement, without loading them first.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import Boolean, Integer, String, Table, any_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql

from conduit.articles.counters import new_article_deltas
from conduit.articles.models import Article, ArticleTag, Favorite, Tag
from conduit.core.db import UTCDateTime
from conduit.core.upsert import dialect_insert

_articles = cast(Table, Article.__table__)
_tags = cast(Table, Tag.__table__)
_article_tags = cast(Table, ArticleTag.__table__)
_favorites = cast(Table, Favorite.__table__)


def _slug() -> Any:
    return bindparam("article_slug", type_=String)


def _live_by_slug() -> Any:
    return (_articles.c.slug == _slug()) & _articles.c.deleted_at.is_(None)


class ArticleHead(NamedTuple):
    """What an update needs of the article it changes."""

    id: int
    author_id: int
    title: str
    slug: str
    updated_at: datetime


AUTHOR_OF = select(_articles.c.author_id).where(_live_by_slug())

HEAD_FOR_UPDATE = (
    select(
        _articles.c.id,
        _articles.c.author_id,
        _articles.c.title,
        _articles.c.slug,
        _articles.c.updated_at,
    )
    .where(_live_by_slug())
    .with_for_update()
)


@cache
def insert_article(dialect: str) -> Any:
    """A new article (parameters: its columns); its id, or no row when the slug is taken."""
    return (
        dialect_insert(dialect, _articles)
        .on_conflict_do_nothing(index_elements=[_articles.c.slug])
        .returning(_articles.c.id)
    )


@cache
def insert_tags(dialect: str) -> Any:
    """Tags by name (one parameter set each), those that exist left as they are."""
    return dialect_insert(dialect, _tags).on_conflict_do_nothing(index_elements=[_tags.c.name])


def _link_tags() -> Any:
    article = bindparam("article_id", type_=Integer)
    created_at = select(_articles.c.created_at).where(_articles.c.id == article).scalar_subquery()
    named = select(article, _tags.c.id, created_at).where(
        _tags.c.name.in_(bindparam("names", expanding=True, type_=String))
    )
    return (
        _article_tags.insert()
        .from_select(["article_id", "tag_id", "article_created_at"], named)
        .returning(_article_tags.c.tag_id)
    )


# The tags named `names` (which exist) on the article `article_id`; their ids.
LINK_TAGS = _link_tags()

ARTICLE_COLUMNS = ("slug", "title", "description", "body", "author_id", "created_at", "updated_at")


def _created() -> Any:
    """PostgreSQL: a new article (parameters `new_<column>`), its tags (`names`, which
    exist) and its count deltas in one statement; its id, or no row, and then nothing
    written, when the slug is taken. What SQLite does in three (`insert_article`,
    `LINK_TAGS`, the article's deltas), in one round trip instead of three."""
    values = {c: bindparam(f"new_{c}", type_=_articles.c[c].type) for c in ARTICLE_COLUMNS}
    article = (
        postgresql.insert(_articles)
        .values(values)
        .on_conflict_do_nothing(index_elements=[_articles.c.slug])
        .returning(_articles.c.id, _articles.c.author_id, _articles.c.created_at)
        .cte("article")
    )
    names = bindparam("names", type_=postgresql.ARRAY(String))
    named = select(article.c.id, _tags.c.id, article.c.created_at).select_from(
        article.join(_tags, _tags.c.name == any_(names))
    )
    linked = (
        _article_tags.insert()
        .from_select(["article_id", "tag_id", "article_created_at"], named)
        .returning(_article_tags.c.tag_id)
        .cte("linked")
    )
    counted = new_article_deltas(article, linked).cte("counted")
    return select(article.c.id).add_cte(linked, counted)


CREATED = _created()

UNTAG = (
    delete(_article_tags)
    .where(_article_tags.c.article_id == bindparam("article_id", type_=Integer))
    .returning(_article_tags.c.tag_id)
)

# Soft delete by the author (`actor_id`) or by anyone with `any_author`; the id.
DELETE = (
    update(_articles)
    .where(
        _live_by_slug(),
        (_articles.c.author_id == bindparam("actor_id", type_=Integer))
        | bindparam("any_author", type_=Boolean),
    )
    .values(deleted_at=bindparam("now", type_=UTCDateTime))
    .returning(_articles.c.id)
)

RESTORE = (
    update(_articles)
    .where(_articles.c.slug == _slug(), _articles.c.deleted_at.is_not(None))
    .values(deleted_at=None)
    .returning(_articles.c.id)
)


@cache
def favorite(dialect: str) -> Any:
    """`user_id` favorites the live article `article_slug`; a row when it was not yet."""
    article = (
        select(bindparam("user_id", type_=Integer), _articles.c.id, _articles.c.created_at)
        .where(_live_by_slug())
        .with_for_update(read=True)
    )
    return (
        dialect_insert(dialect, _favorites)
        .from_select(["user_id", "article_id", "article_created_at"], article)
        .on_conflict_do_nothing()
        .returning(_favorites.c.article_id)
    )


def _live_id_for_share() -> Any:
    return (
        select(_articles.c.id).where(_live_by_slug()).with_for_update(read=True).scalar_subquery()
    )


# `user_id` unfavorites the live article `article_slug`; a row when it had favorited it.
UNFAVORITE = (
    delete(_favorites)
    .where(
        _favorites.c.user_id == bindparam("user_id", type_=Integer),
        _favorites.c.article_id
        == select(_articles.c.id)
        .where(_live_by_slug())
        .with_for_update(read=True)
        .scalar_subquery(),
    )
    .returning(_favorites.c.article_id)
)
