"""Comments: the rules around the repository."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.service import ArticleService
from conduit.auth.permissions import Actor, Permission
from conduit.comments.repository import CommentRepository
from conduit.comments.schemas import CommentCreate, CommentRead
from conduit.core.db import AnyRow, utcnow
from conduit.core.errors import Forbidden, NotFound
from conduit.core.schemas import iso_millis


def _comment(row: AnyRow, stamp: Callable[[datetime], Any]) -> dict[str, Any]:
    """A comment view row (columns as `CommentRepository` documents them) as the fields of
    `CommentRead`, camelCase, in its order; `stamp` renders the timestamps."""
    comment_id, created_at, updated_at, body, username, bio, image, following = row
    return {
        "id": comment_id,
        "createdAt": stamp(created_at),
        "updatedAt": stamp(updated_at),
        "body": body,
        "author": {"username": username, "bio": bio, "image": image, "following": bool(following)},
    }


def _same(value: datetime) -> datetime:
    return value


def _read(row: AnyRow) -> CommentRead:
    return CommentRead.model_validate(_comment(row, _same))


class CommentService:
    def __init__(self, session: AsyncSession) -> None:
        self.comments = CommentRepository(session)
        self.articles = ArticleService(session)

    async def list_json(self, slug: str, viewer_id: int | None) -> bytes:
        """The JSON of `MultipleCommentsResponse`, rendered from the rows (one statement)."""
        rows = await self.comments.list_for_slug(slug, viewer_id)
        if rows is None:
            raise NotFound("article")
        return to_json({"comments": [_comment(row, iso_millis) for row in rows]})

    async def add(self, slug: str, author_id: int, data: CommentCreate) -> CommentRead:
        article = await self.articles.require(slug, lock="share")
        now = utcnow()
        comment_id = await self.comments.add(
            {
                "body": data.body,
                "article_id": article.id,
                "author_id": author_id,
                "created_at": now,
                "updated_at": now,
            }
        )
        return _read(await self.comments.get_view(comment_id, author_id))

    async def delete(self, slug: str, comment_id: int, actor: Actor) -> None:
        """By the comment's author, a moderator or an admin (not the article's author)."""
        article = await self.articles.require(slug)
        # A comment reached through another article's path does not exist here.
        comment = await self.comments.get_in_article(comment_id, article.id)
        if comment is None:
            raise NotFound("comment")
        if comment.author_id != actor.id and not actor.can(Permission.DELETE_ANY_COMMENT):
            raise Forbidden("comment")
        await self.comments.delete(comment.id)
