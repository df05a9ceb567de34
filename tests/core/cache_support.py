"""Helpers shared by the cache tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from prometheus_client import REGISTRY

from conduit.core.config import Settings
from conduit.main import create_app
from tests.conftest import StatementCounter
from tests.factories import auth


async def read(client: httpx.AsyncClient, url: str, token: str | None = None) -> Any:
    response = await client.get(url, headers=auth(token) if token else {})
    assert response.status_code == 200, response.text
    return response.json()


async def warm(client: httpx.AsyncClient, sql: StatementCounter, url: str) -> Any:
    """Read `url` anonymously twice; the second read must be a hit (no SQL at all)."""
    first = await read(client, url)
    with sql.counting() as executed:
        second = await read(client, url)
    assert executed == [], f"{url} was not served from the cache"
    assert second == first
    return second


async def is_hit(client: httpx.AsyncClient, sql: StatementCounter, url: str) -> bool:
    with sql.counting() as executed:
        await read(client, url)
    return not executed


def titles(page: dict[str, Any]) -> list[str]:
    return [article["title"] for article in page["articles"]]


def hits(cache: str) -> float:
    value = REGISTRY.get_sample_value(
        "conduit_cache_requests_total", {"cache": cache, "result": "hit"}
    )
    return value or 0.0


@asynccontextmanager
async def uncached(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a second app on the same database with the cache off: the truth.
    (Use it inside a test of the `client` app, whose teardown empties the tables.)"""
    other = create_app(settings.model_copy(update={"cache_enabled": False}))
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c
