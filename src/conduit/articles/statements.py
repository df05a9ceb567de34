"""The article read statements: built once per shape (filters used, signed in or not,
dialect) and run with bound parameters, as `HotRead`s (core/reads.py): on PostgreSQL their
SQL is rendered once and run on the driver; elsewhere SQLAlchemy finds their compiled form
in its cache. They are Core statements on the tables, not ORM entities: rows are plain
tuples of the columns `view` documents.

A page is one statement: author, following, favorited, favoritesCount and the tags come
from joins and correlated subqueries, and with one filter at most, the maintained count of
what it matches (articles/counters.py) is a column of every row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Dialect,
    Integer,
    String,
    Text,
    TypeDecorator,
    aggregate_order_by,
    bindparam,
    cast,
    exists,
    false,
    func,
    literal_column,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import aliased

from conduit.articles.counters import count_answering, count_statement
from conduit.articles.models import Article, ArticleTag, Favorite, Tag
from conduit.articles.schemas import ArticleFilter
from conduit.auth.models import live_session
from conduit.core.db import AnySelect
from conduit.core.reads import HotRead
from conduit.users.models import Follow, User

_articles = Article.__table__
_users = User.__table__
_tags = Tag.__table__
_article_tags = ArticleTag.__table__
_favorites = Favorite.__table__
_follows = Follow.__table__
_authors = _users.alias("authors")


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


def _tag_names(dialect: str) -> ColumnElement[list[str]]:
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


# ISO 8601 in UTC with milliseconds and a Z, as `core.schemas.iso_millis` renders it: `MS`
# truncates, as Python's `isoformat(timespec="milliseconds")` does.
_ISO_MILLIS: ColumnElement[str] = literal_column("""'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'""")


def _stamp(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """A timestamp column as the API shows it. PostgreSQL renders the text itself: in
    Python each would be a conversion to UTC and an `isoformat`, twice per row, ~7 % of a
    signed-in page of 20 (py-spy). Elsewhere the datetime, which the service renders."""
    if dialect == "postgresql":
        utc = func.timezone(literal_column("'UTC'"), column)
        return func.to_char(utc, _ISO_MILLIS, type_=String)
    return column


# A row of an article view: a tuple of its columns' values.
ArticleRow = tuple[Any, ...]


# The columns of an article view, in this order (the service unpacks them by position):
# slug, title, description, created_at, updated_at (text on PostgreSQL, see `_stamp`),
# favorites_count, favorited,
# author_username, author_bio, author_image, author_following, tag_list [, body] [, id]
def view(dialect: str, *, signed_in: bool, with_body: bool) -> AnySelect:
    viewer = bindparam("viewer_id", type_=Integer)
    favorites_count = (
        select(func.count()).where(_favorites.c.article_id == _articles.c.id).scalar_subquery()
    )
    if signed_in:
        favorited: ColumnElement[bool] = exists().where(
            _favorites.c.article_id == _articles.c.id, _favorites.c.user_id == viewer
        )
        following: ColumnElement[bool] = exists().where(
            _follows.c.follower_id == viewer, _follows.c.followee_id == _users.c.id
        )
    else:
        favorited = following = false()
    columns: list[Any] = [
        _articles.c.slug,
        _articles.c.title,
        _articles.c.description,
        _stamp(_articles.c.created_at, dialect),
        _stamp(_articles.c.updated_at, dialect),
        favorites_count,
        favorited,
        _users.c.username,
        _users.c.bio,
        _users.c.image,
        following,
        _tag_names(dialect),
    ]
    if with_body:
        columns.append(_articles.c.body)
    return (
        select(*columns)
        .select_from(_articles.join(_users, _users.c.id == _articles.c.author_id))
        .where(_articles.c.deleted_at.is_(None))
    )


def _page_limit() -> ColumnElement[int]:
    return bindparam("page_limit", type_=Integer)


def _page_offset() -> ColumnElement[int]:
    return bindparam("page_offset", type_=BigInteger)  # past 2**31 is valid input


def _confirming(stmt: AnySelect) -> AnySelect:
    """`stmt` with a last column telling whether the viewer's access token is usable (see
    `auth.models.live_session`; parameters `session_id` and `now`): the token check in the
    read's own statement, evaluated once (an uncorrelated subquery), not once per row."""
    live = exists().where(live_session()).correlate(None)
    return stmt.add_columns(live.label("live"))


@dataclass(frozen=True, slots=True)
class PageRead:
    """A page's statement and where in its rows the total and the token check are."""

    read: HotRead
    total: int | None  # the column of the maintained count of what the filters match
    live: int | None  # the column of the token check


