"""All SQL for comments.

The reads are Core statements built once per shape and run with bound parameters (see
articles/statements.py); their rows are read as `CommentView`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    bindparam,
    delete,
    exists,
    false,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.columns import iso_text
from conduit.articles.models import Article
from conduit.comments.models import Comment
from conduit.core.db import AnySelect
from conduit.users.models import Follow, User

_articles = Article.__table__
_comments = Comment.__table__
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


@cache
def _one_statement(dialect: str, signed_in: bool) -> AnySelect:
    return (
        select(*_columns(dialect, signed_in))
        .select_from(_comments.join(_users, _users.c.id == _comments.c.author_id))
        .where(_comments.c.id == bindparam("comment_id", type_=Integer))
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

    async def get_view(self, comment_id: int, viewer_id: int | None) -> CommentView:
        stmt = _one_statement(self._dialect(), viewer_id is not None)
        params = {"comment_id": comment_id, "viewer_id": viewer_id}
        return CommentView._make((await self.session.execute(stmt, params)).one())

    async def get_in_article(self, comment_id: int, article_id: int) -> Comment | None:
        stmt = select(Comment).where(Comment.id == comment_id, Comment.article_id == article_id)
        return (await self.session.scalars(stmt)).first()

    async def add(self, values: dict[str, Any]) -> int:
        result = await self.session.execute(insert(Comment).values(**values).returning(Comment.id))
        return int(result.scalar_one())

    async def delete(self, comment_id: int) -> None:
        await self.session.execute(delete(Comment).where(Comment.id == comment_id))
