"""All SQL for comments.

The reads are Core statements built once per shape and run with bound parameters (see
articles/repository.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

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

from conduit.articles.models import Article
from conduit.comments.models import Comment
from conduit.core.db import AnyRow, AnySelect
from conduit.users.models import Follow, User

_articles = Article.__table__
_comments = Comment.__table__
_users = User.__table__
_follows = Follow.__table__


# The columns of a comment view, in this order (the service unpacks them by position):
# id, created_at, updated_at, body, author_username, author_bio, author_image,
# author_following
def _columns(signed_in: bool) -> list[Any]:
    following: ColumnElement[bool] = (
        exists().where(
            _follows.c.follower_id == bindparam("viewer_id", type_=Integer),
            _follows.c.followee_id == _users.c.id,
        )
        if signed_in
        else false()
    )
    return [
        _comments.c.id,
        _comments.c.created_at,
        _comments.c.updated_at,
        _comments.c.body,
        _users.c.username,
        _users.c.bio,
        _users.c.image,
        following,
    ]


@cache
def _for_slug_statement(signed_in: bool) -> AnySelect:
    """The comments of the live article with this slug, newest first, in one statement: no
    row when there is no such article, one row of NULLs when it has no comments."""
    return (
        select(*_columns(signed_in))
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
def _one_statement(signed_in: bool) -> AnySelect:
    return (
        select(*_columns(signed_in))
        .select_from(_comments.join(_users, _users.c.id == _comments.c.author_id))
        .where(_comments.c.id == bindparam("comment_id", type_=Integer))
    )


class CommentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_slug(self, slug: str, viewer_id: int | None) -> Sequence[AnyRow] | None:
        """Comment views (see `_columns`) of the live article `slug`, newest first; None
        when there is no such article."""
        params = {"slug": slug, "viewer_id": viewer_id}
        rows = (
            await self.session.execute(_for_slug_statement(viewer_id is not None), params)
        ).all()
        if not rows:
            return None
        return [] if rows[0][0] is None else rows

    async def get_view(self, comment_id: int, viewer_id: int | None) -> AnyRow:
        params = {"comment_id": comment_id, "viewer_id": viewer_id}
        return (await self.session.execute(_one_statement(viewer_id is not None), params)).one()

    async def get_in_article(self, comment_id: int, article_id: int) -> Comment | None:
        stmt = select(Comment).where(Comment.id == comment_id, Comment.article_id == article_id)
        return (await self.session.scalars(stmt)).first()

    async def add(self, values: dict[str, Any]) -> int:
        result = await self.session.execute(insert(Comment).values(**values).returning(Comment.id))
        return int(result.scalar_one())

    async def delete(self, comment_id: int) -> None:
        await self.session.execute(delete(Comment).where(Comment.id == comment_id))
