"""Idempotency-Key misuse: the same key for another request, an invalid key or two keys are
refused, a key needs valid credentials; keys are per user, and an API key shares its
owner's."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.factories import auth
from tests.factories.idempotency import ARTICLE, count_articles, outcomes, with_key

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
