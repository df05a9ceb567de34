"""The article read statements: built once per shape (filters used, signed in or not,
dialect) and run with bound parameters, as `HotRead`s (core/reads.py): on PostgreSQL their
SQL is rendered once and run on the driver; elsewhere SQLAlchemy finds their compiled form
in its cache. They are Core statements on the tables, not ORM entities: every article read
selects the columns of `ArticleView`, in its order, and its rows are read as that type.

A page is one statement: author, following, favorited, favoritesCount and the tags come
from joins and correlated subqueries, and with one filter at most, the maintained count of
what it matches (articles/counters.py) is a column of every row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, partial
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    String,
    bindparam,
    cast,
    exists,
    false,
    func,
    null,
    select,
    true,
)

from conduit.articles.columns import iso_text, popular_names, tag_names
from conduit.articles.counters import TAG_USES, count_answering, count_statement
from conduit.articles.models import Article, ArticleTag, Favorite, Tag
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


class ArticleView(NamedTuple):
    """A row of every article read: the columns `_select` selects, in this order."""

    slug: str
    title: str
    description: str
    created_at: str  # as the API shows it (`iso_text`)
    updated_at: str
    favorites_count: int
    favorited: bool | int  # SQLite answers 0 or 1
    author_username: str
    author_bio: str | None
    author_image: str | None
    author_following: bool | int
    tag_list: list[str]
    body: str | None  # an article's; None in a page's rows
    total: int | None  # a page's: the maintained count of what its filters match, if one does
    live: bool | int | None  # whether the viewer's token is usable, when the read checks it


# A row as an ArticleView, its values kept as they are: a C call, no Python frame per row.
as_view: Callable[[Sequence[Any]], ArticleView] = partial(tuple.__new__, ArticleView)


def _select(
    dialect: str,
    *,
    signed_in: bool,
    body: ColumnElement[Any] | None = None,
    total: ColumnElement[Any] | None = None,
    live: ColumnElement[Any] | None = None,
) -> AnySelect:
    """An article read: the live articles joined to their authors, selecting the columns
    of `ArticleView` (NULL where the read has no such column)."""
    viewer = bindparam("viewer_id", type_=Integer)
    favorites_count = (
        select(func.count()).where(_favorites.c.article_id == _articles.c.id).scalar_subquery()
    )
    if signed_in:
        favorited: ColumnElement[Any] = exists().where(
            _favorites.c.article_id == _articles.c.id, _favorites.c.user_id == viewer
        )
        following: ColumnElement[Any] = exists().where(
            _follows.c.follower_id == viewer, _follows.c.followee_id == _users.c.id
        )
    else:
        favorited = following = false()
    columns: dict[str, ColumnElement[Any]] = {
        "slug": _articles.c.slug,
        "title": _articles.c.title,
        "description": _articles.c.description,
        "created_at": iso_text(_articles.c.created_at, dialect),
        "updated_at": iso_text(_articles.c.updated_at, dialect),
        "favorites_count": favorites_count,
        "favorited": favorited,
        "author_username": _users.c.username,
        "author_bio": _users.c.bio,
        "author_image": _users.c.image,
        "author_following": following,
        "tag_list": tag_names(dialect),
        "body": null() if body is None else body,
        "total": null() if total is None else total,
        "live": null() if live is None else live,
    }
    assert tuple(columns) == ArticleView._fields  # rows are read by position as ArticleView
    return (
        select(*(column.label(name) for name, column in columns.items()))
        .select_from(_articles.join(_users, _users.c.id == _articles.c.author_id))
        .where(_articles.c.deleted_at.is_(None))
    )


def _page_limit() -> ColumnElement[int]:
    return bindparam("page_limit", type_=Integer)


def _page_offset() -> ColumnElement[int]:
    return bindparam("page_offset", type_=BigInteger)  # past 2**31 is valid input


def _token_check() -> ColumnElement[Any]:
    """Whether the viewer's access token is usable (see `auth.models.live_session`;
    parameters `session_id` and `now`): the token check in the read's own statement,
    evaluated once (an uncorrelated subquery), not once per row."""
    return exists().where(live_session()).correlate(None)


class PageShape(NamedTuple):
    """What a page's statement depends on besides the dialect: whether the viewer is
    signed in, the filters used (bound parameters of the same name: `tag`, `author`,
    `favorited_by`, `feed_of`) and whether the read checks the viewer's token. A tuple: it
    is hashed, as a cache key, on every list."""

    signed_in: bool
    tag: bool = False
    author: bool = False
    favorited_by: bool = False
    feed: bool = False
    confirm: bool = False

    def counted(self) -> str | None:
        """The maintained count that answers the filters, if one does (see `counters`)."""
        filters = {
            "tag": self.tag,
            "author": self.author,
            "favorited_by": self.favorited_by,
            "feed_of": self.feed,
        }
        return count_answering(name for name, on in filters.items() if on)


Order = tuple[ColumnElement[Any], ColumnElement[Any]]


def _filtered(stmt: AnySelect, shape: PageShape, *, feed: bool) -> tuple[AnySelect, Order]:
    """`stmt` (on the articles) keeping those the shape's filters match, and the columns a
    page of them is ordered by, newest first; the feed's filter only with `feed`.

    A tag's or a fan's page walks that tag's (that user's favorites') rows in the index on
    (tag_id | user_id, article_created_at, article_id) and stops after the page, instead
    of collecting every article of a popular tag to sort them. The filter tables are
    aliased so that the view's own subqueries (the tag names, favoritesCount) are never
    correlated with them."""
    order: Order = (_articles.c.created_at, _articles.c.id)
    if shape.tag:
        tagged = _article_tags.alias("tagged")
        stmt = stmt.join(tagged, tagged.c.article_id == _articles.c.id).where(
            tagged.c.tag_id
            == select(_tags.c.id)
            .where(_tags.c.name == bindparam("tag", type_=String))
            .scalar_subquery()
        )
        order = (tagged.c.article_created_at, tagged.c.article_id)
    if shape.author:
        # The author's id first (an InitPlan): then the (author_id, created_at) index gives
        # the newest of their articles directly, instead of all of them to sort.
        stmt = stmt.where(
            _articles.c.author_id
            == select(_authors.c.id)
            .where(_authors.c.username == bindparam("author", type_=String))
            .scalar_subquery()
        )
    if shape.favorited_by:
        fan = _users.alias("fan")
        liked = _favorites.alias("liked")
        stmt = stmt.join(liked, liked.c.article_id == _articles.c.id).where(
            liked.c.user_id
            == select(fan.c.id)
            .where(fan.c.username == bindparam("favorited_by", type_=String))
            .scalar_subquery()
        )
        if not shape.tag:
            order = (liked.c.article_created_at, liked.c.article_id)
    if feed:
        stmt = stmt.where(
            _articles.c.author_id.in_(
                select(_follows.c.followee_id).where(
                    _follows.c.follower_id == bindparam("feed_of", type_=Integer)
                )
            )
        )
    return stmt, order


def _paged_feed(stmt: AnySelect) -> tuple[AnySelect, Order]:
    """The feed's page on PostgreSQL: the newest page of each followed author (LATERAL,
    from the (author_id, created_at, id) index), then the newest of those, from the
    index's keys alone: only the page's own articles are then read, where joining every
    candidate first read each followee's page rows of the table."""
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
    return stmt.join(page, page.c.id == _articles.c.id), (page.c.created_at, page.c.id)


