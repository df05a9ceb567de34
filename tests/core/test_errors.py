"""An unexpected failure is a 500 in the error shape, with nothing internal in the body."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conduit.articles.service import ArticleService


async def test_unhandled_error_is_a_bare_500(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(*_: Any, **__: Any) -> None:
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr(ArticleService, "tags", explode)
    response = await client.get("/api/tags")
    assert response.status_code == 500
    assert response.json() == {"errors": {"server": ["internal error"]}}
    assert "SELECT" not in response.text
    assert "Traceback" not in response.text
