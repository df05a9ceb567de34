"""OWASP API4:2023 Unrestricted Resource Consumption: what one request may carry.

Deeply nested and oversized JSON, over-long fields and parameters, passwords long enough to
make hashing expensive, and oversized uploads: each is refused with a 4xx in the API's error
shape, and the server keeps answering afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD, auth, create_article, error_body, sign_up
from tests.factories.security import JSON, MAX_BODY, assert_refused, still_answers

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