@cache
def page_read(dialect: str, shape: PageShape) -> HotRead:
    """One page of a list, newest first (parameters `page_limit`, `page_offset`).

    With one filter at most, the maintained count of what it matches is the `total` of
    every row: one statement for the page and its `articlesCount`. With `confirm`, the
    token check of the viewer (`viewer_id`, whose session is `session_id`) is its `live`."""
    counted = shape.counted()
    total = None
    if counted is not None:
        counting = count_statement(counted, param=counted).scalar_subquery()
        total = cast(counting, BigInteger)  # sum() is numeric
    live = _token_check() if shape.confirm else None
    stmt = _select(dialect, signed_in=shape.signed_in, total=total, live=live)
    paged_inside = shape.feed and dialect == "postgresql"  # SQLite has no LATERAL
    stmt, order = _filtered(stmt, shape, feed=shape.feed and not paged_inside)
    if paged_inside:
        stmt, order = _paged_feed(stmt)
    stmt = stmt.order_by(order[0].desc(), order[1].desc())
    if not paged_inside:  # else limited and offset inside
        stmt = stmt.limit(_page_limit()).offset(_page_offset())
    return HotRead(stmt)


@cache
def count_read(shape: PageShape) -> HotRead:
    """How many live articles the shape's filters match, counted from the rows (for the
    filters no maintained count answers), with the page's parameters."""
    stmt = select(func.count()).select_from(_articles).where(_articles.c.deleted_at.is_(None))
    return HotRead(_filtered(stmt, shape, feed=shape.feed)[0])


@cache
def article_read(
    dialect: str, signed_in: bool, by: Literal["slug", "id"], confirm: bool = False
) -> HotRead:
    """One article with its body, by slug or by id; with `confirm`, the token check of the
    viewer is its `live` (see `page_read`)."""
    live = _token_check() if confirm else None
    stmt = _select(dialect, signed_in=signed_in, body=_articles.c.body, live=live)
    if by == "slug":
        return HotRead(stmt.where(_articles.c.slug == bindparam("slug", type_=String)))
    return HotRead(stmt.where(_articles.c.id == bindparam("article_id", type_=Integer)))


@cache
def popular_tags_read(dialect: str) -> HotRead:
    """Every tag of live articles, most used first, then by name: one row, one array."""
    return HotRead(popular_names(TAG_USES, dialect))
