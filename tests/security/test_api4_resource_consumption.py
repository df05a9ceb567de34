"""OWASP API4:2023 Unrestricted Resource Consumption.

Deeply nested and oversized JSON, paging parameters that ask for too much, over-long fields
and parameters, passwords long enough to make hashing expensive, oversized uploads, and the
rate limits: each is refused with a 4xx in the API's error shape, and the server keeps
answering afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD, auth, create_article, error_body, sign_up
from tests.security.support import leaks_in, make_key, staff_token

JSON = {"Content-Type": "application/json"}
MAX_BODY = 1024 * 1024


async def still_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tags")
    assert response.status_code == 200, response.text


def assert_refused(response: httpx.Response, statuses: tuple[int, ...]) -> None:
    assert response.status_code in statuses, response.text[:300]
    body = error_body(response)
    assert set(body) == {"errors"}
    assert not leaks_in(response.text)


# --- nesting and size of JSON -------------------------------------------------------------

NESTED = {
    "arrays-10k": b"[" * 10_000 + b"]" * 10_000,
    "objects-10k": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "arrays-100k": b"[" * 100_000 + b"]" * 100_000,
    "inside-a-field": b'{"user":{"bio":' + b"[" * 50_000 + b"]" * 50_000 + b"}}",
}


@pytest.mark.parametrize("document", NESTED.values(), ids=NESTED.keys())
async def test_api4_deeply_nested_json_is_refused(
    client: httpx.AsyncClient, alice: str, document: bytes
) -> None:
    headers = {**JSON, **auth(alice)}
    for method, path in [
        ("POST", "/api/users"),
        ("POST", "/api/users/login"),
        ("PUT", "/api/user"),
        ("POST", "/api/articles"),
        ("POST", "/api/auth/refresh"),
        ("POST", "/api/api-keys"),
    ]:
        response = await client.request(method, path, content=document, headers=headers)
        assert_refused(response, (400, 413, 422))
    await still_answers(client)
    assert (await client.get("/api/user", headers=auth(alice))).json()["user"]["bio"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/users"),
        ("PUT", "/api/user"),
        ("POST", "/api/articles"),
        ("POST", "/api/articles/{slug}/comments"),
        ("POST", "/api/auth/password-reset"),
    ],
)
async def test_api4_json_over_the_body_limit_is_refused(
    client: httpx.AsyncClient, alice: str, method: str, path: str
) -> None:
    slug = (await create_article(client, alice, "Target"))["slug"]
    filler = "x" * (MAX_BODY + 1)
    body = f'{{"user": {{"bio": "{filler}"}}, "article": {{"body": "{filler}"}}}}'.encode()
    url = path.format(slug=slug)

    declared = await client.request(method, url, content=body, headers={**JSON, **auth(alice)})
    assert_refused(declared, (413,))
    assert declared.headers["connection"] == "close"

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    streamed = await client.request(method, url, content=chunked(), headers={**JSON, **auth(alice)})
    assert_refused(streamed, (413,))
    await still_answers(client)
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["body"] == "the body"


# --- paging --------------------------------------------------------------------------------

BAD_PAGING = [
    ("limit", "-1"),
    ("limit", "0"),
    ("limit", "101"),
    ("limit", "1000000"),
    ("limit", str(10**30)),
    ("limit", "abc"),
    ("limit", "1.5"),
    ("limit", "1e3"),
    ("limit", ""),
    ("offset", "-1"),
    ("offset", str(10**30)),
    ("offset", "NaN"),
    ("page", "0"),
    ("page", "-5"),
    ("page", str(10**30)),
    ("page", "infinity"),
]


@pytest.mark.parametrize(
    ("name", "value"), BAD_PAGING, ids=[f"{n}={v[:12]}" for n, v in BAD_PAGING]
)
async def test_api4_out_of_range_paging_is_refused_on_every_list(
    client: httpx.AsyncClient, settings: Any, name: str, value: str
) -> None:
    admin = await staff_token(client, settings, "root")
    lists = ["/api/articles", "/api/articles/feed", "/api/api-keys", "/api/admin/users"]
    if name == "offset":
        lists = lists[:2]  # the numbered lists take `page` only
    for path in lists:
        response = await client.get(path, params={name: value}, headers=auth(admin))
        assert_refused(response, (422,))
        assert list(error_body(response)["errors"]) == [name]


async def test_api4_more_than_100_items_are_never_served(
    client: httpx.AsyncClient, alice: str
) -> None:
    for n in range(101):
        await create_article(client, alice, f"Article {n}")
    for query in (
        "limit=100",
        "limit=1000&limit=100",
        "limit=100&limit=1000",
        "limit=100&offset=0&page=1",
    ):
        response = await client.get(f"/api/articles?{query}")
        if response.status_code == 200:
            assert len(response.json()["articles"]) <= 100
            assert response.json()["articlesCount"] == 101
        else:
            assert_refused(response, (422,))


async def test_api4_a_far_offset_or_page_answers_an_empty_page(
    client: httpx.AsyncClient, alice: str
) -> None:
    await create_article(client, alice)
    for params in ({"offset": 2**53 - 1}, {"page": (2**53 - 1) // 100, "limit": 100}):
        response = await client.get("/api/articles", params=params)
        assert response.status_code == 200, response.text
        assert response.json() == {"articles": [], "articlesCount": 1}
    keys = await client.get("/api/api-keys", params={"page": 10**6}, headers=auth(alice))
    assert keys.status_code == 200
    assert keys.json()["items"] == []


async def test_api4_numbers_too_long_to_parse_cheaply_are_refused(
    client: httpx.AsyncClient, alice: str
) -> None:
    """Parsing a decimal of thousands of digits is quadratic (CVE-2020-10735): such numbers
    in a query, a path or a JSON body are refused, not computed with."""
    digits = "9" * 5000
    attempts = [
        client.get("/api/articles", params={"limit": digits}),
        client.get("/api/articles", params={"offset": digits}),
        client.delete(f"/api/articles/x/comments/{digits}", headers=auth(alice)),
        client.delete(f"/api/api-keys/{digits}", headers=auth(alice)),
        client.post(
            "/api/api-keys",
            content=b'{"name": "x", "expiresInDays": ' + digits.encode() + b"}",
            headers={**JSON, **auth(alice)},
        ),
        client.post("/api/users", content=b'{"user": {"username": 1e99999}}', headers=JSON),
    ]
    for attempt in attempts:
        assert_refused(await attempt, (400, 422))
    await still_answers(client)


# --- lengths of fields and parameters ------------------------------------------------------

OVERSIZED_FIELDS = [
    ("PUT", "/api/user", {"user": {"bio": "b" * 4097}}, "bio"),
    ("PUT", "/api/user", {"user": {"image": "https://x.example/" + "i" * 2048}}, "image"),
    (
        "POST",
        "/api/articles",
        {"article": {"title": "t" * 256, "description": "d", "body": "b"}},
        "title",
    ),
    (
        "POST",
        "/api/articles",
        {"article": {"title": "t", "description": "d" * 1025, "body": "b"}},
        "description",
    ),
    (
        "POST",
        "/api/articles",
        {"article": {"title": "t", "description": "d", "body": "b" * 65537}},
        "body",
    ),
    (
        "POST",
        "/api/articles",
        {"article": {"title": "t", "description": "d", "body": "b", "tagList": ["t" * 65]}},
        "tagList",
    ),
    (
        "POST",
        "/api/articles",
        {
            "article": {
                "title": "t",
                "description": "d",
                "body": "b",
                "tagList": [str(n) for n in range(21)],
            }
        },
        "tagList",
    ),
    ("POST", "/api/articles/{slug}/comments", {"comment": {"body": "c" * 16385}}, "body"),
    ("POST", "/api/api-keys", {"name": "n" * 101, "scopes": []}, "name"),
    ("POST", "/api/api-keys", {"name": "n", "scopes": ["articles:write"] * 50}, "scopes"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    OVERSIZED_FIELDS,
    ids=[f"{field}-{n}" for n, (_, _, _, field) in enumerate(OVERSIZED_FIELDS)],
)
async def test_api4_oversized_fields_are_refused(
    client: httpx.AsyncClient, alice: str, method: str, path: str, body: Any, field: str
) -> None:
    slug = (await create_article(client, alice, "Existing"))["slug"]
    response = await client.request(method, path.format(slug=slug), json=body, headers=auth(alice))
    assert_refused(response, (422,))
    assert field in error_body(response)["errors"]
    assert (await client.get("/api/articles")).json()["articlesCount"] == 1


async def test_api4_overlong_query_and_path_parameters_are_refused(
    client: httpx.AsyncClient, alice: str
) -> None:
    long = "x" * 20_000
    for path, params in [
        ("/api/articles", {"tag": long}),
        ("/api/articles", {"author": long}),
        ("/api/articles", {"favorited": long}),
        (f"/api/articles/{long}", {}),
        (f"/api/articles/{long}/comments", {}),
        (f"/api/profiles/{long}", {}),
    ]:
        response = await client.get(path, params=params, headers=auth(alice))
        assert_refused(response, (404, 414, 422))


async def test_api4_passwords_too_long_to_hash_cheaply_are_refused(
    client: httpx.AsyncClient,
) -> None:
    """Argon2 work grows with the input: every endpoint that hashes refuses > 256 chars
    before hashing (and the body limit bounds everything else)."""
    user = await sign_up(client, "alice")
    huge = "p" * 257
    attempts = [
        (
            "POST",
            "/api/users",
            {"user": {"username": "b", "email": "b@example.com", "password": huge}},
        ),
        ("POST", "/api/users/login", {"user": {"email": "alice@example.com", "password": huge}}),
        ("PUT", "/api/user", {"user": {"password": huge}}),
        ("POST", "/api/auth/password-reset/confirm", {"token": "t", "password": huge}),
    ]
    for method, path, body in attempts:
        response = await client.request(method, path, json=body, headers=auth(user["token"]))
        assert_refused(response, (422,))
        assert "password" in error_body(response)["errors"]
    assert (
        await client.post(
            "/api/users/login", json={"user": {"email": "alice@example.com", "password": PASSWORD}}
        )
    ).status_code == 200


# --- uploads --------------------------------------------------------------------------------

UPLOAD_MAX = 4096
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 17


def stored_files(directory: Path) -> int:
    return len(list(directory.iterdir()))


@pytest.fixture
def upload_dir(app: Any, tmp_path: Path) -> Path:
    directory = tmp_path / "uploads"
    app.state.settings = app.state.settings.model_copy(update={"upload_dir": str(directory)})
    return directory


@pytest.mark.settings(upload_max_bytes=UPLOAD_MAX)
async def test_api4_uploads_over_the_size_limit_are_refused_and_not_stored(
    client: httpx.AsyncClient, alice: str, upload_dir: Path
) -> None:
    def files(size: int) -> dict[str, Any]:
        return {"file": ("a.png", PNG + b"\x00" * (size - len(PNG)), "image/png")}

    fits = await client.post("/api/uploads", files=files(UPLOAD_MAX), headers=auth(alice))
    assert fits.status_code == 201, fits.text
    for size in (UPLOAD_MAX + 1, UPLOAD_MAX * 10, MAX_BODY * 3):
        response = await client.post("/api/uploads", files=files(size), headers=auth(alice))
        assert_refused(response, (413,))
    assert stored_files(upload_dir) == 1
    await still_answers(client)


# --- rate limits -----------------------------------------------------------------------------


@pytest.mark.settings(rate_limit_anon="5/minute")
async def test_api4_anonymous_requests_are_rate_limited(client: httpx.AsyncClient) -> None:
    statuses = [(await client.get("/api/articles")).status_code for _ in range(8)]
    assert statuses[:5] == [200] * 5
    refused = await client.get("/api/tags")
    assert refused.status_code == 429
    assert error_body(refused) == {"errors": {"rate_limit": ["too many requests"]}}
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.settings(rate_limit_user="5/minute")
async def test_api4_signed_in_requests_are_rate_limited_per_user(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice")
    key = await make_key(client, alice["token"], [])
    for _ in range(5):
        await client.get("/api/user", headers=auth(alice["token"]))
    # The same user by another credential shares the bucket.
    for headers in (auth(alice["token"]), {"X-API-Key": key["key"]}):
        refused = await client.get("/api/user", headers=headers)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.settings(rate_limit_auth="3/minute")
async def test_api4_authentication_endpoints_have_a_strict_rate_limit(
    client: httpx.AsyncClient,
) -> None:
    body = {"user": {"email": "nobody@example.com", "password": "whatever-password"}}
    statuses = [(await client.post("/api/users/login", json=body)).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    for path, payload in [
        ("/api/users/login", body),
        ("/api/auth/password-reset", {"email": "nobody@example.com"}),
        ("/api/auth/refresh", {"refresh_token": "x"}),
        ("/api/v1/users/login", body),
    ]:
        refused = await client.post(path, json=payload)
        assert refused.status_code == 429, refused.text
