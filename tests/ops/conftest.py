"""Fixtures of the tests that read the OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.ops.openapi_support import Operations


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.fixture
def operations(openapi: dict[str, Any]) -> Operations:
    found = [
        (method.upper(), path, operation)
        for path, item in openapi["paths"].items()
        for method, operation in item.items()
    ]
    assert len(found) > 30
    return found
