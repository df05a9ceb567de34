"""Registrations and renames at once: one identity, one user; the others are told it is taken."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import MANY_SIGN_UPS, PASSWORD, assert_all, auth, burst, register, statuses

pytestmark = MANY_SIGN_UPS


def new_user(username: str, email: str | None = None) -> dict[str, Any]:
    return {
        "user": {
            "username": username,
            "email": email or f"{username}@example.com",
            "password": PASSWORD,
        }
    }


@pytest.mark.parametrize(
    ("first", "second", "key"),
    [
        (new_user("twin", "one@example.com"), new_user("twin", "two@example.com"), "username"),
        (new_user("Twin", "one@example.com"), new_user("twin", "two@example.com"), "username"),
        (new_user("one", "twin@example.com"), new_user("two", "twin@example.com"), "email"),
        (new_user("one", "Twin@Example.com"), new_user("two", "twin@example.com"), "email"),
    ],
    ids=["same-username", "username-differs-in-case", "same-email", "email-differs-in-case"],
)
async def test_two_registrations_of_one_identity_at_once(
    client: httpx.AsyncClient, first: dict[str, Any], second: dict[str, Any], key: str
) -> None:
    responses = await burst(
        client.post("/api/users", json=first), client.post("/api/users", json=second)
    )

    assert statuses(responses) == {201: 1, 409: 1}, [(r.status_code, r.text) for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["errors"] == {key: ["has already been taken"]}
    winner = next(r for r in responses if r.status_code == 201).json()["user"]
    me = await client.get("/api/user", headers=auth(winner["token"]))
    assert me.json()["user"]["username"] == winner["username"]


async def test_ten_registrations_of_one_username_at_once(client: httpx.AsyncClient) -> None:
    responses = await burst(
        *(
            client.post("/api/users", json=new_user("same", f"same{i}@example.com"))
            for i in range(10)
        )
    )

    assert statuses(responses) == {201: 1, 409: 9}, statuses(responses)
    for response in responses:
        if response.status_code == 409:
            assert response.json()["errors"] == {"username": ["has already been taken"]}


async def test_fifty_distinct_registrations_at_once(client: httpx.AsyncClient) -> None:
    responses = await burst(
        *(client.post("/api/users", json=new_user(f"u{i:02}")) for i in range(50))
    )

    assert_all(responses, 201)
    names = {r.json()["user"]["username"] for r in responses}
    assert names == {f"u{i:02}" for i in range(50)}
    login = {"user": {"email": "u42@example.com", "password": PASSWORD}}
    assert (await client.post("/api/users/login", json=login)).status_code == 200


async def test_two_users_renaming_to_one_username_at_once(client: httpx.AsyncClient) -> None:
    tokens = [await register(client, name) for name in ("first", "second")]

    responses = await burst(
        *(
            client.put("/api/user", json={"user": {"username": "wanted"}}, headers=auth(t))
            for t in tokens
        )
    )

    assert statuses(responses) == {200: 1, 409: 1}, [(r.status_code, r.text) for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["errors"] == {"username": ["has already been taken"]}
    profile = await client.get("/api/profiles/wanted")
    assert profile.status_code == 200