@cache
def page_read(
    dialect: str,
    signed_in: bool,
    tag: bool,
    author: bool,
    favorited_by: bool,
    feed: bool,
    confirm: bool = False,
) -> PageRead:
    """One page of a list: the filters used are bound parameters of the same name.

    With one filter at most, the maintained count of what it matches is a column of every
    row: one statement for the page and its `articlesCount`. With `confirm`, so is the
    token check of the viewer (`viewer_id`, whose session is `session_id`)."""
    stmt = view(dialect, signed_in=signed_in, with_body=False)
    columns = len(stmt.selected_columns)
    filters = {"tag": tag, "author": author, "favorited_by": favorited_by, "feed_of": feed}
    counted = count_answering(name for name, on in filters.items() if on)
    if counted is not None:
        total = count_statement(counted, param=counted).scalar_subquery()
        stmt = stmt.add_columns(cast(total, BigInteger).label("total"))  # sum() is numeric
    # Newest first. A tag's or a fan's page walks that tag's (that user's favorites') rows
    # in the index on (tag_id | user_id, article_created_at, article_id) and stops after the
    # page, instead of collecting every article of a popular tag to sort them. The filter
    # tables are aliased so that the view's own subqueries (the tag names, favoritesCount)
    # are never correlated with them.
    order: tuple[Any, Any] = (_articles.c.created_at, _articles.c.id)
    if tag:
        tagged = _article_tags.alias("tagged")
        stmt = stmt.join(tagged, tagged.c.article_id == _articles.c.id).where(
            tagged.c.tag_id
            == select(_tags.c.id)
            .where(_tags.c.name == bindparam("tag", type_=String))
            .scalar_subquery()
        )
        order = (tagged.c.article_created_at, tagged.c.article_id)
    if author:
        # The author's id first (an InitPlan): then the (author_id, created_at) index gives
        # the newest of their articles directly, instead of all of them to sort.
        stmt = stmt.where(
            _articles.c.author_id
            == select(_authors.c.id)
            .where(_authors.c.username == bindparam("author", type_=String))
            .scalar_subquery()
        )
    if favorited_by:
        fan = _users.alias("fan")
        liked = _favorites.alias("liked")
        stmt = stmt.join(liked, liked.c.article_id == _articles.c.id).where(
            liked.c.user_id
            == select(fan.c.id)
            .where(fan.c.username == bindparam("favorited_by", type_=String))
            .scalar_subquery()
        )
        if not tag:
            order = (liked.c.article_created_at, liked.c.article_id)
    paged_inside = feed and dialect == "postgresql"
    if paged_inside:
        # The newest page of each followed author (LATERAL, from the (author_id,
        # created_at, id) index), then the newest of those, from the index's keys alone:
        # only the page's own articles are then read, where joining every candidate first
        # read followees x page rows of the table (423 heap fetches for 29 followees).
        followed = _follows.alias("followed")
        mine = _articles.alias("mine")
        newest = (
            select(mine.c.id, mine.c.created_at)
            .where(mine.c.author_id == followed.c.followee_id, mine.c.deleted_at.is_(None))
            .order_by(mine.c.created_at.desc(), mine.c.id.desc())
            .limit(_page_limit() + _page_offset())
            .lateral("newest")
        )
        page = (
            select(newest.c.id, newest.c.created_at)
            .select_from(followed.join(newest, true()))
            .where(followed.c.follower_id == bindparam("feed_of", type_=Integer))
            .order_by(newest.c.created_at.desc(), newest.c.id.desc())
            .limit(_page_limit())
            .offset(_page_offset())
            .subquery("page")
        )
        stmt = stmt.join(page, page.c.id == _articles.c.id)
        order = (page.c.created_at, page.c.id)
    elif feed:  # SQLite has no LATERAL
        stmt = stmt.where(
            _articles.c.author_id.in_(
                select(_follows.c.followee_id).where(
                    _follows.c.follower_id == bindparam("feed_of", type_=Integer)
                )
            )
        )
    stmt = stmt.order_by(order[0].desc(), order[1].desc())
    if not paged_inside:  # else limited and offset inside
        stmt = stmt.limit(_page_limit()).offset(_page_offset())
    total = columns if counted is not None else None
    if confirm:
        stmt = _confirming(stmt)
    return PageRead(HotRead(stmt), total, len(stmt.selected_columns) - 1 if confirm else None)


BODY, ARTICLE_ID = 12, 13  # the columns of an article's row after the view's


@cache
def article_read(
    dialect: str, signed_in: bool, by: Literal["slug", "id"], confirm: bool = False
) -> HotRead:
    """One article with its body (BODY) and its id (ARTICLE_ID), by slug or by id; with
    `confirm`, the token check of the viewer is the last column (see `page_read`)."""
    stmt = view(dialect, signed_in=signed_in, with_body=True).add_columns(_articles.c.id)
    if by == "slug":
        stmt = stmt.where(_articles.c.slug == bindparam("slug", type_=String))
    else:
        stmt = stmt.where(_articles.c.id == bindparam("article_id", type_=Integer))
    return HotRead(_confirming(stmt) if confirm else stmt)


def apply_filter(stmt: AnySelect, where: ArticleFilter) -> AnySelect:
    """The filters of `where` on an ORM statement (the total's)."""
    if where.tag is not None:
        stmt = stmt.where(
            Article.id.in_(
                select(ArticleTag.article_id)
                .join(Tag, Tag.id == ArticleTag.tag_id)
                .where(Tag.name == where.tag)
            )
        )
    if where.author is not None:
        stmt = stmt.where(User.username == where.author)
    if where.favorited_by is not None:
        fan = aliased(User)
        stmt = stmt.where(
            Article.id.in_(
                select(Favorite.article_id)
                .join(fan, fan.id == Favorite.user_id)
                .where(fan.username == where.favorited_by)
            )
        )
    if where.feed_of is not None:
        stmt = stmt.where(
            Article.author_id.in_(
                select(Follow.followee_id).where(Follow.follower_id == where.feed_of)
            )
        )
    return stmt
