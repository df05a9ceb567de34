"""OWASP API1:2023 Broken Object Level Authorization: API keys and sessions.

Another user's API key cannot be revoked or listed, and another user's session cannot be
ended, borrowed by a token or renewed: each attempt answers 404 or 401 or acts on the
caller's own objects only, and a re-read proves that nothing of the owner's changed.
"""

from __future__ import annotations

import httpx

from conduit.core.config import Settings
from tests.factories import auth, create_article, error_body, log_in, make_key, sign_up
from tests.security.support import claims_of, hs256

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
