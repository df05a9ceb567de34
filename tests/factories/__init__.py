"""The test data factories: sign up, log in, publish, read, edit, favorite, follow, comment,
promote, send at once — over HTTP where a client would, straight in the database only where
no route does it (roles); and the error bodies and checks the tests share.

One definition each, imported by every test module; fixtures stay in the conftest.py files.
The helpers that only some test modules share live beside this one, a module per topic
(`tests/factories/<topic>.py`), so that no module of helpers outgrows the rest.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from conduit.scaffold.spec import Resource
from conduit.scaffold.tree import Tree

PASSWORD = "password123"

# What the answers hold: timestamps to the millisecond, and the common error bodies.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MISSING_TOKEN = {"errors": {"token": ["is missing"]}}
ARTICLE_NOT_FOUND = {"errors": {"article": ["not found"]}}
ARTICLE_FORBIDDEN = {"errors": {"article": ["forbidden"]}}
FORBIDDEN_ROLE = {"role": ["forbidden"]}  # the errors of a staff-only route


def auth(token: str, scheme: str = "Token") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def register(client: httpx.AsyncClient, username: str) -> str:
    """Sign up `username` (e-mail `<username>@example.com`, PASSWORD); answers the token."""
    user = await sign_up(client, username)
    token: str = user["token"]
    return token


async def sign_up(client: httpx.AsyncClient, username: str) -> dict[str, Any]:
    """Register and answer the whole user (token and refresh token)."""
    response = await client.post(
        "/api/users",
        json={
            "user": {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        },
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


async def log_in(
    client: httpx.AsyncClient,
    email: str = "alice@example.com",
    password: str = PASSWORD,
    **headers: str,
) -> httpx.Response:
    return await client.post(
        "/api/users/login", json={"user": {"email": email, "password": password}}, headers=headers
    )


async def me(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    response = await client.get("/api/user", headers=auth(token))
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


async def update_me(client: httpx.AsyncClient, token: str, **fields: Any) -> httpx.Response:
    return await client.put("/api/user", json={"user": fields}, headers=auth(token))


async def profile(
    client: httpx.AsyncClient, username: str, token: str | None = None
) -> httpx.Response:
    headers = auth(token) if token else {}
    return await client.get(f"/api/profiles/{username}", headers=headers)


async def set_role(app: Any, username: str, role: str) -> None:
    """Give a user a role straight in the database (roles are read on every request)."""
    async with app.state.db.engine.begin() as conn:
        result = await conn.execute(
            text("UPDATE users SET role = :role WHERE username = :username"),
            {"role": role, "username": username},
        )
        assert result.rowcount == 1


async def make_staff(
    client: httpx.AsyncClient, app: Any, username: str, role: str = "admin"
) -> str:
    """Sign up `username` and give them `role`; answers the token."""
    token = await register(client, username)
    await set_role(app, username, role)
    return token


async def list_users(client: httpx.AsyncClient, token: str, **params: Any) -> httpx.Response:
    return await client.get("/api/admin/users", params=params, headers=auth(token))


async def create_article(
    client: httpx.AsyncClient, token: str, title: str = "Hello world", **fields: Any
) -> dict[str, Any]:
    payload = {"title": title, "description": "about it", "body": "the body", **fields}
    response = await client.post("/api/articles", json={"article": payload}, headers=auth(token))
    assert response.status_code == 201, response.text
    article: dict[str, Any] = response.json()["article"]
    return article


async def list_articles(
    client: httpx.AsyncClient, token: str | None = None, **params: Any
) -> dict[str, Any]:
    headers = auth(token) if token else {}
    response = await client.get("/api/articles", params=params, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def slugs(page: dict[str, Any]) -> list[str]:
    return [article["slug"] for article in page["articles"]]


async def get_article(
    client: httpx.AsyncClient, slug: str, token: str | None = None
) -> httpx.Response:
    return await client.get(f"/api/articles/{slug}", headers=auth(token) if token else {})


async def update_article(
    client: httpx.AsyncClient, token: str, slug: str, **fields: Any
) -> httpx.Response:
    return await client.put(f"/api/articles/{slug}", json={"article": fields}, headers=auth(token))


async def favorite(client: httpx.AsyncClient, token: str, slug: str) -> dict[str, Any]:
    response = await client.post(f"/api/articles/{slug}/favorite", headers=auth(token))
    assert response.status_code == 200, response.text
    article: dict[str, Any] = response.json()["article"]
    return article


async def delete_article(client: httpx.AsyncClient, token: str, slug: str) -> httpx.Response:
    return await client.delete(f"/api/articles/{slug}", headers=auth(token))


async def follow(client: httpx.AsyncClient, token: str, username: str) -> None:
    response = await client.post(f"/api/profiles/{username}/follow", headers=auth(token))
    assert response.status_code == 200, response.text


async def add_comment(
    client: httpx.AsyncClient, token: str, slug: str, body: str = "Nice article"
) -> dict[str, Any]:
    response = await client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": body}}, headers=auth(token)
    )
    assert response.status_code == 201, response.text
    comment: dict[str, Any] = response.json()["comment"]
    return comment


async def comment_ids(client: httpx.AsyncClient, slug: str) -> list[int]:
    response = await client.get(f"/api/articles/{slug}/comments")
    assert response.status_code == 200, response.text
    return [comment["id"] for comment in response.json()["comments"]]


async def delete_comment(
    client: httpx.AsyncClient, token: str, slug: str, comment_id: int
) -> httpx.Response:
    return await client.delete(f"/api/articles/{slug}/comments/{comment_id}", headers=auth(token))


async def tags(client: httpx.AsyncClient) -> list[str]:
    response = await client.get("/api/tags")
    assert response.status_code == 200, response.text
    found: list[str] = response.json()["tags"]
    return found


async def deliver(app: Any) -> int:
    """Deliver the queued mail now (the suite does not run the embedded worker)."""
    sent: int = await app.state.deliverer.deliver_due()
    return sent


async def make_key(
    client: httpx.AsyncClient, token: str, scopes: list[str], **extra: Any
) -> dict[str, Any]:
    """Create an API key with `scopes` for the user whose token is given; answers it whole."""
    body = {"name": "ci bot", "scopes": scopes, **extra}
    response = await client.post("/api/api-keys", json=body, headers=auth(token))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def api_key(created: dict[str, Any]) -> dict[str, str]:
    """The header that presents a key `make_key` created."""
    return {"X-API-Key": created["key"]}


def error_body(response: httpx.Response) -> Any:
    """An error response's body without its request id, after checking that the id is the
    one in the X-Request-ID header."""
    body = response.json()
    assert body.pop("request_id") == response.headers["x-request-id"]
    return body


def errors(response: httpx.Response) -> dict[str, list[str]]:
    result: dict[str, list[str]] = response.json()["errors"]
    return result


def assert_error(response: httpx.Response, status: int, key: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert message in errors(response).get(key, []), response.text


# --- requests at once (tests/concurrency) -------------------------------------------

TIMEOUT = 120  # seconds for one burst: a hang is a failure, not a stuck suite

# Dozens of users sign up in the burst tests, all from the test client's one address: more
# than the default per-IP limit of the auth endpoints allows in a minute.
MANY_SIGN_UPS = pytest.mark.settings(rate_limit_auth="1000/minute")


async def burst(*requests: Awaitable[httpx.Response]) -> list[httpx.Response]:
    async with asyncio.timeout(TIMEOUT):
        return list(await asyncio.gather(*requests))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def assert_all(responses: list[httpx.Response], status: int) -> None:
    bad = [(r.status_code, r.text[:300]) for r in responses if r.status_code != status]
    assert not bad, f"{len(bad)} of {len(responses)} not {status}: {bad[:3]}"


def generated_resources() -> dict[str, Resource]:
    """The resources `conduit generate resource` added to this checkout, by plural (none on
    main; CI's generator step adds some): tests that list what the API offers include
    theirs."""
    return Tree(Path(__file__).resolve().parents[2]).generated()


def generated_operations() -> set[str]:
    """`METHOD /path` of every operation of the generated resources (the generator's
    templates are their review)."""
    found = set()
    for plural, resource in generated_resources().items():
        item = f"/api/{plural}/{{id}}"
        found |= {f"GET /api/{plural}", f"POST /api/{plural}", f"GET {item}"}
        found |= {f"PATCH {item}", f"PUT {item}", f"DELETE {item}"}
        if resource.soft_delete:
            found.add(f"POST {item}/restore")
    return found
