"""Comments: the rules around the repository."""

from __future__ import annotations

from typing import Any

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.permissions import Permission
from conduit.auth.principal import Principal
from conduit.comments.repository import CommentRepository, CommentView
from conduit.comments.schemas import CommentCreate, CommentRead
from conduit.core.db import utcnow
from conduit.core.errors import Forbidden, NotFound
from conduit.core.schemas import iso_millis
from conduit.users.render import Author, profile


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

    async def list_json(self, slug: str, viewer_id: int | None) -> bytes:
        """The JSON of `MultipleCommentsResponse`, rendered from the rows (one statement)."""
        rows = await self.comments.list_for_slug(slug, viewer_id)
        if rows is None:
            raise NotFound("article")
        return to_json({"comments": [_comment(row) for row in rows]})

    async def add(self, slug: str, author: Author, data: CommentCreate) -> CommentRead:
        """The response is rendered from what was written: nothing is read back."""
        now = utcnow()
        values = {"body": data.body, "author_id": author.id, "created_at": now, "updated_at": now}
        comment_id = await self.comments.add(slug, values)
        if comment_id is None:
            raise NotFound("article")
        written = iso_millis(now)
        # No one follows themselves.
        row = CommentView(
            comment_id,
            written,
            written,
            data.body,
            author.username,
            author.bio,
            author.image,
            False,
        )
        return CommentRead.model_validate(_comment(row))

    async def delete(self, slug: str, comment_id: int, actor: Principal) -> None:
        """By the comment's author, a moderator or an admin (not the article's author). A
        comment reached through another article's path does not exist here."""
        any_author = actor.can(Permission.DELETE_ANY_COMMENT)
        kept = await self.comments.delete(slug, comment_id, actor.user_id, any_author=any_author)
        if kept is None:
            return
        if kept.article_id is None:
            raise NotFound("article")
        if kept.author_id is None:
            raise NotFound("comment")
        raise Forbidden("comment")
