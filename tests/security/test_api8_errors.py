"""OWASP API8:2023 Security Misconfiguration: error answers.

No absolute redirects built from a forged Host, error bodies in the API's shape (404 and 405
included, with Allow) that never show a stack trace, SQL, a file path or framework
internals, and docs that leak nothing.
"""

from __future__ import annotations

import json

import httpx
import pytest

from conduit.core.config import Settings
from conduit.main import create_app
from tests.factories import PASSWORD, auth, create_article, error_body
from tests.factories.security import assert_error_shape

# --- redirects, 404 and 405 ---------------------------------------------------------------------


async def test_api8_no_redirect_is_built_from_a_forged_host(client: httpx.AsyncClient) -> None:
    """A trailing slash must not earn a redirect to whatever host the request named (a
    cache in front of the API would serve it to everyone)."""
    for path in ("/api/user/", "/api/articles/", "/api/tags/", "/api/v1/tags/", "/docs/"):
        response = await client.get(
            path, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
        )
        assert "evil.example" not in response.headers.get("location", ""), path
        assert "evil.example" not in response.text


NOT_FOUND = [
    "/nowhere",
    "/api",
    "/api/",
    "/api/nowhere",
    "/api/v1/nowhere",
    "/api/articles/slug/unknown/deeper",
    "/API/tags",
]


@pytest.mark.parametrize("path", NOT_FOUND)
async def test_api8_unknown_routes_answer_404_in_the_error_shape(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404, response.text
    assert_error_shape(response)
    assert error_body(response) == {"errors": {"route": ["not found"]}}


WRONG_METHODS = [
    ("DELETE", "/api/tags", "GET, HEAD"),
    ("PATCH", "/api/articles/some-slug", "DELETE, GET, HEAD, PUT"),
    ("GET", "/api/users/login", "POST"),
    ("PUT", "/api/profiles/someone/follow", "DELETE, POST"),
    ("POST", "/api/v1/tags", "GET, HEAD"),
    ("TRACE", "/api/articles", "GET, HEAD, POST"),
    ("GET", "/api/admin/articles/some-slug/restore", "POST"),
]


@pytest.mark.parametrize(
    ("method", "path", "allow"), WRONG_METHODS, ids=[f"{m} {p}" for m, p, _ in WRONG_METHODS]
)
async def test_api8_a_wrong_method_answers_405_with_allow_in_the_error_shape(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow
    assert_error_shape(response)
    assert error_body(response) == {"errors": {"method": ["not allowed"]}}


# --- error bodies never show internals ----------------------------------------------------------


async def test_api8_error_bodies_never_show_internals(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice, "Errors"))["slug"]
    json_headers = {"Content-Type": "application/json"}
    attempts = [
        client.get("/api/user"),
        client.get("/api/user", headers=auth("x.y.z")),
        client.get("/api/user", headers={"X-API-Key": "cdt_nope"}),
        client.put(f"/api/articles/{slug}", json={"article": {"body": "x"}}, headers=auth(bob)),
        client.get("/api/articles/missing"),
        client.get("/api/profiles/missing"),
        client.delete(f"/api/articles/{slug}/comments/99999", headers=auth(alice)),
        client.delete(f"/api/articles/{slug}/comments/99999999999999999999", headers=auth(alice)),
        client.post(
            "/api/users",
            json={
                "user": {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
            },
        ),
        client.post("/api/users", content=b'{"user": ', headers=json_headers),
        client.post("/api/users", content=b"\xff\xfe\x00garbage", headers=json_headers),
        client.post("/api/users", content=b'{"user": "\\ud800"}', headers=json_headers),
        client.post("/api/users", content=b"[]", headers=json_headers),
        client.post("/api/users", content=b"null", headers=json_headers),
        client.post("/api/users", content=b'{"user": {"username": 1e999}}', headers=json_headers),
        client.post("/api/users", content=b"x" * 2_000_000, headers=json_headers),
        client.post(
            "/api/articles", content=b"{}", headers={**auth(alice), "Content-Type": "text/xml"}
        ),
        client.get("/api/articles", params={"limit": "'; SELECT 1; --"}),
        client.post("/api/auth/refresh", json={"refresh_token": "nope"}),
        client.post("/api/auth/verify-email/confirm", json={"token": "nope"}),
        client.post(
            "/api/auth/password-reset/confirm", json={"token": "nope", "password": "long-enough-1"}
        ),
        client.get("/api/admin/users", headers=auth(alice)),
        client.delete("/api/api-keys/0", headers=auth(alice)),
        client.get("/api/uploads/..%2F..%2Fetc%2Fpasswd"),
        client.get("/api/uploads/x.png"),
        client.post(
            "/api/uploads", files={"file": ("a.txt", b"not an image")}, headers=auth(alice)
        ),
        client.get("/api/articles/%00"),
        client.request("BREW", "/api/tags"),
    ]
    seen: set[int] = set()
    for attempt in attempts:
        response = await attempt
        assert 400 <= response.status_code < 500, response.text
        assert_error_shape(response)
        seen.add(response.status_code)
    assert seen >= {400, 401, 403, 404, 405, 409, 413, 415, 422}


@pytest.mark.server_error
async def test_api8_an_unhandled_error_shows_nothing_of_its_cause(settings: Settings) -> None:
    app = create_app(settings)

    async def explode() -> None:
        raise RuntimeError(
            'SELECT password_hash FROM users; File "/src/conduit/x.py", line 1 (sqlalchemy)'
        )

    app.add_api_route("/api/explode", explode)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/explode")
    assert response.status_code == 500
    assert_error_shape(response)
    assert error_body(response) == {"errors": {"server": ["internal error"]}}


# --- the docs ------------------------------------------------------------------------------------


async def test_api8_docs_and_schema_leak_no_internals(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    texts = []
    for path in ("/openapi.json", "/docs", "/redoc"):
        response = await client.get(path)
        assert response.status_code == 200
        texts.append(response.text)
    everything = "\n".join(texts)
    for marker in (
        "Traceback",
        "/src/",
        "site-packages",
        "/home/",
        "/root/",
        "/tmp/",  # noqa: S108 - searched for, not used
        "/work/",
        settings.secret_key,
        settings.database_url,
        "sqlite",
        "postgresql",
        "redis://",
        "password_hash",
        "passwordHash",
    ):
        assert marker not in everything, marker
    schema = json.loads(texts[0])
    assert not [path for path in schema["paths"] if path.startswith("/api/v1/")]
    assert "servers" not in schema or all("internal" not in s["url"] for s in schema["servers"])
