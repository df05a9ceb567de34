"""GET /api/profiles/{username}, and following and unfollowing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import StatementCounter
from tests.factories import auth, errors, profile, register, update_me


async def follow(
    client: httpx.AsyncClient, username: str, token: str | None, method: str = "POST"
) -> httpx.Response:
    headers = auth(token) if token else {}
    return await client.request(method, f"/api/profiles/{username}/follow", headers=headers)


async def test_profile_anonymous(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")
    await update_me(client, token, bio="I write.")

    response = await profile(client, "alice")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "profile": {"username": "alice", "bio": "I write.", "image": None, "following": False}
    }


async def test_profile_signed_in_not_following(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    bob = await register(client, "bob")

    response = await profile(client, "alice", bob)

    assert response.status_code == 200, response.text
    assert response.json()["profile"]["following"] is False


async def test_profile_unknown_is_not_found(client: httpx.AsyncClient) -> None:
    response = await profile(client, "nobody")

    assert response.status_code == 404, response.text
    assert response.json()["errors"] == {"profile": ["not found"]}


async def test_follow_and_unfollow_persist(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    bob = await register(client, "bob")

    followed = await follow(client, "alice", bob)
    assert followed.status_code == 200, followed.text
    assert followed.json()["profile"]["username"] == "alice"
    assert followed.json()["profile"]["following"] is True
    assert (await profile(client, "alice", bob)).json()["profile"]["following"] is True
    assert (await profile(client, "alice")).json()["profile"]["following"] is False

    unfollowed = await follow(client, "alice", bob, method="DELETE")
    assert unfollowed.status_code == 200, unfollowed.text
    assert unfollowed.json()["profile"]["following"] is False
    assert (await profile(client, "alice", bob)).json()["profile"]["following"] is False


async def test_following_is_one_way(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")

    await follow(client, "alice", bob)

    assert (await profile(client, "bob", alice)).json()["profile"]["following"] is False


async def test_follow_twice_and_unfollow_twice_are_fine(client: httpx.AsyncClient) -> None:
    await register(client, "alice")
    bob = await register(client, "bob")

    for _ in range(2):
        response = await follow(client, "alice", bob)
        assert response.status_code == 200, response.text
        assert response.json()["profile"]["following"] is True
    for _ in range(2):
        response = await follow(client, "alice", bob, method="DELETE")
        assert response.status_code == 200, response.text
        assert response.json()["profile"]["following"] is False


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_follow_unknown_user_is_not_found(client: httpx.AsyncClient, method: str) -> None:
    bob = await register(client, "bob")

    response = await follow(client, "nobody", bob, method=method)

    assert response.status_code == 404, response.text
    assert response.json()["errors"] == {"profile": ["not found"]}


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_follow_yourself_is_forbidden(client: httpx.AsyncClient, method: str) -> None:
    alice = await register(client, "alice")

    response = await follow(client, "alice", alice, method=method)

    assert response.status_code == 403, response.text
    assert "profile" in errors(response)
    assert (await profile(client, "alice", alice)).json()["profile"]["following"] is False


async def test_follow_answers_the_profile_as_stored(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    await update_me(client, alice, bio="Hi", image="https://example.com/a.png")

    for method, following in (("POST", True), ("DELETE", False)):
        response = await follow(client, "alice", bob, method=method)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "profile": {
                "username": "alice",
                "bio": "Hi",
                "image": "https://example.com/a.png",
                "following": following,
            }
        }
    # the name as registered: another case names nobody
    assert (await follow(client, "ALICE", bob)).status_code == 404


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_follow_is_one_statement_after_the_token_check(
    app: Any, client: httpx.AsyncClient, sql: StatementCounter, method: str
) -> None:
    """The change rides with the read of the profile (PostgreSQL; SQLite reads first); the
    followee's whole row, password hash included, is never loaded."""
    await register(client, "alice")
    bob = await register(client, "bob")
    with sql.counting() as executed:
        response = await follow(client, "alice", bob, method=method)
    assert response.status_code == 200, response.text
    assert not [s for s in executed if "password_hash" in s]
    assert len(executed) == (3 if app.state.db.is_sqlite else 2)


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_follow_without_token_is_unauthorized(client: httpx.AsyncClient, method: str) -> None:
    await register(client, "alice")

    response = await follow(client, "alice", None, method=method)

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"token": ["is missing"]}
    assert response.headers.get("WWW-Authenticate")


async def test_follow_unknown_user_without_token_is_unauthorized_first(
    client: httpx.AsyncClient,
) -> None:
    response = await follow(client, "nobody", None)

    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"token": ["is missing"]}
