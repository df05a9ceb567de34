"""OWASP API9:2023 Improper Inventory Management.

The API's surface is known and reviewed: the documented operations are exactly the list
below (a new one fails this test until it is added here, and so reviewed); every route the
app serves is documented, or is the `/api/v1` mirror of a documented one, or one of the
docs pages. The mirror is the same code with the same authorization: every operation
answers the same under `/api` and `/api/v1`, anonymously, with a forged token, as a plain
user and with a scoped API key. Old, guessed and undocumented paths answer 404.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from conduit.core.config import Settings
from tests.factories import (
    auth,
    create_article,
    error_body,
    generated_operations,
    log_in,
    make_key,
    sign_up,
)
from tests.security.support import hs256

pytestmark = pytest.mark.settings(rate_limit_auth="100000/minute", login_max_failures=100000)

# The reviewed inventory of the public API: method and path of every documented operation.
INVENTORY = {
    "GET /health",
    "GET /ready",
    "GET /metrics",
    "POST /api/users",
    "POST /api/users/login",
    "GET /api/user",
    "PUT /api/user",
    "GET /api/profiles/{username}",
    "POST /api/profiles/{username}/follow",
    "DELETE /api/profiles/{username}/follow",
    "GET /api/articles",
    "POST /api/articles",
    "GET /api/articles/feed",
    "GET /api/articles/{slug}",
    "PUT /api/articles/{slug}",
    "DELETE /api/articles/{slug}",
    "POST /api/articles/{slug}/favorite",
    "DELETE /api/articles/{slug}/favorite",
    "GET /api/tags",
    "GET /api/articles/{slug}/comments",
    "POST /api/articles/{slug}/comments",
    "DELETE /api/articles/{slug}/comments/{id}",
    "POST /api/auth/token",
    "POST /api/auth/refresh",
    "POST /api/auth/logout",
    "POST /api/auth/logout-all",
    "POST /api/auth/verify-email",
    "POST /api/auth/verify-email/confirm",
    "POST /api/auth/password-reset",
    "POST /api/auth/password-reset/confirm",
    "POST /api/api-keys",
    "GET /api/api-keys",
    "DELETE /api/api-keys/{key_id}",
    "GET /api/admin/users",
    "PATCH /api/admin/users/{username}",
    "POST /api/admin/articles/{slug}/restore",
    "POST /api/uploads",
    "GET /api/uploads/{name}",
}
DOCS_PAGES = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}


async def documented(client: httpx.AsyncClient) -> set[str]:
    schema = (await client.get("/openapi.json")).json()
    return {f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item}


async def test_api9_the_documented_operations_are_the_reviewed_inventory(
    client: httpx.AsyncClient,
) -> None:
    assert await documented(client) == INVENTORY | generated_operations()


async def test_api9_every_served_route_is_documented_or_its_v1_mirror(
    client: httpx.AsyncClient, app: Any
) -> None:
    known = await documented(client)
    served: set[str] = set()
    for route in app.routes:
        if isinstance(route, APIRoute | Route):
            # As OpenAPI names it: `{slug:slug}` (a convertor) is `{slug}` there.
            for method in sorted((route.methods or set()) - {"HEAD"}):
                served.add(f"{method} {route.path_format}")
        elif isinstance(route, Mount):
            served.add(f"MOUNT {route.path}")
    undocumented = set()
    for entry in served - known:
        method, path = entry.split(" ", 1)
        if (
            path.startswith("/api/v1/")
            and f"{method} {path.replace('/api/v1/', '/api/', 1)}" in known
        ):
            continue
        if path in DOCS_PAGES or path.startswith("/docs/static"):
            continue
        undocumented.add(entry)
    assert undocumented == set()
    assert "GET /api/articles/{slug}" in served  # the API's own routes are among them


def _concrete(path: str, slug: str) -> str:
    values = {"slug": slug, "username": "alice", "id": "1", "key_id": "1", "name": "x.png"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


ENDS_THE_SESSION = {"POST /api/auth/logout", "POST /api/auth/logout-all"}
Renew = Callable[[], Awaitable[dict[str, str]]]


async def _answers(
    client: httpx.AsyncClient, headers: dict[str, str], renew: Renew, slug: str
) -> list[tuple[str, int, Any]]:
    """Each API operation called under both mounts (with no body): status and error body.
    An operation that ends the caller's session gets fresh credentials for each call."""
    mismatched = []
    for operation in sorted(INVENTORY):
        method, path = operation.split(" ", 1)
        if not path.startswith("/api/"):
            continue
        concrete = _concrete(path, slug)
        mirror = concrete.replace("/api/", "/api/v1/", 1)
        fresh = operation in ENDS_THE_SESSION
        first = await client.request(method, concrete, headers=await renew() if fresh else headers)
        second = await client.request(method, mirror, headers=await renew() if fresh else headers)
        pair = [
            (r.status_code, error_body(r) if r.status_code >= 400 else None)
            for r in (first, second)
        ]
        if pair[0] != pair[1]:
            mismatched.append((operation, pair[0][0], pair))
        assert first.status_code < 500, operation
        assert second.status_code < 500, operation
    return mismatched


