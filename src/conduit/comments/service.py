"""Comments: the rules around the repository."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.service import ArticleService
from conduit.comments.repository import CommentRepository
from conduit.comments.schemas import CommentCreate, CommentRead
from conduit.core.db import AnyRow, utcnow
from conduit.core.errors import Forbidden, NotFound
from conduit.core.permissions import Actor, Permission
from conduit.users.service import author_profile


def _read(row: AnyRow) -> CommentRead:
    return CommentRead(
        id=row.id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        body=row.body,
        author=author_profile(row),
    )


class CommentService:
    def __init__(self, session: AsyncSession) -> None:
        self.comments = CommentRepository(session)
        self.articles = ArticleService(session)

    async def list_for(self, slug: str, viewer_id: int | None) -> list[CommentRead]:
        article = await self.articles.require(slug)
        rows = await self.comments.list_for_article(article.id, viewer_id)
        return [_read(row) for row in rows]

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
