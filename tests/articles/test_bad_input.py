"""Bad input on the articles: tag lists, text in any script, filters and slugs."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.bad_input.checks import MARK, SURROGATE, check
from tests.bad_input.endpoints import ARTICLE_ENDPOINTS, UPDATE_ARTICLE, Endpoint, send
from tests.bad_input.fixtures import World
from tests.bad_input.routes import FILTERS, SLUG_ROUTE_IDS, SLUG_ROUTES, UNKNOWN_SLUGS, call
from tests.bad_input.values import BAD_TAG_LISTS, TEXT_PARAMS
from tests.factories import auth


@pytest.mark.parametrize("ep", ARTICLE_ENDPOINTS, ids=str)
@pytest.mark.parametrize("tags", BAD_TAG_LISTS.values(), ids=BAD_TAG_LISTS.keys())
async def test_bad_tag_list_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, tags: Any
) -> None:
    check(await send(client, world, ep, ep.body(tagList=tags)), 422, "tagList")


@pytest.mark.parametrize("ep", ARTICLE_ENDPOINTS, ids=str)
async def test_lone_surrogate_in_tag_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint
) -> None:
    raw = json.dumps(ep.body(tagList=[f"{MARK}{SURROGATE}"])).replace(SURROGATE, "\\ud800")
    check(await send(client, world, ep, content=raw), 422, "tagList")


@pytest.mark.parametrize("ep", ARTICLE_ENDPOINTS, ids=str)
async def test_tag_list_limits_and_normalisation(
    client: httpx.AsyncClient, world: World, ep: Endpoint
) -> None:
    # 20 items (the maximum), the longest tag, a duplicate, and one that is one after stripping
    tags = [f"tag{i:02}" for i in range(17)] + ["t" * 64, "tag00", "  tag01  "]
    article = check(await send(client, world, ep, ep.body(tagList=tags)), ep.success)["article"]
    assert article["tagList"] == sorted({f"tag{i:02}" for i in range(17)} | {"t" * 64})


@pytest.mark.parametrize("text", TEXT_PARAMS)
async def test_article_text_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    sent = {"title": text, "description": text, "body": f"{text}\n\n{text}", "tagList": [text]}
    created = check(
        await client.post("/api/articles", json={"article": sent}, headers=auth(world.token)), 201
    )["article"]
    for name, value in sent.items():
        assert created[name] == value, name

    fetched = check(await client.get(f"/api/articles/{quote(created['slug'])}"), 200)["article"]
    for name, value in sent.items():
        assert fetched[name] == value, name

    by_tag = check(await client.get("/api/articles", params={"tag": text}), 200)
    assert by_tag["articlesCount"] == 1
    assert [a["slug"] for a in by_tag["articles"]] == [created["slug"]]
    assert text in check(await client.get("/api/tags"), 200)["tags"]


@pytest.mark.parametrize("text", TEXT_PARAMS)
async def test_article_update_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    sent = {"title": text, "description": text, "body": text, "tagList": [text, "plain"]}
    updated = check(await send(client, world, UPDATE_ARTICLE, {"article": sent}), 200)["article"]
    fetched = check(await client.get(f"/api/articles/{quote(updated['slug'])}"), 200)["article"]
    for name, value in sent.items():
        expected = sorted(value) if name == "tagList" else value
        assert updated[name] == expected, name
        assert fetched[name] == expected, name


@pytest.mark.parametrize("param", FILTERS)
@pytest.mark.parametrize(
    "raw",
    [f"{MARK}%00b", "%00", f"%00{MARK}", f"{MARK}" + "a" * 9_992, f"{MARK}" + "a" * 57],
    ids=["nul-middle", "nul-only", "nul-start", "10000-chars", "65-chars"],
)
async def test_bad_filter_value_is_422(
    client: httpx.AsyncClient, world: World, param: str, raw: str
) -> None:
    check(await client.get(f"/api/articles?{param}={raw}"), 422, param)


@pytest.mark.parametrize("param", FILTERS)
@pytest.mark.parametrize(
    "raw",
    [
        "nobody",
        "a" * 64,
        quote("مرحبا بالعالم 😀"),
        "%FF%FE",  # not UTF-8
        "%ED%A0%80",  # an encoded surrogate
        quote("' OR '1'='1"),
        quote('"; DROP TABLE articles; --'),
        quote("%"),
        quote("_"),
        quote("*"),
    ],
    ids=[
        "unknown",
        "64-chars",
        "rtl-emoji",
        "invalid-utf8",
        "surrogate",
        "sql-quote",
        "sql-drop",
        "percent",
        "underscore",
        "star",
    ],
)
async def test_unmatched_filter_value_is_an_empty_list(
    client: httpx.AsyncClient, world: World, param: str, raw: str
) -> None:
    body = check(await client.get(f"/api/articles?{param}={raw}"), 200)
    assert body == {"articles": [], "articlesCount": 0}
    assert check(await client.get("/api/articles"), 200)["articlesCount"] == 1


@pytest.mark.parametrize("param", FILTERS)
async def test_empty_or_repeated_filter_is_not_a_500(
    client: httpx.AsyncClient, world: World, param: str
) -> None:
    check(await client.get(f"/api/articles?{param}="), {200, 422})
    check(await client.get(f"/api/articles?{param}=a&{param}=b"), {200, 422})


@pytest.mark.parametrize(("method", "path", "body"), SLUG_ROUTES, ids=SLUG_ROUTE_IDS)
@pytest.mark.parametrize(
    "slug",
    [f"{MARK}%00b", "%00", f"{MARK}%00", "a" * 301, MARK + "a" * 9_992],
    ids=["nul-middle", "nul-only", "nul-end", "301-chars", "10000-chars"],
)
async def test_bad_slug_is_422(
    client: httpx.AsyncClient, world: World, method: str, path: str, body: Any, slug: str
) -> None:
    response = await call(client, method, path.format(slug), body, world.token)
    check(response, 422, "slug")


@pytest.mark.parametrize(("method", "path", "body"), SLUG_ROUTES, ids=SLUG_ROUTE_IDS)
@pytest.mark.parametrize("slug", UNKNOWN_SLUGS.values(), ids=UNKNOWN_SLUGS.keys())
async def test_unknown_slug_is_404_article(
    client: httpx.AsyncClient, world: World, method: str, path: str, body: Any, slug: str
) -> None:
    response = await call(client, method, path.format(slug), body, world.token)
    check(response, 404, "article", "not found")


@pytest.mark.parametrize(("method", "path", "body"), SLUG_ROUTES, ids=SLUG_ROUTE_IDS)
async def test_unknown_slug_without_token(
    client: httpx.AsyncClient, world: World, method: str, path: str, body: Any
) -> None:
    response = await call(client, method, path.format("no-such-article"), body)
    if method == "GET":  # auth is optional there
        check(response, 404, "article")
    else:  # authentication is checked before existence
        check(response, 401, "token", "is missing")
