"""Articles, favorites, the feed and tags: the rules around the repository."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import timedelta

from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles import render
from conduit.articles.repository import ArticleRepository
from conduit.articles.schemas import (
    ArticleCreate,
    ArticleFilter,
    ArticleRead,
    ArticleUpdate,
)
from conduit.articles.statements import ArticleView
from conduit.auth.permissions import Permission
from conduit.auth.principal import Principal, TokenCheck
from conduit.core.cache import NULL_CACHE, Cache
from conduit.core.db import Database, utcnow
from conduit.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from conduit.core.pagination import Page
from conduit.core.schemas import iso_millis
from conduit.users.render import Author
from conduit.users.service import PROFILES

SLUG_BASE_MAX = 200
_SLUG_ATTEMPTS = 8
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# What other routes under `/api/articles/` are named: never an article's slug.
RESERVED_SLUGS = frozenset({"feed"})

# Cache generations (see core/cache.py): what a write changes, what a cached body shows.
ARTICLES = "articles"  # any article's content, existence or favorites
TAGS = "tags"  # the tags in use
ARTICLE_VIEWS = (ARTICLES, PROFILES)  # an article or a list embeds its author's profile
ALL_ARTICLES = ArticleFilter()


def slugify(title: str) -> str:
    """`How to Train Your Dragon!` -> `how-to-train-your-dragon`; letters of any script kept."""
    text = unicodedata.normalize("NFKC", title).lower()
    slug = _NON_WORD.sub("-", text).strip("-")[:SLUG_BASE_MAX].strip("-")
    return slug or "article"


def _with_suffix(base: str) -> str:
    return f"{base}-{secrets.token_hex(4)}"


def _viewing(viewer: Principal | None) -> tuple[int | None, TokenCheck | None]:
    """The caller's id, for a read's signed-in columns, and the check of its token the read
    must make in its own statement (None: anonymous, or already checked)."""
    return (None, None) if viewer is None else (viewer.user_id, viewer.token_check)


class ArticleService:
    """`cache` serves the anonymous hot reads and is invalidated by every write here: a
    caller that writes outside a request (seeding) passes the application's cache too."""

    def __init__(self, session: AsyncSession, cache: Cache = NULL_CACHE) -> None:
        self.session = session
        self.articles = ArticleRepository(session)
        self.cache = cache

    # --- cached reads: the JSON bytes of the response --------------------------------
    # Only the anonymous views are shared; a signed-in one carries `favorited`/`following`.

    async def list_json(self, where: ArticleFilter, viewer: Principal | None, page: Page) -> bytes:
        async def produce() -> bytes:
            return await self._fresh_list_json(where, viewer, page)

        if viewer is None and where == ALL_ARTICLES and page.offset == 0:
            key = f"articles:first:{page.limit}"
            return await self.cache.fetch("articles", key, ARTICLE_VIEWS, produce)
        return await produce()

    async def article_json(self, slug: str, viewer: Principal | None) -> bytes:
        async def produce() -> bytes:
            return await self._fresh_article_json(slug, viewer)

        if viewer is None:
            return await self.cache.fetch("article", f"article:{slug}", ARTICLE_VIEWS, produce)
        return await produce()

    def _changed(self, *generations: str) -> None:
        self.cache.invalidate_after_commit(self.session, *generations)

    # --- reads -------------------------------------------------------------------

    # The JSON of these is rendered from the rows (articles/render.py), without building
    # the response models: the bytes are those of `MultipleArticlesResponse` /
    # `SingleArticleResponse` (tests/articles/test_rendering.py compares them).

    async def _confirm(self, check: TokenCheck | None, live: bool | int | None) -> None:
        """401 unless the caller's access token is usable (`check`, when it was not checked
        yet): as the read's own rows tell (`live`) or, when the read returned no row to tell
        it, as the check by itself answers."""
        if check is None:
            return
        if live is None:
            live = await self.articles.token_is_live(check)
        if not live:
            raise Unauthorized("token", "is invalid")

    async def _fresh_list_json(
        self, where: ArticleFilter, viewer: Principal | None, page: Page
    ) -> bytes:
        """The JSON of `MultipleArticlesResponse`."""
        viewer_id, check = _viewing(viewer)
        rows = await self.articles.list_page(
            where, viewer_id, check, limit=page.limit, offset=page.offset
        )
        await self._confirm(check, rows[0].live if rows else None)
        # The total is only worth a query when neither the page's rows nor their number
        # tell it (filters combined on a full page, or a page past the end).
        if rows and len(rows) < page.limit:
            total = page.offset + len(rows)
        elif rows and rows[0].total is not None:
            total = rows[0].total
        elif not rows and page.offset == 0:
            total = 0
        else:
            total = await self.articles.count(where)
        return to_json({"articles": [render.listed(row) for row in rows], "articlesCount": total})

    async def _fresh_article_json(self, slug: str, viewer: Principal | None) -> bytes:
        """The JSON of `SingleArticleResponse`."""
        viewer_id, check = _viewing(viewer)
        row = await self.articles.get_view_by_slug(slug, viewer_id, check)
        await self._confirm(check, None if row is None else row.live)
        if row is None:
            raise NotFound("article")
        return to_json({"article": render.article(row)})

    async def _article_read(self, slug: str, viewer_id: int) -> ArticleRead:
        """The article as it is now in this transaction, for the response of a write."""
        row = await self.articles.get_view_by_slug(slug, viewer_id, None)
        if row is None:
            raise NotFound("article")
        return render.article_read(row)

    # --- writes ------------------------------------------------------------------

    async def create(self, author: Author, data: ArticleCreate) -> ArticleRead:
        """The response is rendered from what was written: nothing is read back."""
        now = utcnow()
        values = {
            "title": data.title,
            "description": data.description,
            "body": data.body,
            "author_id": author.id,
            "created_at": now,
            "updated_at": now,
        }
        base = slugify(data.title)
        slug = base if base not in RESERVED_SLUGS else _with_suffix(base)
        await self.articles.add_tags(data.tag_list)
        for _ in range(_SLUG_ATTEMPTS):
            if await self.articles.insert({**values, "slug": slug}, data.tag_list) is not None:
                break
            slug = _with_suffix(base)  # taken: by another article, or just now
        else:  # pragma: no cover - 8 random 32-bit suffixes all taken
            raise Conflict("slug")
        self._changed(*((ARTICLES, TAGS) if data.tag_list else (ARTICLES,)))
        written = iso_millis(now)
        # The columns of the read (`statements.ArticleView`): no one has favorited a new
        # article yet, and no one follows themselves.
        row = ArticleView(
            slug, data.title, data.description, written, written, 0, False,
            author.username, author.bio, author.image, False,
            data.tag_list, data.body, None, None,
        )  # fmt: skip
        return render.article_read(row)

    def _new_slug(self, title: str, current: str) -> str:
        """The slug to try first for a new title (a taken one fails the UPDATE, which is
        then tried again with a suffix)."""
        base = slugify(title)
        return _with_suffix(base) if base in RESERVED_SLUGS and base != current else base

    async def update(self, actor: Principal, slug: str, data: ArticleUpdate) -> ArticleRead:
        article = await self.articles.lock_for_update(slug)
        if article is None:
            raise NotFound("article")
        if article.author_id != actor.user_id:
            raise Forbidden("article")
        changes = data.model_dump(exclude_unset=True)
        tag_list = changes.pop("tag_list", None)
        # updatedAt always moves forward, even within the same millisecond.
        changes["updated_at"] = max(utcnow(), article.updated_at + timedelta(milliseconds=1))
        title = changes.get("title")
        if title is not None and title != article.title:
            changes["slug"] = self._new_slug(title, article.slug)
        for _ in range(_SLUG_ATTEMPTS):
            if await self.articles.try_update(article.id, changes):
                break
            changes["slug"] = _with_suffix(slugify(changes["title"]))
        else:  # pragma: no cover
            raise Conflict("slug")
        if tag_list is not None:
            await self.articles.set_tags(article.id, tag_list)
        self._changed(*((ARTICLES, TAGS) if tag_list is not None else (ARTICLES,)))
        return await self._article_read(changes.get("slug", article.slug), actor.user_id)

    async def delete(self, actor: Principal, slug: str) -> None:
        """Soft delete, by the author, a moderator or an admin; 404 before 403."""
        any_author = actor.can(Permission.DELETE_ANY_ARTICLE)
        deleted = await self.articles.delete(
            slug, actor.user_id, any_author=any_author, now=utcnow()
        )
        if deleted is None:
            if await self.articles.author_of(slug) is None:
                raise NotFound("article")
            raise Forbidden("article")
        self._changed(ARTICLES, TAGS)

    async def restore(self, actor: Principal, slug: str) -> ArticleRead:
        if await self.articles.restore(slug) is None:
            raise NotFound("article")
        self._changed(ARTICLES, TAGS)
        return await self._article_read(slug, actor.user_id)

    async def favorite(self, user_id: int, slug: str) -> ArticleRead:
        await self.articles.favorite(user_id, slug)
        self._changed(ARTICLES)
        return await self._article_read(slug, user_id)

    async def unfavorite(self, user_id: int, slug: str) -> ArticleRead:
        await self.articles.unfavorite(user_id, slug)
        self._changed(ARTICLES)
        return await self._article_read(slug, user_id)

    async def recount(self) -> None:
        """Rebuild the maintained article counts from the rows (`conduit db recount`)."""
        await self.articles.recount()
        self._changed(ARTICLES, TAGS)


class TagService:
    """The tags in use, most used first, answered from the read cache.

    A hit needs no database: the route takes no session (`SessionRoute` then opens no unit
    of work), and this service opens a read-only session for a miss only, where there is
    nothing to commit: a hit then costs neither a session nor the article service's
    dependencies."""

    def __init__(self, db: Database, cache: Cache) -> None:
        self.db = db
        self.cache = cache

    async def tags_json(self) -> bytes:
        async def produce() -> bytes:
            async with self.db.session(write=False) as session:
                tags = await ArticleRepository(session).popular_tags()
            return to_json({"tags": tags})  # `TagsResponse`'s bytes (strings from the database)

        return await self.cache.fetch("tags", "tags", (TAGS,), produce)
