"""Idempotency-Key: the keyed request, and what the tests count."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import text

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
