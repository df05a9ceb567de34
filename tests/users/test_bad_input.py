"""Bad input on the users and profiles: the longest password, bios and usernames in any
script, usernames in paths."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.bad_input.checks import MARK, check
from tests.bad_input.endpoints import UPDATE_USER, send
from tests.bad_input.fixtures import World
from tests.bad_input.routes import USERNAME_ROUTE_IDS, USERNAME_ROUTES, call
from tests.bad_input.values import TEXT_PARAMS
from tests.factories import PASSWORD, auth, create_article, register


async def test_registered_with_longest_password_can_log_in(client: httpx.AsyncClient) -> None:
    password = "p" * 256
    user = {"username": "longpass", "email": "longpass@example.com", "password": password}
    check(await client.post("/api/users", json={"user": user}), 201)
    login = {"email": user["email"], "password": password}
    check(await client.post("/api/users/login", json={"user": login}), 200)
    login["password"] = "p" * 255
    check(await client.post("/api/users/login", json={"user": login}), 401, "credentials")


@pytest.mark.parametrize("text", TEXT_PARAMS)
async def test_bio_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    updated = check(await send(client, world, UPDATE_USER, {"user": {"bio": text}}), 200)
    assert updated["user"]["bio"] == text
    me = check(await client.get("/api/user", headers=auth(world.token)), 200)
    assert me["user"]["bio"] == text
    profile = check(await client.get("/api/profiles/alice"), 200)
    assert profile["profile"]["bio"] == text


@pytest.mark.parametrize("username", ["مرحبا_user", "שלום", "用户名", "ñandú.ü-ß"])
async def test_username_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, username: str
) -> None:
    token = await register(client, username)
    me = check(await client.get("/api/user", headers=auth(token)), 200)
    assert me["user"]["username"] == username
    profile = check(await client.get(f"/api/profiles/{quote(username)}"), 200)
    assert profile["profile"]["username"] == username
    followed = check(
        await client.post(f"/api/profiles/{quote(username)}/follow", headers=auth(world.token)),
        200,
    )
    assert followed["profile"]["following"] is True
    await create_article(client, token, "by them")
    listed = check(await client.get("/api/articles", params={"author": username}), 200)
    assert listed["articlesCount"] == 1
    assert listed["articles"][0]["author"]["username"] == username


@pytest.mark.parametrize(
    "username", [f"{MARK}😀", f"{MARK} space", f"{MARK}/slash", f"{MARK}@at", "\u202e" + MARK]
)
async def test_username_outside_the_allowed_characters_is_422(
    client: httpx.AsyncClient, username: str
) -> None:
    user = {"username": username, "email": "x@example.com", "password": PASSWORD}
    check(await client.post("/api/users", json={"user": user}), 422, "username")


@pytest.mark.parametrize(("method", "path"), USERNAME_ROUTES, ids=USERNAME_ROUTE_IDS)
@pytest.mark.parametrize(
    "username",
    [f"{MARK}%00b", "%00", "a" * 65, MARK + "a" * 9_992],
    ids=["nul-middle", "nul-only", "65-chars", "10000-chars"],
)
async def test_bad_username_is_422(
    client: httpx.AsyncClient, world: World, method: str, path: str, username: str
) -> None:
    response = await call(client, method, path.format(username), token=world.token)
    check(response, 422, "username")


@pytest.mark.parametrize(("method", "path"), USERNAME_ROUTES, ids=USERNAME_ROUTE_IDS)
@pytest.mark.parametrize(
    "username",
    ["nobody", "a" * 64, quote("مرحبا"), "%FF%FE", "%ED%A0%80", quote("alice' --"), "%25"],
    ids=["plain", "64-chars", "rtl", "invalid-utf8", "surrogate", "sql-quote", "percent"],
)
async def test_unknown_username_is_404_profile(
    client: httpx.AsyncClient, world: World, method: str, path: str, username: str
) -> None:
    response = await call(client, method, path.format(username), token=world.token)
    check(response, 404, "profile", "not found")


@pytest.mark.parametrize(("method", "path"), USERNAME_ROUTES, ids=USERNAME_ROUTE_IDS)
async def test_unknown_username_without_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await call(client, method, path.format("nobody"))
    if method == "GET":
        check(response, 404, "profile")
    else:
        check(response, 401, "token", "is missing")
