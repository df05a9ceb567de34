"""A request's unit of work belongs to its route (`SessionRoute`): one session per request,
none for a `DirectRoute`, committed before the response is sent, and a failed commit
reaches the client as an error, never as a success."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.db import Database
from conduit.core.routing import DirectRoute, SessionRoute, request_session

ARTICLE = {"article": {"title": "Units", "description": "d", "body": "b", "tagList": ["u"]}}


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """`write` of every session a request opens, in order."""
    seen: list[bool] = []
    real = Database.session

    @asynccontextmanager
    async def counted(
        self: Database, *, write: bool = True, replica: int | None = None
    ) -> AsyncIterator[AsyncSession]:
        seen.append(write)
        async with real(self, write=write, replica=replica) as session:
            yield session

    monkeypatch.setattr(Database, "session", counted)
    return seen


def test_every_api_route_is_a_unit_of_work_but_the_named_direct_ones(app: FastAPI) -> None:
    api = [r for r in app.router.routes if isinstance(r, APIRoute) and r.path.startswith("/api")]
    assert len(api) > 40  # both mounts
    direct = sorted(route.path for route in api if isinstance(route, DirectRoute))
    assert direct == ["/api/tags", "/api/v1/tags"]
    assert all(isinstance(route, SessionRoute) for route in api if route.path not in direct)


async def test_one_session_per_request_and_none_for_a_cached_read(
    client: httpx.AsyncClient, alice: str, opened: list[bool]
) -> None:
    auth = {"Authorization": f"Token {alice}"}
    assert (await client.post("/api/articles", json=ARTICLE, headers=auth)).status_code == 201
    assert opened == [True]  # a write: one session, writing

    slug = (await client.get("/api/articles", headers=auth)).json()["articles"][0]["slug"]
    for path in ("/api/articles", f"/api/articles/{slug}", "/api/articles/feed"):
        opened.clear()
        assert (await client.get(path, headers=auth)).status_code == 200
        assert opened == [False], path  # a read: one session, reading

    opened.clear()
    first = await client.get("/api/tags")
    assert first.json() == {"tags": ["u"]}
    assert opened == [False]  # a miss reads the tags
    opened.clear()
    again = await client.get("/api/tags")
    assert again.content == first.content
    assert opened == []  # a hit needs no session at all


@pytest.mark.server_error
async def test_a_failed_commit_reaches_the_client_as_an_error(
    client: httpx.AsyncClient, alice: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = {"Authorization": f"Token {alice}"}

    async def failing_commit(self: AsyncSession, *_: Any) -> None:
        raise ConnectionResetError("the connection dropped during COMMIT")

    with monkeypatch.context() as patch:
        patch.setattr(AsyncSession, "commit", failing_commit)
        response = await client.post("/api/articles", json=ARTICLE, headers=auth)
    assert response.status_code == 500
    assert "article" not in response.json()
    assert response.json()["errors"]

    listed = await client.get("/api/articles", headers=auth)
    assert listed.json()["articlesCount"] == 0  # rolled back, not half-kept


async def _session_of(request: Request) -> AsyncSession:
    return request_session(request)


async def test_a_dependency_reads_the_session_of_its_routes_unit_of_work(
    app: FastAPI, client: httpx.AsyncClient, opened: list[bool]
) -> None:
    """A dependency takes the request's session with `request_session`: its route opened
    exactly one, reading for GET and writing for POST."""
    sessions: list[AsyncSession] = []

    async def endpoint(session: Annotated[AsyncSession, Depends(_session_of)]) -> dict[str, int]:
        sessions.append(session)
        return {"sessions": len(sessions)}

    for method in ("GET", "POST"):
        app.router.add_api_route(
            "/units/session", endpoint, methods=[method], route_class_override=SessionRoute
        )
    assert (await client.get("/units/session")).json() == {"sessions": 1}
    assert (await client.post("/units/session")).json() == {"sessions": 2}
    assert opened == [False, True]
    assert sessions[0] is not sessions[1]


def test_a_request_outside_a_session_route_has_no_session() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/plain", "headers": []})
    with pytest.raises(RuntimeError, match="only a SessionRoute has a unit of work"):
        request_session(request)
