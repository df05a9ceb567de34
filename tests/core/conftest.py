"""Fixtures of the core tests: the OpenAPI document and its operations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.core.openapi_support import Operations


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
