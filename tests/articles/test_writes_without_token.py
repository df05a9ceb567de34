"""Writes to an article without a token: authentication comes before the article's existence."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import MISSING_TOKEN, create_article, error_body, get_article


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/articles/no-such-article"),
        ("DELETE", "/api/articles/no-such-article"),
        ("POST", "/api/articles/no-such-article/favorite"),
        ("DELETE", "/api/articles/no-such-article/favorite"),
    ],
)
async def test_write_without_token_is_401_even_for_unknown_slug(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    body = {"article": {"body": "x"}} if method == "PUT" else None

    response = await client.request(method, path, json=body)

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
async def test_write_without_token_leaves_the_article(
    client: httpx.AsyncClient, alice: str, method: str
) -> None:
    created = await create_article(client, alice)
    body = {"article": {"body": "x"}} if method == "PUT" else None

    response = await client.request(method, f"/api/articles/{created['slug']}", json=body)

    assert response.status_code == 401
    assert error_body(response) == MISSING_TOKEN
    assert (await get_article(client, created["slug"])).json()["article"] == created