@pytest.mark.parametrize("who", ["anonymous", "forged-token", "plain-user", "scoped-api-key"])
async def test_api9_the_v1_mirror_enforces_the_same_authorization(
    client: httpx.AsyncClient, settings: Settings, who: str
) -> None:
    owner = await sign_up(client, "alice")
    slug = (await create_article(client, owner["token"], "Mirrored"))["slug"]
    mallory = await sign_up(client, "mallory")
    headers: dict[str, str] = {}
    if who == "forged-token":
        headers = auth(hs256({"sub": "1", "sid": "x", "typ": "access"}, "not-the-key"))
    elif who == "plain-user":
        headers = auth(mallory["token"])
    elif who == "scoped-api-key":
        key = await make_key(client, mallory["token"], ["comments:write"])
        headers = {"X-API-Key": key["key"]}

    async def renew() -> dict[str, str]:
        if who != "plain-user":
            return headers
        login = await log_in(client, "mallory@example.com")
        return auth(login.json()["user"]["token"])

    assert await _answers(client, headers, renew, slug) == []
    # ...and nothing that only alice may do to her article happened (a favorite may).
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert (article["title"], article["body"]) == ("Mirrored", "the body")


async def test_api9_a_protected_operation_is_refused_alike_under_both_mounts(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice, "Both mounts"))["slug"]
    for prefix in ("/api", "/api/v1"):
        update = await client.put(
            f"{prefix}/articles/{slug}", json={"article": {"body": "x"}}, headers=auth(bob)
        )
        assert update.status_code == 403
        delete = await client.delete(f"{prefix}/articles/{slug}", headers=auth(bob))
        assert delete.status_code == 403
        staff = await client.get(f"{prefix}/admin/users", headers=auth(bob))
        assert staff.status_code == 403
        anonymous = await client.post(f"{prefix}/articles/{slug}/favorite")
        assert anonymous.status_code == 401
    assert (await client.get(f"/api/articles/{slug}")).json()["article"]["body"] == "the body"


UNKNOWN_PATHS = [
    "/api/v2/tags",
    "/api/v0/tags",
    "/v1/api/tags",
    "/api/v1/v1/tags",
    "/api/internal/users",
    "/api/debug",
    "/api/admin",
    "/api/admin/config",
    "/admin",
    "/api/users/1",
    "/api/users/me",
    "/api/auth/login",
    "/api/auth/register",
    "/api//user",
    "/.env",
    "/.git/config",
    "/server-status",
    "/swagger.json",
    "/api/swagger.json",
    "/api/openapi.json",
    "/api/docs",
    "/graphql",
    "/api/graphql",
    "/actuator/health",
    "/console",
    "/api/metrics",
    "/api/health",
    "/uploads/x.png",
]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
async def test_api9_old_guessed_and_undocumented_paths_answer_404(
    client: httpx.AsyncClient, alice: str, path: str
) -> None:
    for headers in ({}, auth(alice)):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, response.text
        assert error_body(response) == {"errors": {"route": ["not found"]}}
