"""Conditional GET on articles, lists, the feed and tags: strong ETags (a hash of the exact
body bytes) and `If-None-Match` answered with 304 (weak comparison, lists, `*`)."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from conduit.core.http_cache import IF_NONE_MATCH_MAX, _ETags, none_match, strong_etag
from tests.factories import auth, create_article

VARY = "Authorization, X-API-Key"


def etag_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    etag = response.headers["etag"]
    assert etag == f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    return etag


async def get(
    client: httpx.AsyncClient, url: str, token: str | None = None, if_none_match: str | None = None
) -> httpx.Response:
    headers = auth(token) if token else {}
    if if_none_match is not None:
        headers["If-None-Match"] = if_none_match
    return await client.get(url, headers=headers)


def assert_not_modified(response: httpx.Response, etag: str) -> None:
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"


@pytest.fixture
async def slug(client: httpx.AsyncClient, alice: str) -> str:
    article = await create_article(client, alice, tagList=["etag"])
    return str(article["slug"])


URLS = [
    "/api/articles/{slug}",
    "/api/v1/articles/{slug}",
    "/api/articles",
    "/api/articles?tag=etag&limit=5",
    "/api/tags",
]


@pytest.mark.parametrize("url", URLS)
async def test_same_body_same_etag_and_304_when_it_matches(
    client: httpx.AsyncClient, slug: str, url: str
) -> None:
    url = url.format(slug=slug)
    first, second = await get(client, url), await get(client, url)
    etag = etag_of(first)
    assert etag_of(second) == etag
    assert_not_modified(await get(client, url, if_none_match=etag), etag)


@pytest.mark.parametrize(
    "header",
    [
        "{etag}",
        "W/{etag}",
        "*",
        ' "nope" , {etag}',
        '"a,b", W/"x",W/{etag}',
    ],
    ids=["strong", "weak", "star", "list", "list-with-weak"],
)
async def test_if_none_match_forms(client: httpx.AsyncClient, slug: str, header: str) -> None:
    url = f"/api/articles/{slug}"
    etag = etag_of(await get(client, url))
    assert_not_modified(await get(client, url, if_none_match=header.format(etag=etag)), etag)


@pytest.mark.parametrize("header", ['"nope"', 'W/"nope", "other"', "", "garbage", '"'])
async def test_no_match_answers_the_body(client: httpx.AsyncClient, slug: str, header: str) -> None:
    response = await get(client, f"/api/articles/{slug}", if_none_match=header)
    assert response.status_code == 200
    assert response.json()["article"]["slug"] == slug


async def test_a_change_gives_a_new_etag_and_the_old_one_gets_the_body(
    client: httpx.AsyncClient, slug: str, alice: str
) -> None:
    url = f"/api/articles/{slug}"
    old = etag_of(await get(client, url))
    old_list = etag_of(await get(client, "/api/articles"))
    response = await client.put(url, json={"article": {"body": "changed"}}, headers=auth(alice))
    assert response.status_code == 200
    fresh = await get(client, url, if_none_match=old)
    assert fresh.json()["article"]["body"] == "changed"
    assert etag_of(fresh) != old
    fresh_list = await get(client, "/api/articles", if_none_match=old_list)
    assert etag_of(fresh_list) != old_list


async def test_anonymous_headers(client: httpx.AsyncClient, slug: str) -> None:
    for url in (f"/api/articles/{slug}", "/api/articles"):
        response = await get(client, url)
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["vary"] == VARY
        assert_not_modified(
            not_modified := await get(client, url, if_none_match=etag_of(response)),
            response.headers["etag"],
        )
        assert not_modified.headers["cache-control"] == "no-cache"
        assert not_modified.headers["vary"] == VARY
    tags = await get(client, "/api/tags")
    assert tags.headers["cache-control"] == "no-cache"
    assert "vary" not in tags.headers  # the same for everyone


@pytest.mark.parametrize("url", ["/api/articles/{slug}", "/api/articles", "/api/articles/feed"])
async def test_signed_in_responses_get_private_etags_and_304(
    client: httpx.AsyncClient, slug: str, alice: str, bob: str, url: str
) -> None:
    url = url.format(slug=slug)
    assert (await client.post("/api/profiles/alice/follow", headers=auth(bob))).status_code == 200
    response = await get(client, url, bob)
    etag = etag_of(response)
    assert response.headers["cache-control"] == "private, no-cache"
    assert response.headers["vary"] == VARY
    not_modified = await get(client, url, bob, if_none_match=etag)
    assert_not_modified(not_modified, etag)
    assert not_modified.headers["cache-control"] == "private, no-cache"


async def test_a_viewer_flag_changes_the_etag(
    client: httpx.AsyncClient, slug: str, bob: str
) -> None:
    url = f"/api/articles/{slug}"
    anonymous = etag_of(await get(client, url))
    before = etag_of(await get(client, url, bob))
    assert before == anonymous  # same bytes: not favorited, not following
    assert (await client.post(f"{url}/favorite", headers=auth(bob))).status_code == 200
    after = await get(client, url, bob, if_none_match=before)
    assert after.json()["article"]["favorited"] is True
    assert etag_of(after) not in (before, etag_of(await get(client, url)))


async def test_errors_carry_no_etag(client: httpx.AsyncClient) -> None:
    response = await get(client, "/api/articles/missing", if_none_match="*")
    assert response.status_code == 404
    assert "etag" not in response.headers


async def test_writes_carry_no_etag(client: httpx.AsyncClient, alice: str) -> None:
    payload = {"article": {"title": "T", "description": "d", "body": "b"}}
    response = await client.post("/api/articles", json=payload, headers=auth(alice))
    assert response.status_code == 201
    assert "etag" not in response.headers


async def test_the_openapi_document_describes_conditional_gets(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    operation = paths["/api/articles/{slug}"]["get"]
    assert "304" in operation["responses"]
    assert "ETag" in operation["responses"]["200"]["headers"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SingleArticleResponse"
    }
    assert "If-None-Match" in {p["name"].title() for p in operation["parameters"]}


async def test_the_tags_document_and_check_if_none_match_as_a_declared_header_does(
    client: httpx.AsyncClient,
) -> None:
    """The tags route reads the header itself (no FastAPI dependency): the same parameter
    object, and the same 422 for a value over the declared maximum, as the declared one."""
    paths = (await client.get("/openapi.json")).json()["paths"]
    declared = paths["/api/articles/{slug}"]["get"]["parameters"]
    header = next(p for p in declared if p["in"] == "header")
    assert paths["/api/tags"]["get"]["parameters"] == [header]
    too_long = '"' + "a" * IF_NONE_MATCH_MAX + '"'
    for url in ("/api/tags", "/api/articles"):
        response = await get(client, url, if_none_match=too_long)
        assert response.status_code == 422
        assert response.json()["errors"] == {
            "if-none-match": [f"is too long (maximum is {IF_NONE_MATCH_MAX} characters)"]
        }
    fits = '"' + "a" * (IF_NONE_MATCH_MAX - 2) + '"'
    assert (await get(client, "/api/tags", if_none_match=fits)).status_code == 200


def test_none_match_by_weak_comparison() -> None:
    etag = strong_etag(b"{}")
    assert none_match(etag, etag)
    assert none_match(f"W/{etag}", etag)
    assert none_match(" * ", etag)
    assert none_match(f'"x", {etag}', etag)
    assert not none_match(None, etag)
    assert not none_match(etag.strip('"'), etag)  # unquoted: not an entity-tag
    assert not none_match('"x", W/"y"', etag)


def test_etags_of_bodies_served_again_are_remembered_within_bounds() -> None:
    etags = _ETags(max_bytes=10, max_body=6)
    first, second, large = b"abcdef", b"ghijkl", b"x" * 7
    assert etags(first) == etags(bytes(first)) == strong_etag(first)
    assert etags(second) == strong_etag(second)
    assert etags(large) == strong_etag(large)
    assert list(etags._tags) == [second]  # 12 bytes > 10: the oldest went; `large` not kept
    assert etags(first) != etags(second)
