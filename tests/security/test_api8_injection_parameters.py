"""OWASP API8:2023 Security Misconfiguration: injection into query and path parameters (API8
took over "Injection" from the 2019 list, where input reaches an interpreter unfiltered).

SQL, NoSQL, template, path-traversal, CRLF and markup strings go into every query parameter
and path parameter of the API. None may cause a 500 or be interpreted: a filter matches
them literally (so `' OR 1=1 --` matches nothing), paging parameters refuse them, a path
names nothing with them. A NUL character is refused with 422 everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from conduit.core.config import Settings
from tests.factories import auth, create_article, error_body, sign_up
from tests.factories.security import NUL, PAYLOADS, UNLIMITED, assert_handled
from tests.security.support import staff_token

pytestmark = UNLIMITED


# --- query parameters --------------------------------------------------------------------------


@dataclass
class World:
    client: httpx.AsyncClient
    alice: str
    bob: str
    admin: str
    slug: str


@pytest.fixture
async def world(client: httpx.AsyncClient, settings: Settings) -> World:
    admin = await staff_token(client, settings, "root")
    alice = (await sign_up(client, "alice"))["token"]
    bob = (await sign_up(client, "bob"))["token"]
    slug = (await create_article(client, alice, "Seed", tagList=["real"]))["slug"]
    assert (await client.post(f"/api/articles/{slug}/favorite", headers=auth(bob))).is_success
    assert (await client.post("/api/profiles/alice/follow", headers=auth(bob))).is_success
    return World(client, alice, bob, admin, slug)


TEXT_FILTERS = ["tag", "author", "favorited"]
NUMBERS = ["limit", "offset", "page"]


@pytest.mark.parametrize("name", TEXT_FILTERS)
async def test_api8_injection_in_article_filters_matches_literally(world: World, name: str) -> None:
    for payload in PAYLOADS:
        for headers in ({}, auth(world.bob)):
            response = await world.client.get(
                "/api/articles", params={name: payload}, headers=headers
            )
            assert_handled(response)
            assert response.status_code == 200, response.text
            assert response.json() == {"articles": [], "articlesCount": 0}, payload
    control = await world.client.get("/api/articles", params={"tag": "real"})
    assert control.json()["articlesCount"] == 1


@pytest.mark.parametrize("name", NUMBERS)
async def test_api8_injection_in_paging_parameters_is_refused(world: World, name: str) -> None:
    for payload in PAYLOADS:
        for path, headers in [
            ("/api/articles", {}),
            ("/api/articles/feed", auth(world.bob)),
            ("/api/api-keys", auth(world.bob)),
            ("/api/admin/users", auth(world.admin)),
        ]:
            if name == "offset" and path in ("/api/api-keys", "/api/admin/users"):
                continue
            response = await world.client.get(path, params={name: payload}, headers=headers)
            assert_handled(response)
            assert response.status_code == 422, (path, payload, response.text)
            assert list(error_body(response)["errors"]) == [name]


async def test_api8_injection_in_the_admin_search_matches_literally(world: World) -> None:
    for payload in PAYLOADS:
        response = await world.client.get(
            "/api/admin/users", params={"q": payload}, headers=auth(world.admin)
        )
        assert_handled(response)
        assert response.status_code == 200, response.text
        assert response.json()["items"] == [], payload
        assert response.json()["total_count"] == 0


QUERY_TARGETS = [
    ("/api/articles", "tag"),
    ("/api/articles", "author"),
    ("/api/articles", "favorited"),
    ("/api/articles", "limit"),
    ("/api/articles", "offset"),
    ("/api/articles", "page"),
    ("/api/articles/feed", "limit"),
    ("/api/admin/users", "q"),
    ("/api/admin/users", "page"),
    ("/api/api-keys", "limit"),
]


@pytest.mark.parametrize(
    ("path", "name"), QUERY_TARGETS, ids=[f"{p}?{n}" for p, n in QUERY_TARGETS]
)
async def test_api8_a_nul_in_any_query_parameter_is_422(world: World, path: str, name: str) -> None:
    headers = auth(world.admin)
    for value in (NUL, "\x00", "1\x00", "real\x00"):
        response = await world.client.get(path, params={name: value}, headers=headers)
        assert_handled(response)
        assert response.status_code == 422, response.text
        assert list(error_body(response)["errors"]) == [name]


@pytest.mark.parametrize(
    "template",
    [
        "/api/articles/{}",
        "/api/articles/{}/comments",
        "/api/profiles/{}",
        "/api/articles/{}/favorite",
        "/api/admin/articles/{}/restore",
    ],
)
async def test_api8_injection_in_path_parameters_is_inert(world: World, template: str) -> None:
    method = "POST" if template.endswith(("favorite", "restore")) else "GET"
    for payload in [*PAYLOADS, NUL]:
        response = await world.client.request(
            method, template.format(quote(payload, safe="")), headers=auth(world.admin)
        )
        assert_handled(response)
        assert response.status_code in (404, 422), (payload, response.text)
        if "\x00" in payload:
            assert response.status_code == 422
    assert (await world.client.get(f"/api/articles/{world.slug}")).status_code == 200
    assert (await world.client.get("/api/profiles/alice")).status_code == 200
