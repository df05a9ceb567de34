"""The ceiling app: what FastAPI alone does on this machine, for the ratios of the report.

- `GET /ceiling/articles`: one asyncpg query of 20 rows (the newest articles with their
  authors' names), serialised through a Pydantic response model. No middleware, no auth, no
  ORM: as fast as a database-backed JSON endpoint gets here.
- `GET /ceiling/tags`: the same body as Conduit's `GET /api/tags`, read once at start-up and
  served from memory through a response model: a bare FastAPI route, for the cached tags.
- `GET /health`.

`uvicorn bench.ceiling:app`, with `BENCH_DATABASE_URL` (SQLAlchemy's spelling; on SQLite
one aiosqlite connection is used instead of a pool).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

ARTICLES_SQL = """
SELECT a.slug, a.title, a.description, a.created_at, a.updated_at, u.username AS author
FROM articles a JOIN users u ON u.id = a.author_id
WHERE a.deleted_at IS NULL
ORDER BY a.created_at DESC, a.id DESC
LIMIT 20
"""
TAGS_SQL = """
SELECT t.name FROM tags t JOIN article_tags x ON x.tag_id = t.id
GROUP BY t.id, t.name ORDER BY count(*) DESC, t.name
"""
POOL_SIZE = 10  # the ceiling's own pool, fixed so that runs stay comparable

Fetch = Callable[[str], Awaitable[list[dict[str, Any]]]]


class ArticleRow(BaseModel):
    slug: str
    title: str
    description: str
    created_at: datetime
    updated_at: datetime
    author: str


class ArticlePage(BaseModel):
    articles: list[ArticleRow]
    articles_count: int


class Tags(BaseModel):
    tags: list[str]


@asynccontextmanager
async def _postgres(url: str) -> AsyncIterator[Fetch]:
    import asyncpg

    from bench.seed import asyncpg_dsn

    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=POOL_SIZE, max_size=POOL_SIZE)

    async def fetch(sql: str) -> list[dict[str, Any]]:
        return [dict(row) for row in await pool.fetch(sql)]

    try:
        yield fetch
    finally:
        await pool.close()


@asynccontextmanager
async def _sqlite(url: str) -> AsyncIterator[Fetch]:
    import aiosqlite

    from bench.seed import sqlite_path

    conn = await aiosqlite.connect(sqlite_path(url))
    conn.row_factory = aiosqlite.Row

    async def fetch(sql: str) -> list[dict[str, Any]]:
        async with conn.execute(sql) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    try:
        yield fetch
    finally:
        await conn.close()


def create_ceiling_app(database_url: str) -> FastAPI:
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        backend = _sqlite if database_url.startswith("sqlite") else _postgres
        async with backend(database_url) as fetch:
            state["fetch"] = fetch
            state["tags"] = Tags(tags=[row["name"] for row in await fetch(TAGS_SQL)])
            yield

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/ceiling/articles", response_model=ArticlePage)
    async def articles() -> ArticlePage:
        rows = await state["fetch"](ARTICLES_SQL)
        return ArticlePage(articles=[ArticleRow(**row) for row in rows], articles_count=len(rows))

    @app.get("/ceiling/tags", response_model=Tags)
    async def tags() -> Tags:
        result: Tags = state["tags"]
        return result

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _app_from_env() -> FastAPI:
    return create_ceiling_app(os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///bench.db"))


app = _app_from_env()
