"""GET /api/admin/users: every user with their standing, paged and searched, for admins only."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.factories import FORBIDDEN_ROLE, auth, list_users, register

ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def usernames(client: httpx.AsyncClient, token: str, **params: Any) -> list[str]:
    response = await list_users(client, token, **params)
    assert response.status_code == 200, response.text
    return [item["username"] for item in response.json()["items"]]


async def test_admin_lists_users_with_their_standing(
    client: httpx.AsyncClient, admin: str, alice: str, moderator: str
) -> None:
    response = await list_users(client, admin)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"items", "page", "limit", "total_count"}
    assert (body["page"], body["limit"], body["total_count"]) == (1, 20, 3)
    assert [item["username"] for item in body["items"]] == ["root", "alice", "mod"]
    root, alice_item, mod = body["items"]
    assert set(alice_item) == {
        "username",
        "email",
        "role",
        "active",
        "bio",
        "image",
        "createdAt",
    }
    assert alice_item["email"] == "alice@example.com"
    assert alice_item["active"] is True
    assert alice_item["bio"] is None
    assert alice_item["image"] is None
    assert ISO_MILLIS.match(alice_item["createdAt"])
    assert [root["role"], alice_item["role"], mod["role"]] == ["admin", "user", "moderator"]
    assert "password" not in response.text
    assert "hash" not in response.text.lower()


async def test_admin_user_list_is_paginated(client: httpx.AsyncClient, admin: str) -> None:
    for name in ("u1", "u2", "u3", "u4"):
        await register(client, name)

    first = (await list_users(client, admin, page=1, limit=2)).json()
    second = (await list_users(client, admin, page=2, limit=2)).json()
    third = (await list_users(client, admin, page=3, limit=2)).json()
    beyond = (await list_users(client, admin, page=4, limit=2)).json()

    assert [item["username"] for item in first["items"]] == ["root", "u1"]
    assert [item["username"] for item in second["items"]] == ["u2", "u3"]
    assert [item["username"] for item in third["items"]] == ["u4"]
    assert beyond["items"] == []
    for number, body in enumerate((first, second, third, beyond), start=1):
        assert (body["page"], body["limit"], body["total_count"]) == (number, 2, 5)


async def test_admin_user_search_matches_part_of_username_or_email(
    client: httpx.AsyncClient, admin: str
) -> None:
    for name in ("alice", "malik"):
        await register(client, name)
    bob = await register(client, "bob")
    moved = await client.put(
        "/api/user", json={"user": {"email": "bob@alibaba.example.com"}}, headers=auth(bob)
    )
    assert moved.status_code == 200, moved.text

    assert await usernames(client, admin, q="ali") == ["alice", "malik", "bob"]
    assert await usernames(client, admin, q="ALI") == ["alice", "malik", "bob"]
    assert await usernames(client, admin, q="LiK") == ["malik"]
    assert await usernames(client, admin, q="ALIBABA.example") == ["bob"]
    assert await usernames(client, admin, q="nobody-here") == []
    response = await list_users(client, admin, q="ali", limit=1)
    assert response.json()["total_count"] == 3


async def test_admin_user_search_treats_wildcards_literally(
    client: httpx.AsyncClient, admin: str
) -> None:
    for name in ("x_y", "xay", "x.y"):
        await register(client, name)

    assert await usernames(client, admin, q="x_y") == ["x_y"]
    assert await usernames(client, admin, q="_") == ["x_y"]
    response = await list_users(client, admin, q="%")
    assert response.status_code == 200, response.text
    assert response.json()["items"] == []
    assert response.json()["total_count"] == 0
    assert await usernames(client, admin, q="x%y") == []


@pytest.mark.parametrize("limit", [0, 101])
async def test_admin_user_list_refuses_an_out_of_range_limit(
    client: httpx.AsyncClient, admin: str, limit: int
) -> None:
    response = await list_users(client, admin, limit=limit)

    assert response.status_code == 422, response.text
    assert "limit" in response.json()["errors"]


async def test_admin_user_list_refuses_page_zero(client: httpx.AsyncClient, admin: str) -> None:
    response = await list_users(client, admin, page=0)

    assert response.status_code == 422, response.text
    assert "page" in response.json()["errors"]


async def test_only_admins_list_users(
    client: httpx.AsyncClient, alice: str, moderator: str
) -> None:
    for token in (alice, moderator):
        response = await list_users(client, token)
        assert response.status_code == 403, response.text
        assert response.json()["errors"] == FORBIDDEN_ROLE

    anonymous = await client.get("/api/admin/users")
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["errors"] == {"token": ["is missing"]}
