"""OWASP API1:2023 Broken Object Level Authorization: articles, comments, and what users do
to them.

Every write on another user's article or comment is tried by a signed-in user, with a
session and with an API key holding every scope they can get; a stored idempotent response
is asked for with another user's key; favorites and follows are undone naming another user.
Each attempt answers 403 or 404 or acts on the caller only, and a re-read proves that
nothing of the owner's changed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import add_comment, auth, create_article, error_body, make_key

ALL_USER_SCOPES = ["articles:write", "comments:write", "profile:write"]


async def article(client: httpx.AsyncClient, slug: str) -> httpx.Response:
    return await client.get(f"/api/articles/{slug}")


async def comments(client: httpx.AsyncClient, slug: str) -> list[dict[str, Any]]:
    response = await client.get(f"/api/articles/{slug}/comments")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["comments"]
    return found


@pytest.fixture(params=["session", "api-key"])
async def intruder(request: pytest.FixtureRequest, client: httpx.AsyncClient, bob: str) -> Any:
    """Bob's credentials: his session token, or an API key of his with every user scope."""
    if request.param == "session":
        return auth(bob)
    created = await make_key(client, bob, ALL_USER_SCOPES)
    return {"X-API-Key": created["key"]}


# --- articles -----------------------------------------------------------------------------


async def test_api1_another_users_article_cannot_be_updated(
    client: httpx.AsyncClient, alice: str, intruder: dict[str, str]
) -> None:
    slug = (await create_article(client, alice, "Alice's own", tagList=["mine"]))["slug"]
    before = (await article(client, slug)).json()

    for path in (f"/api/articles/{slug}", f"/api/v1/articles/{slug}"):
        response = await client.put(
            path,
            json={"article": {"title": "Owned by bob", "body": "defaced", "tagList": []}},
            headers=intruder,
        )
        assert response.status_code == 403, response.text
        assert error_body(response) == {"errors": {"article": ["forbidden"]}}

    assert (await article(client, slug)).json() == before
    assert (await article(client, "owned-by-bob")).status_code == 404


async def test_api1_another_users_article_cannot_be_deleted(
    client: httpx.AsyncClient, alice: str, intruder: dict[str, str]
) -> None:
    slug = (await create_article(client, alice, "Keep me"))["slug"]
    before = (await article(client, slug)).json()

    response = await client.delete(f"/api/articles/{slug}", headers=intruder)
    assert response.status_code == 403, response.text
    assert error_body(response) == {"errors": {"article": ["forbidden"]}}

    assert (await article(client, slug)).json() == before
    listed = (await client.get("/api/articles", params={"author": "alice"})).json()
    assert [a["slug"] for a in listed["articles"]] == [slug]


