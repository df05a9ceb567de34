"""What the load draws on: values sampled from the seeded database, the signed-in users'
tokens, and the data file that wrk's scripts read (lines "kind<TAB>value")."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.seed import PASSWORD, asyncpg_dsn, is_sqlite, sqlite_path

SAMPLE_SQL = {
    # Random live articles, tags by how often they are used, authors by how much they wrote,
    # users at random (whom the mixed workload follows).
    "slug": "SELECT slug FROM articles WHERE deleted_at IS NULL ORDER BY random() LIMIT 2000",
    "tag": "SELECT t.name FROM article_tags x JOIN tags t ON t.id = x.tag_id "
    "ORDER BY random() LIMIT 1000",
    "author": "SELECT u.username FROM articles a JOIN users u ON u.id = a.author_id "
    "WHERE a.deleted_at IS NULL ORDER BY random() LIMIT 1000",
    "email": "SELECT email FROM users WHERE active ORDER BY random() LIMIT 500",
    "username": "SELECT username FROM users WHERE active ORDER BY random() LIMIT 1000",
}


async def _pg_query(database_url: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


def query(database_url: str, sql: str) -> list[Any]:
    if is_sqlite(database_url):
        with sqlite3.connect(sqlite_path(database_url)) as conn:
            return list(conn.execute(sql).fetchall())
    return asyncio.run(_pg_query(database_url, sql))


def sample_values(database_url: str) -> dict[str, list[str]]:
    values = {
        kind: [str(row[0]) for row in query(database_url, sql)] for kind, sql in SAMPLE_SQL.items()
    }
    values["password"] = [PASSWORD]
    return values


def table_counts(database_url: str) -> dict[str, int]:
    tables = ("users", "tags", "articles", "article_tags", "follows", "favorites", "comments")
    return {t: int(query(database_url, f"SELECT count(*) FROM {t}")[0][0]) for t in tables}


def db_backend_pids(database_url: str) -> set[int]:
    """PostgreSQL backends connected to the benchmark's database (their CPU is the DB's
    share of a request). Empty on SQLite, where the database runs inside the server."""
    if is_sqlite(database_url):
        return set()
    name = make_url(database_url).database
    rows = query(
        database_url,
        f"SELECT pid FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )
    return {int(row[0]) for row in rows}


def server_version(database_url: str) -> str:
    if is_sqlite(database_url):
        return f"SQLite {sqlite3.sqlite_version}"
    return (
        str(query(database_url, "SHOW server_version")[0][0]).split()[0].join(("PostgreSQL ", ""))
    )


async def login(url: str, emails: Sequence[str], parallel: int = 4) -> dict[str, str]:
    """Each user's token by username, logged in through the API."""
    tokens: dict[str, str] = {}
    limit = asyncio.Semaphore(parallel)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one(email: str) -> None:
            async with limit:
                body = {"user": {"email": email, "password": PASSWORD}}
                response = await client.post("/api/users/login", json=body)
                response.raise_for_status()
                user = response.json()["user"]
                tokens[user["username"]] = user["token"]

        await asyncio.gather(*(one(email) for email in emails))
    return tokens


def sign_in(url: str, values: dict[str, list[str]], users: int, parallel: int = 4) -> None:
    """Log the first `users` sampled users in: their tokens become the "token" values, and
    they leave the "username" values, so that the mixed workload never follows its own
    user (a refused request, not a follow)."""
    tokens = asyncio.run(login(url, values["email"][:users], parallel))
    values["token"] = list(tokens.values())
    values["username"] = [name for name in values["username"] if name not in tokens]


def write_data_file(path: Path, values: dict[str, list[str]]) -> None:
    lines = [f"{kind}\t{value}" for kind, items in values.items() for value in items]
    path.write_text("\n".join(lines) + "\n")
