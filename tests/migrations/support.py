"""Work on a scratch database through the app's own engine, and the raw INSERT statements
of every table (bound as the app binds them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, inspect, text

from conduit.core.config import Settings
from conduit.core.db import UTCDateTime
from conduit.core.engine import create_engine

T = TypeVar("T")


def on_connection(url: str, work: Callable[[Connection], T], *, commit: bool = True) -> T:
    """Run `work` on a sync connection of the app's own engine (same PRAGMAs on SQLite)."""

    async def go() -> T:
        engine = create_engine(Settings(_env_file=None, database_url=url))
        try:
            async with engine.connect() as conn:
                result = await conn.run_sync(work)
                if commit:
                    await conn.commit()
                else:
                    await conn.rollback()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


def table_names(url: str) -> set[str]:
    return on_connection(url, lambda conn: set(inspect(conn).get_table_names()))


# Raw SQL with bound parameters; timestamps are bound as the app binds them.
USER = (
    "INSERT INTO users (id, username, email, password_hash, created_at, updated_at) "
    "VALUES (:id, :username, :email, 'x', :created_at, :updated_at)"
)
ARTICLE = (
    "INSERT INTO articles (id, slug, title, description, body, author_id, created_at, updated_at) "
    "VALUES (:id, :slug, 't', 'd', 'b', :author_id, :created_at, :updated_at)"
)
TAG = "INSERT INTO tags (id, name) VALUES (:id, :name)"
ARTICLE_TAG = (
    "INSERT INTO article_tags (article_id, tag_id, article_created_at) "
    "VALUES (:article_id, :tag_id, :created_at)"
)
FAVORITE = (
    "INSERT INTO favorites (user_id, article_id, created_at, article_created_at) "
    "VALUES (:user_id, :article_id, :created_at, :created_at)"
)
FOLLOW = (
    "INSERT INTO follows (follower_id, followee_id, created_at) "
    "VALUES (:follower_id, :followee_id, :created_at)"
)
COMMENT = (
    "INSERT INTO comments (id, body, article_id, author_id, created_at, updated_at) "
    "VALUES (:id, 'hi', :article_id, :author_id, :created_at, :updated_at)"
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TIMESTAMPS = ("created_at", "updated_at")

Statement = tuple[str, dict[str, Any]]


def user(user_id: int, username: str, email: str | None) -> Statement:
    return USER, {"id": user_id, "username": username, "email": email}


def article(article_id: int, slug: str, author_id: int = 1, **extra: Any) -> Statement:
    return ARTICLE, {"id": article_id, "slug": slug, "author_id": author_id, **extra}


def execute(conn: Connection, *statements: Statement) -> None:
    for sql, params in statements:
        stamps = [name for name in TIMESTAMPS if f":{name}" in sql]
        clause = text(sql).bindparams(*(bindparam(name, type_=UTCDateTime) for name in stamps))
        conn.execute(clause, {**dict.fromkeys(stamps, NOW), **params})
