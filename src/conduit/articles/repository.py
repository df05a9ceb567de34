"""All SQL for articles, tags and favorites.

Every read is a fixed number of statements whatever the page size. A page is one
statement: author, following, favorited, favoritesCount and the tags come from joins and
correlated subqueries. The total is read from the maintained counts (articles/counters.py),
which the write methods here keep exact, when the page does not tell it.

The read statements are built once per shape (filters used, signed in or not, dialect) and
run with bound parameters: SQLAlchemy then finds their compiled form in its cache without
rebuilding or traversing them (a statement's cache key is memoized on the instance). They
are Core statements on the tables, not ORM entities: rows come back as plain tuples.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, Literal
from typing import cast as typing_cast

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
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    select,
    true,
    type_coerce,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from conduit.articles.counters import ArticleCounters, count_answering, count_statement
from conduit.articles.models import Article, ArticleTag, CountKind, Favorite, Tag
from conduit.articles.schemas import ArticleFilter
from conduit.core.db import AnyRow, AnySelect
from conduit.core.upsert import insert_ignore
from conduit.users.models import Follow, User

RowLock = Literal["share", "update"] | None

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


# The columns of an article view, in this order (the service unpacks them by position):
# slug, title, description, created_at, updated_at, favorites_count, favorited,
# author_username, author_bio, author_image, author_following, tag_list [, body] [, id]
def _view(dialect: str, *, signed_in: bool, with_body: bool) -> AnySelect:
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
        _articles.c.created_at,
        _articles.c.updated_at,
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


TOTAL = 12  # the column of a page's row that holds the count, when it has one


@cache
def _page_statement(
    dialect: str, signed_in: bool, tag: bool, author: bool, favorited_by: bool, feed: bool
) -> AnySelect:
    """One page of a list: the filters used are bound parameters of the same name.

    With one filter at most, the maintained count of what it matches is the last column
    (TOTAL) of every row: one statement for the page and its `articlesCount`."""
    stmt = _view(dialect, signed_in=signed_in, with_body=False)
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
    if paged_inside:
        return stmt  # limited and offset inside
    return stmt.limit(_page_limit()).offset(_page_offset())


@cache
def _article_statement(dialect: str, signed_in: bool, by: Literal["slug", "id"]) -> AnySelect:
    """One article with its body, by slug or by id; its id is the last column."""
    stmt = _view(dialect, signed_in=signed_in, with_body=True).add_columns(_articles.c.id)
    if by == "slug":
        return stmt.where(_articles.c.slug == bindparam("slug", type_=String))
    return stmt.where(_articles.c.id == bindparam("article_id", type_=Integer))


def _apply_filter(stmt: AnySelect, where: ArticleFilter) -> AnySelect:
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


class ArticleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.counters = ArticleCounters(session)

    # --- reads -------------------------------------------------------------------

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def list_page(
        self, where: ArticleFilter, viewer_id: int | None, *, limit: int, offset: int
    ) -> tuple[Sequence[AnyRow], int | None]:
        """A page of article views (see `_view` for the columns), newest first, and the
        number of articles `where` matches when the page's rows tell it (see TOTAL)."""
        stmt = _page_statement(
            self._dialect(),
            viewer_id is not None,
            where.tag is not None,
            where.author is not None,
            where.favorited_by is not None,
            where.feed_of is not None,
        )
        params = {
            "viewer_id": viewer_id,
            "tag": where.tag,
            "author": where.author,
            "favorited_by": where.favorited_by,
            "feed_of": where.feed_of,
            "page_limit": limit,
            "page_offset": offset,
        }
        rows = (await self.session.execute(stmt, params)).all()
        total = rows[0][TOTAL] if rows and len(rows[0]) > TOTAL else None
        return rows, total

    async def count(self, where: ArticleFilter) -> int:
        counted = await self.counters.count(where)
        if counted is not None:
            return counted
        # Filters combined: counted from the rows, bounded by the most selective one.
        stmt = _apply_filter(
            select(func.count())
            .select_from(Article)
            .join(User, User.id == Article.author_id)
            .where(Article.deleted_at.is_(None)),
            where,
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def get_view(self, article_id: int, viewer_id: int | None) -> AnyRow | None:
        """The live article's view with its body, then its id (see `_view`)."""
        stmt = _article_statement(self._dialect(), viewer_id is not None, "id")
        params = {"article_id": article_id, "viewer_id": viewer_id}
        return (await self.session.execute(stmt, params)).first()

    async def get_view_by_slug(self, slug: str, viewer_id: int | None) -> AnyRow | None:
        stmt = _article_statement(self._dialect(), viewer_id is not None, "slug")
        params = {"slug": slug, "viewer_id": viewer_id}
        return (await self.session.execute(stmt, params)).first()

    async def popular_tags(self) -> list[str]:
        return await self.counters.popular_tags()

    async def get_by_slug(
        self, slug: str, *, lock: RowLock = None, deleted: bool = False
    ) -> Article | None:
        """The live (or, with `deleted`, the soft-deleted) article with this slug.

        `lock` holds its row until the transaction ends.

        "share" (FOR KEY SHARE) keeps it from being deleted while rows that reference it
        are written; "update" (FOR UPDATE) for changing or deleting it. SQLite needs
        neither: its writers are serialised.
        """
        gone = Article.deleted_at.is_not(None) if deleted else Article.deleted_at.is_(None)
        stmt = select(Article).where(Article.slug == slug, gone)
        if lock == "share":
            stmt = stmt.with_for_update(read=True, key_share=True)
        elif lock == "update":
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def slug_exists(self, slug: str) -> bool:
        """Taken by any article, deleted ones included: a deleted article's slug stays reserved."""
        stmt = select(exists().where(Article.slug == slug))
        return bool((await self.session.execute(stmt)).scalar_one())

    # --- writes ------------------------------------------------------------------

    async def try_insert(self, values: dict[str, Any]) -> int | None:
        """Insert a (live) article; None when its slug was taken in the meantime."""
        try:
            async with self.session.begin_nested():
                result = await self.session.execute(
                    insert(Article).values(**values).returning(Article.id)
                )
                article_id = int(result.scalar_one())
        except IntegrityError:
            return None
        author_id = int(values["author_id"])
        await self.counters.add([(CountKind.ALL, 0, 1), (CountKind.AUTHOR, author_id, 1)])
        return article_id

    async def try_update(self, article_id: int, values: dict[str, Any]) -> bool:
        """Update an article's columns; False when a new slug was taken in the meantime."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    update(Article).where(Article.id == article_id).values(**values)
                )
                return True
        except IntegrityError:
            return False

    async def set_tags(self, article_id: int, names: Sequence[str]) -> None:
        """Replace the tags of a live article (the only kind whose tags change)."""
        removed = await self.session.scalars(
            delete(ArticleTag)
            .where(ArticleTag.article_id == article_id)
            .returning(ArticleTag.tag_id)
        )
        old = set(removed.all())
        new: set[int] = set()
        if names:
            await self.session.execute(
                insert_ignore(self.session, Tag), [{"name": name} for name in names]
            )
            tagged = (
                insert(ArticleTag)
                .from_select(
                    ["article_id", "tag_id", "article_created_at"],
                    select(literal(article_id), Tag.id, _created_at(article_id)).where(
                        Tag.name.in_(names)
                    ),
                )
                .returning(ArticleTag.tag_id)
            )
            new = set(await self.session.scalars(tagged))
        await self.counters.add(
            [(CountKind.TAG, t, 1) for t in new - old] + [(CountKind.TAG, t, -1) for t in old - new]
        )

    async def set_deleted(self, article_id: int, deleted_at: datetime | None) -> None:
        """Soft delete a live article (or, with None, restore a deleted one): the row, its
        tags, favorites and comments are kept; it leaves (or rejoins) every count."""
        gone = deleted_at is not None
        was = Article.deleted_at.is_(None) if gone else Article.deleted_at.is_not(None)
        changed = await self.session.execute(
            update(Article)
            .where(Article.id == article_id, was)
            .values(deleted_at=deleted_at)
            .returning(Article.author_id)
        )
        author_id = changed.scalar_one_or_none()
        if author_id is None:  # already in that state: nothing to count
            return
        change = -1 if gone else 1
        tag_ids = await self.session.scalars(
            select(ArticleTag.tag_id).where(ArticleTag.article_id == article_id)
        )
        await self.counters.add(
            [
                (CountKind.ALL, 0, change),
                (CountKind.AUTHOR, author_id, change),
                *((CountKind.TAG, t, change) for t in tag_ids),
            ]
        )
        await self.counters.add_to_fans(article_id, change)

    async def favorite(self, user_id: int, article_id: int) -> None:
        """Favorite a live article (held by the caller's lock, so that it stays live)."""
        stmt = insert_ignore(self.session, Favorite).from_select(
            ["user_id", "article_id", "article_created_at"],
            select(literal(user_id), Article.id, Article.created_at).where(
                Article.id == article_id
            ),
        )
        if _changed_rows(await self.session.execute(stmt)):
            await self.counters.add([(CountKind.FAVORITED, user_id, 1)])

    async def unfavorite(self, user_id: int, article_id: int) -> None:
        """Unfavorite a live article (held by the caller's lock, so that it stays live)."""
        stmt = delete(Favorite).where(
            Favorite.user_id == user_id, Favorite.article_id == article_id
        )
        if _changed_rows(await self.session.execute(stmt)):
            await self.counters.add([(CountKind.FAVORITED, user_id, -1)])

    async def recount(self) -> None:
        """Rebuild the maintained counts from the rows (see ArticleCounters.recount)."""
        await self.counters.recount()


def _created_at(article_id: int) -> Any:
    return select(Article.created_at).where(Article.id == article_id).scalar_subquery()


def _changed_rows(result: Any) -> int:
    return int(typing_cast("CursorResult[Any]", result).rowcount)
