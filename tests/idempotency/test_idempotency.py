"""Idempotency-Key on signed-in writes: a retry replays the first response instead of doing
the work again; misuse of a key is refused; keys are per user; failures are not stored."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text, update

from conduit.core.db import utcnow
from conduit.idempotency.middleware import fingerprint
from conduit.idempotency.models import IdempotencyRecord
from conduit.idempotency.repository import IdempotencyRepository
from conduit.idempotency.service import StoredResponse
from tests.factories import PASSWORD, auth, create_article
from tests.live import start_server

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


# --- replay --------------------------------------------------------------------------------


async def test_a_retry_replays_the_first_response_without_doing_the_work_again(
    client: httpx.AsyncClient, alice: str
) -> None:
    new, replayed = outcomes("new"), outcomes("replayed")
    first = await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "k-1"))
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers

    again = await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "k-1"))
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await count_articles(client, "alice") == 1
    assert (outcomes("new"), outcomes("replayed")) == (new + 1, replayed + 1)

    # The same key with a Bearer token of the same user, or after a new login, still replays.
    login = {"user": {"email": "alice@example.com", "password": PASSWORD}}
    token = (await client.post("/api/users/login", json=login)).json()["user"]["token"]
    third = await client.post(
        "/api/articles", json=ARTICLE, headers=with_key(token, "k-1", "Bearer")
    )
    assert third.content == first.content
    # Without a key, the same request does the work again, as it always did.
    assert (
        await client.post("/api/articles", json=ARTICLE, headers=auth(alice))
    ).status_code == 201
    assert await count_articles(client, "alice") == 2


async def test_a_replayed_comment_or_favorite_is_not_done_twice(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice))["slug"]
    comment = {"comment": {"body": "first!"}}
    path = f"/api/articles/{slug}/comments"
    first = await client.post(path, json=comment, headers=with_key(bob, "c"))
    again = await client.post(path, json=comment, headers=with_key(bob, "c"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert len((await client.get(path)).json()["comments"]) == 1

    favorite = f"/api/articles/{slug}/favorite"
    first = await client.post(favorite, headers=with_key(bob, "f"))
    assert first.json()["article"]["favoritesCount"] == 1
    assert (await client.delete(favorite, headers=auth(bob))).status_code == 200
    again = await client.post(favorite, headers=with_key(bob, "f"))
    assert again.content == first.content  # the first answer, not a new favorite
    article = (await client.get(f"/api/articles/{slug}", headers=auth(bob))).json()["article"]
    assert (article["favorited"], article["favoritesCount"]) == (False, 0)


async def test_follow_on_the_v1_mirror(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    path = "/api/v1/profiles/alice/follow"
    first = await client.post(path, headers=with_key(bob, "follow-alice"))
    assert first.status_code == 200
    assert first.json()["profile"]["following"] is True
    assert (await client.delete(path, headers=auth(bob))).status_code == 200
    again = await client.post(path, headers=with_key(bob, "follow-alice"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    profile = (await client.get("/api/profiles/alice", headers=auth(bob))).json()["profile"]
    assert profile["following"] is False
    # The same key on /api is another path: a different request.
    response = await client.post(
        "/api/profiles/alice/follow", headers=with_key(bob, "follow-alice")
    )
    assert response.status_code == 422


# --- misuse -----------------------------------------------------------------------------------


async def test_the_same_key_for_a_different_request_is_refused(
    client: httpx.AsyncClient, alice: str
) -> None:
    before = outcomes("mismatch")
    assert (
        await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "k"))
    ).status_code == 201
    other = {"article": {**ARTICLE["article"], "title": "Another"}}
    response = await client.post("/api/articles", json=other, headers=with_key(alice, "k"))
    assert response.status_code == 422
    assert response.json()["errors"] == {"idempotency_key": ["was used with a different request"]}
    slug = (await client.get("/api/articles")).json()["articles"][0]["slug"]
    response = await client.post(f"/api/articles/{slug}/favorite", headers=with_key(alice, "k"))
    assert response.status_code == 422
    assert await count_articles(client, "alice") == 1
    assert outcomes("mismatch") == before + 2


async def test_keys_are_per_user(client: httpx.AsyncClient, alice: str, bob: str) -> None:
    first = await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "shared"))
    second = await client.post("/api/articles", json=ARTICLE, headers=with_key(bob, "shared"))
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in second.headers
    assert first.json()["article"]["author"]["username"] == "alice"
    assert second.json()["article"]["author"]["username"] == "bob"


@pytest.mark.parametrize(
    "key",
    ["", "   ", "a" * 256, "tab\there", "caf\u00e9"],
    ids=["empty", "blank", "too-long", "control", "not-ascii"],
)
async def test_an_invalid_key_is_refused(client: httpx.AsyncClient, alice: str, key: str) -> None:
    headers = [*auth(alice).items(), ("Idempotency-Key", key)]
    response = await client.post(
        "/api/articles",
        content=json.dumps(ARTICLE).encode(),
        headers=[(name.encode(), value.encode("latin-1")) for name, value in headers]
        + [(b"Content-Type", b"application/json")],
    )
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["idempotency_key"]
    assert await count_articles(client, "alice") == 0


async def test_two_keys_at_once_are_refused_and_the_longest_key_is_fine(
    client: httpx.AsyncClient, alice: str
) -> None:
    headers = [*auth(alice).items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    response = await client.post("/api/articles", json=ARTICLE, headers=headers)
    assert response.status_code == 422
    key = "~" + "x y" * 84  # 253 characters
    response = await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, key))
    assert response.status_code == 201


async def test_without_valid_credentials_the_route_answers_401(
    client: httpx.AsyncClient, alice: str
) -> None:
    headers = {"Idempotency-Key": "k"}
    assert (await client.post("/api/articles", json=ARTICLE, headers=headers)).status_code == 401
    headers = {**auth("forged"), "Idempotency-Key": ""}
    assert (await client.post("/api/articles", json=ARTICLE, headers=headers)).status_code == 401

    # A signed-out session cannot replay what it stored.
    first = await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "k"))
    assert first.status_code == 201
    assert (await client.post("/api/auth/logout", headers=auth(alice))).status_code == 204
    again = await client.post("/api/articles", json=ARTICLE, headers=with_key(alice, "k"))
    assert again.status_code == 401


async def test_an_api_key_shares_its_owners_keys(client: httpx.AsyncClient, alice: str) -> None:
    body = {"name": "bot", "scopes": ["articles:write"]}
    api_key = (await client.post("/api/api-keys", json=body, headers=auth(alice))).json()["key"]
    headers = {"X-API-Key": api_key, "Idempotency-Key": "from-the-bot"}
    first = await client.post("/api/articles", json=ARTICLE, headers=headers)
    assert first.status_code == 201
    again = await client.post(
        "/api/articles", json=ARTICLE, headers=with_key(alice, "from-the-bot")
    )
    assert again.content == first.content
    assert await count_articles(client, "alice") == 1


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


# --- a live server ----------------------------------------------------------------------------


def test_a_live_server_replays_a_retry(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        with httpx.Client(base_url=server.url) as http:
            user = {"username": "lee", "email": "lee@example.com", "password": PASSWORD}
            token = http.post("/api/users", json={"user": user}).json()["user"]["token"]
            headers = with_key(token, "live-1")
            first = http.post("/api/articles", json=ARTICLE, headers=headers)
            again = http.post("/api/articles", json=ARTICLE, headers=headers)
            assert (first.status_code, again.status_code) == (201, 201)
            assert again.headers["Idempotent-Replayed"] == "true"
            assert again.content == first.content
            assert http.get("/api/articles").json()["articlesCount"] == 1
    finally:
        server.terminate()
