"""All SQL for comments.

The reads are Core statements built once per shape and run with bound parameters (see
articles/statements.py); their rows are read as `CommentView`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    exists,
    false,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.columns import iso_text
from conduit.articles.models import Article
from conduit.comments.models import Comment
from conduit.core.db import AnySelect, UTCDateTime
from conduit.users.models import Follow, User

_articles = Article.__table__
_comments = cast(Table, Comment.__table__)
_users = User.__table__
_follows = Follow.__table__


class CommentView(NamedTuple):
    """A row of every comment read: the columns `_columns` selects, in this order."""

    id: int | None  # None in the one row of an article without comments
    created_at: str  # as the API shows it (`articles.columns.iso_text`)
    updated_at: str
    body: str
    author_username: str
    author_bio: str | None
    author_image: str | None
    author_following: bool | int  # SQLite answers 0 or 1


def _columns(dialect: str, signed_in: bool) -> list[Any]:
    following: ColumnElement[Any] = (
        exists().where(
            _follows.c.follower_id == bindparam("viewer_id", type_=Integer),
            _follows.c.followee_id == _users.c.id,
        )
        if signed_in
        else false()
    )
    columns: dict[str, ColumnElement[Any]] = {
        "id": _comments.c.id,
        "created_at": iso_text(_comments.c.created_at, dialect),
        "updated_at": iso_text(_comments.c.updated_at, dialect),
        "body": _comments.c.body,
        "author_username": _users.c.username,
        "author_bio": _users.c.bio,
        "author_image": _users.c.image,
        "author_following": following,
    }
    assert tuple(columns) == CommentView._fields  # rows are read by position as CommentView
    return [column.label(name) for name, column in columns.items()]


@cache
def _for_slug_statement(dialect: str, signed_in: bool) -> AnySelect:
    """The comments of the live article with this slug, newest first, in one statement: no
    row when there is no such article, one row of NULLs when it has no comments."""
    return (
        select(*_columns(dialect, signed_in))
        .select_from(
            _articles.outerjoin(_comments, _comments.c.article_id == _articles.c.id).outerjoin(
                _users, _users.c.id == _comments.c.author_id
            )
        )
        .where(
            _articles.c.slug == bindparam("slug", type_=String),
            _articles.c.deleted_at.is_(None),
        )
        .order_by(_comments.c.created_at.desc(), _comments.c.id.desc())
    )


class CommentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def list_for_slug(self, slug: str, viewer_id: int | None) -> list[CommentView] | None:
        """Comment views of the live article `slug`, newest first; None when there is no
        such article."""
        stmt = _for_slug_statement(self._dialect(), viewer_id is not None)
        rows = (await self.session.execute(stmt, {"slug": slug, "viewer_id": viewer_id})).all()
        if not rows:
            return None
        views = [CommentView._make(row) for row in rows]
        return [] if views[0].id is None else views

    async def add(self, slug: str, values: dict[str, Any]) -> int | None:
        """A comment (`values`: its columns but the article's) on the live article `slug`;
        its id, or None when there is no such article."""
        params = {**values, "slug": slug}
        comment_id: int | None = (await self.session.execute(_ADD, params)).scalar()
        return comment_id

    async def delete(
        self, slug: str, comment_id: int, actor_id: int, *, any_author: bool
    ) -> CommentOwner | None:
        """Delete the comment `comment_id` of the live article `slug` if `actor_id` wrote
        it (or `any_author`); None when it was deleted, else who owns what was not."""
        params = {"slug": slug, "comment_id": comment_id, "actor_id": actor_id}
        deleted = await self.session.execute(_DELETE, {**params, "any_author": any_author})
        if deleted.first() is not None:
            return None
        return CommentOwner(*(await self.session.execute(_OWNER, params)).first() or (None, None))


class CommentOwner(NamedTuple):
    """Why a comment was not deleted: no such article, no such comment in it, or another
    author's comment."""

    article_id: int | None
    author_id: int | None


def _live_article_id(*, lock: bool) -> Any:
    """The id of the live article `slug`; held FOR SHARE with `lock`, so that it cannot be
    deleted while the row that refers to it is written."""
    stmt = select(_articles.c.id).where(
        _articles.c.slug == bindparam("slug", type_=String), _articles.c.deleted_at.is_(None)
    )
    return stmt.with_for_update(read=True) if lock else stmt


def _add() -> Any:
    article = _live_article_id(lock=True).subquery("article")
    row = select(
        bindparam("body", type_=Text),
        article.c.id,
        bindparam("author_id", type_=Integer),
        bindparam("created_at", type_=UTCDateTime),
        bindparam("updated_at", type_=UTCDateTime),
    )
    columns = ["body", "article_id", "author_id", "created_at", "updated_at"]
    return _comments.insert().from_select(columns, row).returning(_comments.c.id)


_ADD = _add()

_DELETE = (
    delete(_comments)
    .where(
        _comments.c.id == bindparam("comment_id", type_=Integer),
        _comments.c.article_id == _live_article_id(lock=False).scalar_subquery(),
        (_comments.c.author_id == bindparam("actor_id", type_=Integer))
        | bindparam("any_author", type_=Boolean),
    )
    .returning(_comments.c.id)
)

_OWNER = (
    select(_articles.c.id, _comments.c.author_id)
    .select_from(
        _articles.outerjoin(
            _comments,
            (_comments.c.article_id == _articles.c.id)
            & (_comments.c.id == bindparam("comment_id", type_=Integer)),
        )
    )
    .where(_articles.c.slug == bindparam("slug", type_=String), _articles.c.deleted_at.is_(None))
)
