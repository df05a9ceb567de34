"""Idempotency-Key on signed-in writes: a retry replays the first response instead of doing
the work again (articles, comments, favorites, follows on the /v1 mirror), in process and on
a live server."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.factories import PASSWORD, auth, create_article
from tests.factories.idempotency import ARTICLE, count_articles, outcomes, with_key
from tests.live import start_server

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
