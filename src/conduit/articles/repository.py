"""All SQL for articles, tags and favorites.

Every read is a fixed number of statements whatever the page size; the read statements
themselves are in articles/statements.py. The total is read from the maintained counts
(articles/counters.py), which the write methods here keep exact, when the page does not
tell it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from typing import cast as typing_cast

from sqlalchemy import (
    delete,
    exists,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.counters import ArticleCounters
from conduit.articles.models import Article, ArticleTag, CountKind, Favorite, Tag
from conduit.articles.schemas import ArticleFilter
from conduit.articles.statements import (
    ArticleView,
    PageShape,
    article_read,
    as_view,
    count_read,
    page_read,
)
from conduit.auth.models import live_session
from conduit.auth.principal import TokenCheck
from conduit.core.db import utcnow
from conduit.core.upsert import insert_ignore

RowLock = Literal["share", "update"] | None


# An access token's check (`auth.models.live_session`) by itself.
_TOKEN_IS_LIVE = select(exists().where(live_session()))


class ArticleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.counters = ArticleCounters(session)

    # --- reads -------------------------------------------------------------------

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def list_page(
        self,
        where: ArticleFilter,
        viewer_id: int | None,
        check: TokenCheck | None,
        *,
        limit: int,
        offset: int,
    ) -> list[ArticleView]:
        """A page of article views for `viewer_id` (None: anonymous), newest first; a row's
        `total` is the number of articles `where` matches when a maintained count tells it,
        and its `live` whether `check` holds, when one is given."""
        params = {**_viewing(viewer_id, check), **_filtering(where)}
        params.update(page_limit=limit, page_offset=offset)
        read = page_read(self._dialect(), _shape(where, viewer_id, check))
        rows = await read.all(self.session, params)
        return list(map(as_view, rows))

    async def count(self, where: ArticleFilter) -> int:
        counted = await self.counters.count(where)
        if counted is not None:
            return counted
        # Filters combined: counted from the rows, bounded by the most selective one.
        read = count_read(_shape(where, None, None))
        [(counted,)] = await read.all(self.session, _filtering(where))  # an aggregate's one row
        return int(counted)

    async def get_view(self, article_id: int, viewer_id: int | None) -> ArticleView | None:
        """The live article's view with its body."""
        read = article_read(self._dialect(), viewer_id is not None, "id")
        row = await read.first(self.session, {"article_id": article_id, "viewer_id": viewer_id})
        return None if row is None else as_view(row)

    async def get_view_by_slug(
        self, slug: str, viewer_id: int | None, check: TokenCheck | None
    ) -> ArticleView | None:
        """The live article's view with its body; its `live` tells whether `check` holds,
        when one is given (see `list_page`)."""
        read = article_read(self._dialect(), viewer_id is not None, "slug", check is not None)
        row = await read.first(self.session, {**_viewing(viewer_id, check), "slug": slug})
        return None if row is None else as_view(row)

    async def token_is_live(self, check: TokenCheck) -> bool:
        """The check a read makes in its own statement, by itself: for a read that found
        no row to carry it."""
        result = await self.session.execute(_TOKEN_IS_LIVE, _viewing(check.user_id, check))
        return bool(result.scalar())

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


def _viewing(viewer_id: int | None, check: TokenCheck | None) -> dict[str, Any]:
    """The parameters of a read's signed-in columns and of its token check."""
    if check is None:
        return {"viewer_id": viewer_id}
    return {"viewer_id": check.user_id, "session_id": check.session_id, "now": utcnow()}


def _shape(where: ArticleFilter, viewer_id: int | None, check: TokenCheck | None) -> PageShape:
    return PageShape(
        signed_in=viewer_id is not None,
        tag=where.tag is not None,
        author=where.author is not None,
        favorited_by=where.favorited_by is not None,
        feed=where.feed_of is not None,
        confirm=check is not None,
    )


def _filtering(where: ArticleFilter) -> dict[str, Any]:
    """The parameters of a list's filters (see `statements.PageShape`)."""
    return {
        "tag": where.tag,
        "author": where.author,
        "favorited_by": where.favorited_by,
        "feed_of": where.feed_of,
    }


def _created_at(article_id: int) -> Any:
    return select(Article.created_at).where(Article.id == article_id).scalar_subquery()


def _changed_rows(result: Any) -> int:
    return int(typing_cast("CursorResult[Any]", result).rowcount)
