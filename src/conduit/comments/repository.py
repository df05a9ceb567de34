"""All SQL for comments."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.comments.models import Comment
from conduit.core.db import AnyRow, AnySelect
from conduit.users.models import Follow, User


def _view_query(viewer_id: int | None) -> AnySelect:
    return select(
        Comment.id,
        Comment.body,
        Comment.created_at,
        Comment.updated_at,
        User.username.label("author_username"),
        User.bio.label("author_bio"),
        User.image.label("author_image"),
        Follow.is_following(viewer_id, User.id).label("author_following"),
    ).join(User, User.id == Comment.author_id)


class CommentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_article(self, article_id: int, viewer_id: int | None) -> Sequence[AnyRow]:
        stmt = (
            _view_query(viewer_id)
            .where(Comment.article_id == article_id)
            .order_by(Comment.created_at.desc(), Comment.id.desc())
        )
        return (await self.session.execute(stmt)).all()

    async def get_view(self, comment_id: int, viewer_id: int | None) -> AnyRow:
        stmt = _view_query(viewer_id).where(Comment.id == comment_id)
        return (await self.session.execute(stmt)).one()

    async def get_in_article(self, comment_id: int, article_id: int) -> Comment | None:
        stmt = select(Comment).where(Comment.id == comment_id, Comment.article_id == article_id)
        return (await self.session.scalars(stmt)).first()

    async def add(self, values: dict[str, Any]) -> int:
        result = await self.session.execute(insert(Comment).values(**values).returning(Comment.id))
        return int(result.scalar_one())

    async def delete(self, comment_id: int) -> None:
        await self.session.execute(delete(Comment).where(Comment.id == comment_id))
