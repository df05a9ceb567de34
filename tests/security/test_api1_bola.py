"""OWASP API1:2023 Broken Object Level Authorization.

Every write on an object that belongs to someone (article, comment, API key, session, stored
idempotent response) is tried by another signed-in user, with a session and with an API key
holding every scope they can get. Each attempt answers 403 or 404, and a re-read proves that
nothing changed.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from tests.factories import add_comment, auth, create_article, error_body, log_in, sign_up
from tests.security.support import claims_of, hs256, make_key

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


# --- API keys -------------------------------------------------------------------------------


async def test_api1_another_users_api_key_cannot_be_revoked(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    """404, exactly as for an id that does not exist: key ids are not an oracle."""
    created = await make_key(client, alice, ["articles:write"])
    before = (await client.get("/api/api-keys", headers=auth(alice))).json()

    theirs = await client.delete(f"/api/api-keys/{created['id']}", headers=auth(bob))
    unknown = await client.delete(f"/api/api-keys/{created['id'] + 1000}", headers=auth(bob))
    assert theirs.status_code == unknown.status_code == 404
    assert error_body(theirs) == error_body(unknown) == {"errors": {"api_key": ["not found"]}}

    after = (await client.get("/api/api-keys", headers=auth(alice))).json()
    assert after["items"] == before["items"]
    still = await create_article(client, alice, "still mine")  # alice herself still writes...
    response = await client.put(  # ...and so does her key
        f"/api/articles/{still['slug']}",
        json={"article": {"body": "by key"}},
        headers={"X-API-Key": created["key"]},
    )
    assert response.status_code == 200, response.text


async def test_api1_api_keys_of_another_user_are_not_listed(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    await make_key(client, alice, ["articles:write"], name="alice-secret-bot")
    listed = (await client.get("/api/api-keys", headers=auth(bob))).json()
    assert listed["items"] == []
    assert listed["total_count"] == 0


# --- sessions -------------------------------------------------------------------------------


async def test_api1_logout_never_ends_another_users_session(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Bob's logout and logout-all, even naming alice's session and refresh token in the
    body or the query, end only bob's own sessions."""
    alice = await sign_up(client, "alice")
    bob = await sign_up(client, "bob")
    alice_sid = claims_of(alice["token"])["sid"]
    naming_alice = {
        "sid": alice_sid,
        "session_id": alice_sid,
        "sessionId": alice_sid,
        "refresh_token": alice["refreshToken"],
        "refreshToken": alice["refreshToken"],
        "user": "alice",
    }
    for path in ("/api/auth/logout", "/api/auth/logout-all"):
        bob_now = await log_in(client, "bob@example.com")
        response = await client.post(
            path,
            json=naming_alice,
            params={"sid": alice_sid},
            headers=auth(bob_now.json()["user"]["token"]),
        )
        assert response.status_code == 204, response.text

    assert (await client.get("/api/user", headers=auth(bob["token"]))).status_code == 401
    mine = await client.get("/api/user", headers=auth(alice["token"]))
    assert mine.status_code == 200
    assert mine.json()["user"]["username"] == "alice"
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": alice["refreshToken"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    assert claims_of(refreshed.json()["access_token"])["sub"] == claims_of(alice["token"])["sub"]


async def test_api1_a_token_pairing_a_user_with_another_users_session_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Even a correctly signed token is refused when its session belongs to someone else:
    the session is checked against the user, not only for being alive."""
    alice = await sign_up(client, "alice")
    bob = await sign_up(client, "bob")
    crossed = {**claims_of(bob["token"]), "sub": claims_of(alice["token"])["sub"]}
    forged = hs256(crossed, settings.secret_key)

    response = await client.get("/api/user", headers=auth(forged))
    assert response.status_code == 401, response.text
    assert error_body(response) == {"errors": {"token": ["is invalid"]}}


async def test_api1_a_refresh_token_only_ever_renews_its_own_session(
    client: httpx.AsyncClient,
) -> None:
    """Alice's refresh token, presented alongside bob's credentials, renews alice's session
    (the caller's header is ignored) and leaves bob's untouched; bob's access token never
    turns into alice's."""
    alice = await sign_up(client, "alice")
    bob = await sign_up(client, "bob")
    response = await client.post(
        "/api/auth/refresh",
        json={"refresh_token": alice["refreshToken"]},
        headers=auth(bob["token"]),
    )
    assert response.status_code == 200, response.text
    renewed = claims_of(response.json()["access_token"])
    assert renewed["sub"] == claims_of(alice["token"])["sub"]
    assert renewed["sid"] == claims_of(alice["token"])["sid"]
    me = await client.get("/api/user", headers=auth(bob["token"]))
    assert me.json()["user"]["username"] == "bob"
    bob_refresh = await client.post(
        "/api/auth/refresh", json={"refresh_token": bob["refreshToken"]}
    )
    assert bob_refresh.status_code == 200


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
