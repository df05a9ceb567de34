"""Idempotency-Key under failure and concurrency: an error is not stored, a duplicate of a
request in progress is refused until its claim's lock has passed, concurrent duplicates do
the work once, and expired keys are reused and purged after the TTL of the settings."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from conduit.core.db import utcnow
from conduit.idempotency.middleware import fingerprint
from conduit.idempotency.models import IdempotencyRecord
from conduit.idempotency.repository import IdempotencyRepository
from conduit.idempotency.service import StoredResponse
from tests.factories.idempotency import ARTICLE, count_articles, outcomes, user_id, with_key

# --- failures and concurrency -------------------------------------------------------------------


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


async def test_a_duplicate_of_a_request_in_progress_is_refused(
    client: httpx.AsyncClient, app: Any, alice: str
) -> None:
    before = outcomes("conflict")
    body = json.dumps(ARTICLE).encode()
    scope = {"method": "POST", "path": "/api/articles", "query_string": b""}
    owner = await user_id(app, "alice")
    # Another request holds the claim: the duplicate is refused, and changes nothing.
    begun = await app.state.idempotency.begin(owner, "busy", fingerprint(scope, body))
    assert begun.outcome == "new"
    headers = {**with_key(alice, "busy"), "Content-Type": "application/json"}
    response = await client.post("/api/articles", content=body, headers=headers)
    assert response.status_code == 409
    assert response.json()["errors"] == {
        "idempotency_key": ["is in use by a request still in progress"]
    }
    assert outcomes("conflict") == before + 1
    # A different request with that key is a mismatch, in progress or not.
    other = await client.post("/api/articles/x/favorite", headers=with_key(alice, "busy"))
    assert other.status_code == 422
    assert await count_articles(client, "alice") == 0

    # The claim's holder died: once its lock has passed, the key is taken over.
    async with app.state.db.session() as session:
        await session.execute(
            update(IdempotencyRecord).values(locked_until=utcnow() - timedelta(seconds=1))
        )
    response = await client.post("/api/articles", content=body, headers=headers)
    assert response.status_code == 201
    again = await client.post("/api/articles", content=body, headers=headers)
    assert again.content == response.content
    assert await count_articles(client, "alice") == 1
    # The holder that lost its claim cannot overwrite the answer.
    await app.state.idempotency.complete(owner, "busy", begun.claim, StoredResponse(200, None, b""))
    await app.state.idempotency.release(owner, "busy", begun.claim)
    assert (await client.post("/api/articles", content=body, headers=headers)).content == (
        response.content
    )


async def test_concurrent_duplicates_do_the_work_once(
    client: httpx.AsyncClient, alice: str
) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "burst"))
            for _ in range(6)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len([r for r in created if "Idempotent-Replayed" not in r.headers]) == 1
    assert len({r.content for r in created}) == 1
    assert await count_articles(client, "alice") == 1


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
        now = utcnow()
        assert await repo.insert_claim(owner, "fresh", "f" * 64, "c" * 32, now, now)
    assert await app.state.idempotency.purge_expired() == 1
    async with app.state.db.session() as session:
        keys = (await session.scalars(select(IdempotencyRecord.key))).all()
    assert keys == ["fresh"]


@pytest.mark.settings(idempotency_ttl=3600)
async def test_the_ttl_comes_from_the_settings(app: Any) -> None:
    assert app.state.idempotency.ttl == timedelta(hours=1)
