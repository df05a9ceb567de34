"""The ceiling app: what FastAPI alone does on this machine, for the ratios of the report.

- `GET /ceiling/articles`: one asyncpg query, serialised through a Pydantic response
  model, with no middleware, no auth and no ORM. It answers what Conduit's signed-in
  `GET /api/articles` answers, field for field, so that the ratio of the two compares like
  with like: for each of the 20 newest live articles, `slug`, `title`, `description`,
  `tagList` (the article's tag names, sorted by name as `conduit.articles.columns.tag_names`
  sorts them: a correlated `array_agg` on PostgreSQL, a `json_group_array` sorted here on
  SQLite), `createdAt` and `updatedAt` (rendered as text by the database, as Conduit's
  `iso_text` does), `favorited`, `favoritesCount` (a correlated count of the favorites) and
  `author` {`username`, `bio`, `image`, `following`}, then `articlesCount` (the maintained
  count of live articles: `article_counts` and the deltas not folded yet, as Conduit reads
  it). `favorited` and `following` are computed for one viewer (`BENCH_CEILING_VIEWER`, a
  user id; by default the lowest id of an active user), a bound parameter of the query: the
  same lookups per row as Conduit's for a signed-in reader. What it leaves out is Conduit's
  own work: the token, its session check, the middleware.
- `GET /ceiling/tags`: the same body as Conduit's `GET /api/tags`, read once at start-up and
  served from memory through a response model: a bare FastAPI route, for the cached tags.
- `GET /health`.

`uvicorn bench.ceiling:app`, with `BENCH_DATABASE_URL` (SQLAlchemy's spelling; on SQLite
one aiosqlite connection is used instead of a pool).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# The columns of Conduit's page statement (conduit/articles/statements.py), less its token
# check; $1 (SQLite: ?1) is the viewer. `total` repeats on every row, as Conduit's does.
ARTICLES_SQL = {
    "postgresql": """
SELECT a.slug, a.title, a.description,
  (SELECT array_agg(n.name ORDER BY n.name) FROM (
     SELECT (SELECT t.name FROM tags t WHERE t.id = x.tag_id) AS name
     FROM article_tags x WHERE x.article_id = a.id) AS n) AS tag_list,
  to_char(timezone('UTC', a.created_at), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at,
  to_char(timezone('UTC', a.updated_at), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS updated_at,
  EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = a.id AND f.user_id = $1) AS favorited,
  (SELECT count(*) FROM favorites f WHERE f.article_id = a.id) AS favorites_count,
  u.username, u.bio, u.image,
  EXISTS (SELECT 1 FROM follows w WHERE w.follower_id = $1 AND w.followee_id = u.id)
    AS following,
  CAST((SELECT coalesce(sum(c.n), 0) FROM (
     SELECT n FROM article_counts WHERE kind = 0 AND subject_id = 0
     UNION ALL SELECT n FROM article_count_deltas WHERE kind = 0 AND subject_id = 0) AS c)
   AS BIGINT) AS total
FROM articles a JOIN users u ON u.id = a.author_id
WHERE a.deleted_at IS NULL
ORDER BY a.created_at DESC, a.id DESC
LIMIT 20
""",
    "sqlite": """
SELECT a.slug, a.title, a.description,
  (SELECT json_group_array(t.name) FROM article_tags x JOIN tags t ON t.id = x.tag_id
   WHERE x.article_id = a.id) AS tag_list,
  substr(a.created_at, 1, 10) || 'T' || substr(a.created_at, 12, 12) || 'Z' AS created_at,
  substr(a.updated_at, 1, 10) || 'T' || substr(a.updated_at, 12, 12) || 'Z' AS updated_at,
  EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = a.id AND f.user_id = ?1) AS favorited,
  (SELECT count(*) FROM favorites f WHERE f.article_id = a.id) AS favorites_count,
  u.username, u.bio, u.image,
  EXISTS (SELECT 1 FROM follows w WHERE w.follower_id = ?1 AND w.followee_id = u.id)
    AS following,
  (SELECT coalesce(sum(c.n), 0) FROM (
     SELECT n FROM article_counts WHERE kind = 0 AND subject_id = 0
     UNION ALL SELECT n FROM article_count_deltas WHERE kind = 0 AND subject_id = 0) AS c)
   AS total
