"""Two application instances on one database (and one Redis when REDIS_URL is set), as two
server processes would run: a session ended on one is refused on the other at once."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from conduit.main import create_app
from tests.factories import auth, create_article, register


@pytest.fixture
async def instances(settings: Any) -> AsyncIterator[list[httpx.AsyncClient]]:
    shared = settings.model_copy(
        update={
            "redis_url": os.environ.get("REDIS_URL") or None,
            "redis_key_prefix": f"test-{uuid.uuid4().hex}",
        }
    )
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for _ in range(2):
            app = create_app(shared)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://test")
            clients.append(await stack.enter_async_context(client))
        yield clients
        # The database is emptied by the `app` fixture's teardown for the next test.


async def test_logout_on_one_instance_is_refused_on_the_other(
    instances: list[httpx.AsyncClient], app: Any
) -> None:
    first, second = instances
    token = await register(first, "ola")
    assert (await second.get("/api/user", headers=auth(token))).status_code == 200
    assert (await first.post("/api/auth/logout", headers=auth(token))).status_code == 204
    response = await second.get("/api/user", headers=auth(token))
    assert response.status_code == 401
    assert response.json()["errors"] == {"token": ["is invalid"]}


async def test_logout_on_one_instance_is_refused_by_the_reads_of_the_other(
    instances: list[httpx.AsyncClient], app: Any
) -> None:
    """The article reads check the token in their own statement, not a separate one."""
    first, second = instances
    token = await register(first, "uma")
    slug = (await create_article(first, token, "Mine"))["slug"]
    reads = ("/api/articles", f"/api/articles/{slug}", "/api/articles/feed")
    for url in reads:
        assert (await second.get(url, headers=auth(token))).status_code == 200
    assert (await first.post("/api/auth/logout", headers=auth(token))).status_code == 204
    for url in reads:
        response = await second.get(url, headers=auth(token))
        assert response.status_code == 401, url
        assert response.json()["errors"] == {"token": ["is invalid"]}


async def test_refresh_reuse_detected_across_instances(
    instances: list[httpx.AsyncClient], app: Any
) -> None:
    first, second = instances
    await register(first, "pia")
    login = await first.post(
        "/api/users/login", json={"user": {"email": "pia@example.com", "password": "password123"}}
    )
    old = login.json()["user"]["refreshToken"]
    rotated = await first.post("/api/auth/refresh", json={"refresh_token": old})
    assert rotated.status_code == 200
    replay = await second.post("/api/auth/refresh", json={"refresh_token": old})
    assert replay.status_code == 401
    new_access = rotated.json()["access_token"]
    assert (await first.get("/api/user", headers=auth(new_access, "Bearer"))).status_code == 401
