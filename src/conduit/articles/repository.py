"""All SQL for articles, tags and favorites.

Every read is a fixed number of statements whatever the page size; the read statements
themselves are in articles/statements.py. The total is read from the maintained counts
(articles/counters.py), which the write methods here keep exact, when the page does not
tell it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles import dml
from conduit.articles.counters import ArticleCounters
from conduit.articles.dml import ArticleHead
from conduit.articles.models import Article, CountKind
from conduit.articles.schemas import ArticleFilter
from conduit.articles.statements import (
    ArticleView,
    PageShape,
    article_read,
    as_view,
    count_read,
    page_read,
    popular_tags_read,
)
from conduit.articles.upkeep import CountUpkeep
from conduit.auth.models import live_session
from conduit.auth.principal import TokenCheck
from conduit.core.db import utcnow

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
        """The tags of live articles, most used first (then by name): from the TAG counts,
        a few rows per tag, rather than from every tag of every article."""
        [(names,)] = await popular_tags_read(self._dialect()).all(self.session, {})
        return list(names)

    async def author_of(self, slug: str) -> int | None:
        """The author of the live article `slug`, if there is one: after a write by key
        found no row, to tell a 404 from a 403."""
        return (await self.session.execute(dml.AUTHOR_OF, {"article_slug": slug})).scalar()

    # --- writes ------------------------------------------------------------------
    #
    # Rows are changed by key (the slug), in the statement that changes them, without
    # loading the article first. A write that must not meet a concurrent deletion (a
    # favorite, a comment) selects the article FOR SHARE in its own statement: a deletion
    # (an UPDATE) then waits for it to commit, or it waits for the deletion and finds the
    # article gone, so that the deletion's counts see every favorite.

    async def add_tags(self, names: Sequence[str]) -> None:
        """Create the tags of these names that do not exist yet."""
        if names:
            await self.session.execute(
                dml.insert_tags(self._dialect()), [{"name": n} for n in names]
            )

    async def insert(self, values: dict[str, Any], tags: Sequence[str]) -> int | None:
        """Insert a live article (`values`: `dml.ARTICLE_COLUMNS`) with its tags (which
        exist: `add_tags`), counted; its id, or None and nothing written when its slug is
        taken (by any article, deleted ones included: a deleted article's slug stays
        reserved)."""
        if self._dialect() == "postgresql":
            params: dict[str, Any] = {f"new_{k}": v for k, v in values.items()}
            params["names"] = list(tags)
            created: int | None = (await self.session.execute(dml.CREATED, params)).scalar()
            return created
        article_id = (await self.session.execute(dml.insert_article("sqlite"), values)).scalar()
        if article_id is not None:
            if tags:
                params = {"article_id": article_id, "names": list(tags)}
                await self.session.execute(dml.LINK_TAGS, params)
            await self.count_in(article_id, 1)
        return article_id

    async def count_in(self, article_id: int, change: int) -> None:
        """Count the article among the live ones (+1: inserted or restored) or no more
        (-1: deleted), with its tags and favorites (see `ArticleCounters.add_article`)."""
        await self.counters.add_article(article_id, change)

    async def try_update(self, article_id: int, values: dict[str, Any]) -> bool:
        """Update an article's columns; False when a new slug was taken in the meantime
        (only a new slug can conflict, so only then is a savepoint needed)."""
        table = cast(Table, Article.__table__)
        stmt = update(table).where(table.c.id == article_id).values(**values)
        if "slug" not in values:
            await self.session.execute(stmt)
            return True
        try:
            async with self.session.begin_nested():
                await self.session.execute(stmt)
                return True
        except IntegrityError:
            return False

    async def lock_for_update(self, slug: str) -> ArticleHead | None:
        """The live article's head, its row held until the transaction ends."""
        row = (await self.session.execute(dml.HEAD_FOR_UPDATE, {"article_slug": slug})).first()
        return None if row is None else ArticleHead(*row)

    async def tag(self, article_id: int, names: Sequence[str]) -> set[int]:
        """Give the article these tags (created if new); the ids of those it did not have."""
        if not names:
            return set()
        await self.add_tags(names)
        params = {"article_id": article_id, "names": list(names)}
        return set((await self.session.execute(dml.LINK_TAGS, params)).scalars())

    async def set_tags(self, article_id: int, names: Sequence[str]) -> None:
        """Replace the tags of a live article (the only kind whose tags change)."""
        removed = await self.session.execute(dml.UNTAG, {"article_id": article_id})
        old = set(removed.scalars())
        new = await self.tag(article_id, names)
        await self.counters.add(
            [(CountKind.TAG, t, 1) for t in new - old] + [(CountKind.TAG, t, -1) for t in old - new]
        )

    async def delete(
        self, slug: str, actor_id: int, *, any_author: bool, now: datetime
    ) -> int | None:
        """Soft delete the live article `slug` if `actor_id` wrote it (or `any_author`);
        its id, or None when no such article was deleted. The row, its tags, favorites
        and comments are kept; it leaves every count."""
        params = {"article_slug": slug, "actor_id": actor_id, "any_author": any_author, "now": now}
        article_id: int | None = (await self.session.execute(dml.DELETE, params)).scalar()
        if article_id is not None:
            await self.count_in(article_id, -1)
        return article_id

    async def restore(self, slug: str) -> int | None:
        """Bring the deleted article `slug` back; its id, or None when there is none."""
        article_id: int | None = (
            await self.session.execute(dml.RESTORE, {"article_slug": slug})
        ).scalar()
        if article_id is not None:
            await self.count_in(article_id, 1)
        return article_id

    async def favorite(self, user_id: int, slug: str) -> None:
        """Favorite the live article `slug` (nothing when there is none, or it already is)."""
        stmt = dml.favorite(self._dialect())
        params = {"user_id": user_id, "article_slug": slug}
        if (await self.session.execute(stmt, params)).first() is not None:
            await self.counters.add([(CountKind.FAVORITED, user_id, 1)])

    async def unfavorite(self, user_id: int, slug: str) -> None:
        """Unfavorite the live article `slug` (nothing when there is none, or it is not)."""
        params = {"user_id": user_id, "article_slug": slug}
        if (await self.session.execute(dml.UNFAVORITE, params)).first() is not None:
            await self.counters.add([(CountKind.FAVORITED, user_id, -1)])

    async def recount(self) -> None:
        """Rebuild the maintained counts from the rows (see CountUpkeep.recount)."""
        await CountUpkeep(self.session).recount()

    async def fold_counts(self) -> int:
        """Move pending count deltas into the counts (see CountUpkeep.fold)."""
        return await CountUpkeep(self.session).fold()


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