FROM articles a JOIN users u ON u.id = a.author_id
WHERE a.deleted_at IS NULL
ORDER BY a.created_at DESC, a.id DESC
LIMIT 20
""",
}
TAGS_SQL = """
SELECT t.name FROM tags t JOIN article_tags x ON x.tag_id = t.id
GROUP BY t.id, t.name ORDER BY count(*) DESC, t.name
"""
VIEWER_SQL = "SELECT min(id) AS id FROM users WHERE active"
POOL_SIZE = 10  # the ceiling's own pool, fixed so that runs stay comparable

Fetch = Callable[..., Awaitable[list[dict[str, Any]]]]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class Author(_Camel):
    username: str
    bio: str | None
    image: str | None
    following: bool


class ArticleRow(_Camel):
    slug: str
    title: str
    description: str
    tag_list: list[str]
    created_at: str
    updated_at: str
    favorited: bool
    favorites_count: int
    author: Author


class ArticlePage(_Camel):
    articles: list[ArticleRow]
    articles_count: int


class Tags(BaseModel):
    tags: list[str]


def _tag_list(value: Any) -> list[str]:
    """PostgreSQL's array as it comes (sorted by the query, NULL for no tags); SQLite's JSON
    text sorted here (code point order, as its BINARY collation and Conduit's TagNames)."""
    if value is None:
        return []
    if isinstance(value, str):
        return sorted(json.loads(value))
    return list(value)


def page(rows: list[dict[str, Any]]) -> ArticlePage:
    articles = [
        ArticleRow(
            slug=row["slug"],
            title=row["title"],
            description=row["description"],
            tag_list=_tag_list(row["tag_list"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            favorited=row["favorited"],
            favorites_count=row["favorites_count"],
            author=Author(
                username=row["username"],
                bio=row["bio"],
                image=row["image"],
                following=row["following"],
            ),
        )
        for row in rows
    ]
    return ArticlePage(articles=articles, articles_count=rows[0]["total"] if rows else 0)


@asynccontextmanager
async def _postgres(url: str) -> AsyncIterator[Fetch]:
    import asyncpg

    from bench.seed import asyncpg_dsn

    pool = await asyncpg.create_pool(asyncpg_dsn(url), min_size=POOL_SIZE, max_size=POOL_SIZE)

    async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in await pool.fetch(sql, *args)]

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

    async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
        async with conn.execute(sql, args) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    try:
        yield fetch
    finally:
        await conn.close()


def create_ceiling_app(database_url: str, viewer_id: int | None = None) -> FastAPI:
    state: dict[str, Any] = {}
    dialect = "sqlite" if database_url.startswith("sqlite") else "postgresql"

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        backend = _sqlite if dialect == "sqlite" else _postgres
        async with backend(database_url) as fetch:
            state["fetch"] = fetch
            state["tags"] = Tags(tags=[row["name"] for row in await fetch(TAGS_SQL)])
            viewer = viewer_id
            if viewer is None:
                viewer = (await fetch(VIEWER_SQL))[0]["id"] or 0
            state["viewer"] = viewer
            yield

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    articles_sql = ARTICLES_SQL[dialect]

    @app.get("/ceiling/articles", response_model=ArticlePage, response_model_by_alias=True)
    async def articles() -> ArticlePage:
        return page(await state["fetch"](articles_sql, state["viewer"]))

    @app.get("/ceiling/tags", response_model=Tags)
    async def tags() -> Tags:
        result: Tags = state["tags"]
        return result

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _app_from_env() -> FastAPI:
    viewer = os.environ.get("BENCH_CEILING_VIEWER")
    return create_ceiling_app(
        os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///bench.db"),
        int(viewer) if viewer else None,
    )


app = _app_from_env()
