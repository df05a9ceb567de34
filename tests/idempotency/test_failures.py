"""Idempotency-Key after failures and over time: an error is not stored, so a corrected
retry runs; expired keys are reused and purged after the TTL of the settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from conduit.core.db import utcnow
from conduit.idempotency.models import IdempotencyRecord
from conduit.idempotency.repository import IdempotencyRepository
from tests.factories.idempotency import ARTICLE, user_id, with_key

# --- failures and expiry --------------------------------------------------------------------


async def test_an_error_is_not_stored_so_a_corrected_retry_runs(
    client: httpx.AsyncClient, app: Any, alice: str
) -> None:
    invalid = {"article": {"description": "no title", "body": "b"}}
    response = await client.post("/api/articles", json=invalid, headers=with_key(alice, "k"))
    assert response.status_code == 422
    response = await client.post("/api/articles/nope/favorite", headers=with_key(alice, "k2"))
    assert response.status_code == 404
    async with app.state.db.session() as session:
        rows = await session.scalar(select(func.count()).select_from(IdempotencyRecord))
    assert rows == 0

    response = await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "k"))
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers


async def test_expired_keys_are_reused_and_purged(
    client: httpx.AsyncClient, app: Any, alice: str
) -> None:
    first = await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "old"))
    assert first.status_code == 201
    async with app.state.db.session() as session:
        await session.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - timedelta(days=2))
        )
    # Past IDEMPOTENCY_TTL the key is free: a new request with it is new work.
    other = {"article": {**ARTICLE["article"], "title": "Later"}}
    response = await client.post("/api/articles", json=other, headers=with_key(alice, "old"))
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers

    async with app.state.db.session() as session:
        await session.execute(
            update(IdempotencyRecord).values(created_at=utcnow() - timedelta(days=2))
        )
        repo = IdempotencyRepository(session)
        owner = await user_id(app, "alice")
        assert await repo.insert_claim(owner, "fresh", "f" * 64, utcnow())
    assert await app.state.idempotency.purge_expired() == 1
    async with app.state.db.session() as session:
        keys = (await session.scalars(select(IdempotencyRecord.key))).all()
    assert keys == ["fresh"]


@pytest.mark.settings(idempotency_ttl=3600)
async def test_the_ttl_comes_from_the_settings(app: Any) -> None:
    assert app.state.idempotency.ttl == timedelta(hours=1)
