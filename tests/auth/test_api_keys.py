"""API keys: created once, stored as a keyed hash, acting as their owner within their scopes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from conduit.auth.models import ApiKey
from tests.factories import api_key, auth, create_article, generated_resources, make_key, set_role

NO_SCOPE = {"errors": {"scope": ["requires articles:write"]}}


async def test_key_is_shown_once_and_stored_only_as_a_keyed_hash(
    client: httpx.AsyncClient, app: Any, alice: str
) -> None:
    created = await make_key(client, alice, ["articles:write"], expiresInDays=30)
    assert set(created) == {"id", "name", "key", "prefix", "scopes", "createdAt", "expiresAt"}
    assert created["key"].startswith("cdt_")
    assert created["key"].startswith(created["prefix"])
    assert created["scopes"] == ["articles:write"]
    assert created["expiresAt"] is not None

    listed = (await client.get("/api/api-keys", headers=auth(alice))).json()
    assert listed["total_count"] == 1
    assert listed["page"] == 1
    [item] = listed["items"]
    assert "key" not in item
    assert item["prefix"] == created["prefix"]
    assert item["lastUsedAt"] is None
    async with app.state.db.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT key_hash FROM api_keys"))).scalar_one()
    assert created["key"] not in stored
    assert len(stored) == 64


async def test_key_acts_as_its_owner_and_records_its_use(
    client: httpx.AsyncClient, alice: str
) -> None:
    created = await make_key(client, alice, ["articles:write"])
    me = await client.get("/api/user", headers=api_key(created))
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "alice"
    article = await client.post(
        "/api/articles",
        json={"article": {"title": "By key", "description": "d", "body": "b"}},
        headers=api_key(created),
    )
    assert article.status_code == 201
    assert article.json()["article"]["author"]["username"] == "alice"
    [item] = (await client.get("/api/api-keys", headers=auth(alice))).json()["items"]
    assert item["lastUsedAt"] is not None


@pytest.mark.parametrize(
    ("method", "path", "body", "scope"),
    [
        (
            "POST",
            "/api/articles",
            {"article": {"title": "t", "description": "d", "body": "b"}},
            "articles:write",
        ),
        ("POST", "/api/articles/{slug}/favorite", None, "articles:write"),
        ("DELETE", "/api/articles/{slug}", None, "articles:write"),
        ("POST", "/api/articles/{slug}/comments", {"comment": {"body": "hi"}}, "comments:write"),
        ("PUT", "/api/user", {"user": {"bio": "x"}}, "profile:write"),
        ("POST", "/api/profiles/bob/follow", None, "profile:write"),
    ],
)
async def test_a_missing_scope_is_403_and_changes_nothing(
    client: httpx.AsyncClient,
    alice: str,
    bob: str,
    method: str,
    path: str,
    body: Any,
    scope: str,
) -> None:
    article = await create_article(client, alice)
    others = [s for s in ("articles:write", "comments:write", "profile:write") if s != scope]
    created = await make_key(client, alice, others)
    url = path.format(slug=article["slug"])
    response = await client.request(method, url, json=body, headers=api_key(created))
    assert response.status_code == 403
    assert response.json()["errors"] == {"scope": [f"requires {scope}"]}
    # Nothing changed: the article is intact, unfavorited, uncommented; the bio unset.
    fresh = (await client.get(f"/api/articles/{article['slug']}", headers=auth(alice))).json()
    assert fresh["article"]["favoritesCount"] == 0
    assert (await client.get(f"/api/articles/{article['slug']}/comments")).json() == {
        "comments": []
    }
    assert (await client.get("/api/user", headers=auth(alice))).json()["user"]["bio"] is None


async def test_reads_need_no_scope(client: httpx.AsyncClient, alice: str) -> None:
    created = await make_key(client, alice, [])
    for url in ("/api/articles", "/api/articles/feed", "/api/tags", "/api/user"):
        assert (await client.get(url, headers=api_key(created))).status_code == 200, url


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/api-keys"),
        ("POST", "/api/api-keys"),
        ("DELETE", "/api/api-keys/1"),
        ("POST", "/api/auth/logout"),
        ("POST", "/api/auth/logout-all"),
    ],
)
async def test_a_key_never_manages_keys_or_sessions(
    client: httpx.AsyncClient, alice: str, method: str, path: str
) -> None:
    created = await make_key(client, alice, ["articles:write", "comments:write", "profile:write"])
    body = {"name": "child", "scopes": []} if method == "POST" and "keys" in path else None
    response = await client.request(method, path, json=body, headers=api_key(created))
    assert response.status_code == 403
    assert response.json()["errors"] == {"api_key": ["cannot manage API keys or sessions"]}


async def test_only_an_admin_key_may_hold_the_admin_scope(
    client: httpx.AsyncClient, app: Any, alice: str, bob: str
) -> None:
    refused = await client.post(
        "/api/api-keys", json={"name": "x", "scopes": ["admin"]}, headers=auth(alice)
    )
    assert refused.status_code == 403
    assert refused.json()["errors"] == {"scopes": ["admin is only for an admin's keys"]}

    await set_role(app, "bob", "admin")
    plain = await make_key(client, bob, [])
    admin = await make_key(client, bob, ["admin"])
    assert (await client.get("/api/admin/users", headers=api_key(plain))).status_code == 403
    listed = await client.get("/api/admin/users", headers=api_key(admin))
    assert listed.status_code == 200
    assert listed.json()["total_count"] == 2


async def test_unknown_scope_is_422(client: httpx.AsyncClient, alice: str) -> None:
    response = await client.post(
        "/api/api-keys", json={"name": "x", "scopes": ["root"]}, headers=auth(alice)
    )
    assert response.status_code == 422
    assert "scopes" in response.json()["errors"]


async def test_revoked_expired_and_unknown_keys_are_401(
    client: httpx.AsyncClient, app: Any, alice: str, bob: str
) -> None:
    revoked = await make_key(client, alice, [])
    expired = await make_key(client, alice, [], expiresInDays=1)
    assert (
        await client.delete(f"/api/api-keys/{revoked['id']}", headers=auth(alice))
    ).status_code == 204
    async with app.state.db.engine.begin() as conn:
        past = datetime(2000, 1, 1, tzinfo=UTC)
        await conn.execute(update(ApiKey).where(ApiKey.id == expired["id"]).values(expires_at=past))
    for header in (
        api_key(revoked),
        api_key(expired),
        {"X-API-Key": "cdt_" + "x" * 43},
        {"X-API-Key": "not-a-key"},
    ):
        response = await client.get("/api/user", headers=header)
        assert response.status_code == 401
        assert response.json()["errors"] == {"api_key": ["is invalid"]}
    listed = (await client.get("/api/api-keys", headers=auth(alice))).json()
    assert [item["id"] for item in listed["items"]] == [expired["id"]]


async def test_revoking_someone_elses_key_is_404(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    created = await make_key(client, alice, [])
    response = await client.delete(f"/api/api-keys/{created['id']}", headers=auth(bob))
    assert response.status_code == 404
    assert response.json()["errors"] == {"api_key": ["not found"]}
    assert (await client.get("/api/user", headers=api_key(created))).status_code == 200


async def test_a_deactivated_owners_key_is_401(
    client: httpx.AsyncClient, app: Any, alice: str
) -> None:
    created = await make_key(client, alice, [])
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text("UPDATE users SET active = false WHERE username = 'alice'"))
    assert (await client.get("/api/user", headers=api_key(created))).status_code == 401


async def test_both_credentials_at_once_is_401(client: httpx.AsyncClient, alice: str) -> None:
    created = await make_key(client, alice, [])
    response = await client.get("/api/user", headers={**api_key(created), **auth(alice)})
    assert response.status_code == 401


async def test_openapi_lists_scopes_as_an_enum(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    hand_written = {"articles:write", "comments:write", "profile:write", "admin"}
    generated = {f"{plural}:write" for plural in generated_resources()}
    assert set(schemas["Scope"]["enum"]) == hand_written | generated
