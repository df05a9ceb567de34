"""Comments: the rules around the repository."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.service import ArticleService
from conduit.auth.permissions import Permission
from conduit.auth.principal import Principal
from conduit.comments.repository import CommentRepository, CommentView
from conduit.comments.schemas import CommentCreate, CommentRead
from conduit.core.db import utcnow
from conduit.core.errors import Forbidden, NotFound
from conduit.users.render import profile


def _comment(row: CommentView) -> dict[str, Any]:
    """A comment as the JSON shows it: the fields of `CommentRead`, camelCase, in its order.
    The list serialises them itself; a write validates its response model from them."""
    return {
        "id": row.id,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "body": row.body,
        "author": profile(
            row.author_username, row.author_bio, row.author_image, row.author_following
        ),
    }


class CommentService:
    def __init__(self, session: AsyncSession) -> None:
        self.comments = CommentRepository(session)
        self.articles = ArticleService(session)

    async def list_json(self, slug: str, viewer_id: int | None) -> bytes:
        """The JSON of `MultipleCommentsResponse`, rendered from the rows (one statement)."""
        rows = await self.comments.list_for_slug(slug, viewer_id)
        if rows is None:
            raise NotFound("article")
        return to_json({"comments": [_comment(row) for row in rows]})

    async def add(self, slug: str, author_id: int, data: CommentCreate) -> CommentRead:
        article = await self.articles.live_article(slug, lock="share")
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
        row = await self.comments.get_view(comment_id, author_id)
        return CommentRead.model_validate(_comment(row))

    async def delete(self, slug: str, comment_id: int, actor: Principal) -> None:
        """By the comment's author, a moderator or an admin (not the article's author)."""
        article = await self.articles.live_article(slug)
        # A comment reached through another article's path does not exist here.
        comment = await self.comments.get_in_article(comment_id, article.id)
        if comment is None:
            raise NotFound("comment")
        if comment.author_id != actor.user_id and not actor.can(Permission.DELETE_ANY_COMMENT):
            raise Forbidden("comment")
        await self.comments.delete(comment.id)
