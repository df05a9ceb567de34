"""Bodies through the middleware stack: a request body over the limit is refused (declared
or while reading it in chunks), and large responses are compressed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import make_settings
from tests.factories import PASSWORD, create_article, error_body
from tests.factories.apps import client_for

# --- body limit and compression --------------------------------------------------------


@pytest.fixture
async def small_body_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app, client = await client_for(make_settings(database_url, max_body_bytes=2000))
    async with app.router.lifespan_context(app), client:
        yield client


async def test_a_declared_oversized_body_is_refused(small_body_client: httpx.AsyncClient) -> None:
    response = await small_body_client.post(
        "/api/users",
        content=b"{" + b" " * 5000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert error_body(response) == {"errors": {"body": ["is too large (maximum is 2000 bytes)"]}}


async def test_a_chunked_oversized_body_is_refused_while_reading(
    small_body_client: httpx.AsyncClient,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(1000):
            sent += 1000
            yield b" " * 1000

    response = await small_body_client.post(
        "/api/users", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"] == {"body": ["is too large (maximum is 2000 bytes)"]}
    assert sent < 10_000  # the server stopped reading early


async def test_a_body_under_the_limit_passes(small_body_client: httpx.AsyncClient) -> None:
    user = {"username": "ivy", "email": "ivy@example.com", "password": PASSWORD}
    assert (await small_body_client.post("/api/users", json={"user": user})).status_code == 201


async def test_large_responses_are_compressed(client: httpx.AsyncClient, alice: str) -> None:
    for n in range(12):
        await create_article(client, alice, title=f"Story {n}", description="d" * 100)
    response = await client.get("/api/articles", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["articles"]) == 12
    small = await client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
