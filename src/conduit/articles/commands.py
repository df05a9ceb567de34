"""Repairs from the command line."""

from __future__ import annotations

from conduit.articles.service import ArticleService
from conduit.core.cache import create_cache
from conduit.core.config import Settings
from conduit.core.db import Database


async def recount_articles(settings: Settings) -> None:
    """Rebuild the maintained counts of live articles from the rows, in one transaction
    (`conduit db recount`): for a database whose articles, tags or favorites were changed
    other than through the application. Safe while the application serves: on PostgreSQL
    the writers of counts wait for it, then apply their changes on top."""
    db = Database(settings)
    cache = create_cache(settings)  # a running server's cached lists show the new counts
    try:
        async with db.session() as session:
            await ArticleService(session, cache).recount()
    finally:
        await cache.close()
        await db.dispose()
