"""Idempotency-Key: the keyed request, and what the tests count."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.factories import auth

# What the Idempotency-Key tests post.
ARTICLE = {"article": {"title": "Retry me", "description": "d", "body": "b"}}


def with_key(token: str, key: str, scheme: str = "Token") -> dict[str, str]:
    return {**auth(token, scheme), "Idempotency-Key": key}


def outcomes(outcome: str) -> float:
    return REGISTRY.get_sample_value("conduit_idempotency_total", {"outcome": outcome}) or 0.0


async def count_articles(client: httpx.AsyncClient, author: str) -> int:
    response = await client.get("/api/articles", params={"author": author})
    count: int = response.json()["articlesCount"]
    return count


async def user_id(app: Any, username: str) -> int:
    async with app.state.db.engine.connect() as conn:
        found = await conn.scalar(text("SELECT id FROM users WHERE username = :u"), {"u": username})
    return int(found)


def article_body() -> bytes:
    """ARTICLE as the bytes a keyed request sends (its fingerprint covers them)."""
    return json.dumps(ARTICLE).encode()


def keyed_article(token: str, key: str) -> dict[str, Any]:
    """The keyword arguments of a keyed POST /api/articles with `article_body()`."""
    headers = {**with_key(token, key), "Content-Type": "application/json"}
    return {"content": article_body(), "headers": headers}


async def stored_keys(app: Any) -> list[tuple[str, str]]:
    """Every (key, state) row of the idempotency table."""
    async with app.state.db.engine.connect() as conn:
        rows = await conn.execute(text("SELECT key, state FROM idempotency_keys ORDER BY key"))
        return [(row.key, row.state) for row in rows]


def postgres_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (DATABASE_URL)")


@asynccontextmanager
async def holding(database_url: str, statement: str, **params: Any) -> AsyncIterator[None]:
    """Another connection runs `statement` (with `params`) in a transaction it keeps open,
    its locks held, until the block ends, then rolls back."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement), params)
            yield
            await conn.rollback()
    finally:
        await engine.dispose()


LOCK_WAIT_TIMEOUT = 20.0  # seconds: a wait that never comes is a failure, not a hang


async def wait_for_lock_waits(database_url: str, count: int) -> None:
    """Return once `count` backends of the database wait for a lock (PostgreSQL)."""
    engine = create_async_engine(database_url, isolation_level="AUTOCOMMIT")
    query = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + LOCK_WAIT_TIMEOUT
    try:
        async with engine.connect() as conn:
            while (await conn.scalar(query)) < count:
                assert time.monotonic() < deadline, f"{count} lock waits never came"
                await asyncio.sleep(0.05)
    finally:
        await engine.dispose()