async def test_api1_a_plain_user_cannot_restore_a_deleted_article(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    """Restoring is staff work: neither another user nor the author may undo a deletion."""
    slug = (await create_article(client, alice, "Gone for good"))["slug"]
    assert (await client.delete(f"/api/articles/{slug}", headers=auth(alice))).status_code == 204

    for token in (bob, alice):
        for path in (
            f"/api/admin/articles/{slug}/restore",
            f"/api/v1/admin/articles/{slug}/restore",
        ):
            response = await client.post(path, headers=auth(token))
            assert response.status_code == 403, response.text
            assert error_body(response) == {"errors": {"role": ["forbidden"]}}

    assert (await article(client, slug)).status_code == 404
    assert (await client.get("/api/articles")).json()["articlesCount"] == 0


async def test_api1_a_deleted_article_of_another_user_cannot_be_written_to(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice, "Soon deleted"))["slug"]
    assert (await client.delete(f"/api/articles/{slug}", headers=auth(alice))).status_code == 204

    attempts = [
        client.put(f"/api/articles/{slug}", json={"article": {"body": "x"}}, headers=auth(bob)),
        client.delete(f"/api/articles/{slug}", headers=auth(bob)),
        client.post(f"/api/articles/{slug}/favorite", headers=auth(bob)),
        client.post(
            f"/api/articles/{slug}/comments", json={"comment": {"body": "x"}}, headers=auth(bob)
        ),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404, response.text
    assert (await article(client, slug)).status_code == 404


# --- comments ------------------------------------------------------------------------------


async def test_api1_another_users_comment_cannot_be_deleted(
    client: httpx.AsyncClient, alice: str, bob: str, intruder: dict[str, str]
) -> None:
    """Not by another user, and not by the author of the article it is on (bob, here)."""
    slug = (await create_article(client, bob, "Bob's article"))["slug"]
    comment_id = (await add_comment(client, alice, slug, "Alice was here"))["id"]
    before = await comments(client, slug)

    response = await client.delete(f"/api/articles/{slug}/comments/{comment_id}", headers=intruder)
    assert response.status_code == 403, response.text
    assert error_body(response) == {"errors": {"comment": ["forbidden"]}}
    assert await comments(client, slug) == before


async def test_api1_a_comment_reached_through_another_article_is_not_found(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    """Bob owns article B; alice's comment lives on article A. Addressing it through B (whose
    author he is) must not reach it, and must not confirm that the id exists."""
    slug_a = (await create_article(client, alice, "Article A"))["slug"]
    slug_b = (await create_article(client, bob, "Article B"))["slug"]
    comment_id = (await add_comment(client, alice, slug_a, "on A"))["id"]
    before = await comments(client, slug_a)

    through_b = await client.delete(
        f"/api/articles/{slug_b}/comments/{comment_id}", headers=auth(bob)
    )
    unknown = await client.delete(
        f"/api/articles/{slug_b}/comments/{comment_id + 1000}", headers=auth(bob)
    )
    assert through_b.status_code == unknown.status_code == 404
    assert error_body(through_b) == error_body(unknown) == {"errors": {"comment": ["not found"]}}
    assert await comments(client, slug_a) == before


# --- idempotency keys ------------------------------------------------------------------------


async def test_api1_another_users_idempotency_key_replays_nothing_of_theirs(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    """The same Idempotency-Key and body from bob must not replay alice's stored response
    (which would hand him her data) nor touch her article."""
    body = {"article": {"title": "Twin", "description": "d", "body": "b"}}
    key = {"Idempotency-Key": "shared-key-1"}
    first = await client.post("/api/articles", json=body, headers={**auth(alice), **key})
    assert first.status_code == 201
    second = await client.post("/api/articles", json=body, headers={**auth(bob), **key})
    assert second.status_code == 201, second.text
    assert "idempotent-replayed" not in second.headers
    assert second.json()["article"]["author"]["username"] == "bob"
    assert second.json()["article"]["slug"] != first.json()["article"]["slug"]
    assert (await article(client, first.json()["article"]["slug"])).json() == {
        "article": {**first.json()["article"]}
    }


# --- favorites and follows act on the caller only ---------------------------------------------


async def test_api1_favorites_and_follows_only_change_the_callers_own_state(
    client: httpx.AsyncClient, alice: str, bob: str, carol: str
) -> None:
    slug = (await create_article(client, carol, "Carol's"))["slug"]
    assert (await client.post(f"/api/articles/{slug}/favorite", headers=auth(alice))).is_success
    assert (await client.post("/api/profiles/carol/follow", headers=auth(alice))).is_success

    # Bob unfavorites and unfollows, naming alice wherever a body or query could.
    naming = {"username": "alice", "user": "alice", "follower": "alice"}
    unfav = await client.request(
        "DELETE", f"/api/articles/{slug}/favorite", params=naming, headers=auth(bob)
    )
    unfollow = await client.request(
        "DELETE", "/api/profiles/carol/follow", params=naming, headers=auth(bob)
    )
    assert unfav.status_code == unfollow.status_code == 200

    seen_by_alice = (await client.get(f"/api/articles/{slug}", headers=auth(alice))).json()
    assert seen_by_alice["article"]["favorited"] is True
    assert seen_by_alice["article"]["favoritesCount"] == 1
    profile = (await client.get("/api/profiles/carol", headers=auth(alice))).json()
    assert profile["profile"]["following"] is True
