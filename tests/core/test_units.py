"""A request's unit of work (`SessionRoute`): one session per request for the routes that
take one, none for those that don't, committed before the response is sent, and a failed
commit reaches the client as an error, never as a success."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.db import (
    Database,
    SessionRoute,
    request_session,
    takes_session,
    takes_the_session,
)

ARTICLE = {"article": {"title": "Units", "description": "d", "body": "b", "tagList": ["u"]}}


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """`write` of every session a request opens, in order."""
    seen: list[bool] = []
    real = Database.session

    @asynccontextmanager
    async def counted(self: Database, *, write: bool = True) -> AsyncIterator[AsyncSession]:
        seen.append(write)
        async with real(self, write=write) as session:
            yield session

    monkeypatch.setattr(Database, "session", counted)
    return seen


def test_every_api_route_that_takes_the_session_is_a_unit_of_work(app: FastAPI) -> None:
    takes_session = [
        route
        for route in app.router.routes
        if isinstance(route, APIRoute) and takes_the_session(route.dependant)
    ]
    assert len(takes_session) > 40  # both mounts
    assert all(isinstance(route, SessionRoute) for route in takes_session)


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


@takes_session
async def _marked(request: Request) -> AsyncSession:
    return request_session(request)


async def test_a_dependency_marked_takes_session_puts_its_route_in_a_unit_of_work(
    app: FastAPI, client: httpx.AsyncClient, opened: list[bool]
) -> None:
    """A dependency may read the session from the request itself (`request_session`) rather
    than through `SessionDep`; marked, its route still opens exactly one session."""
    sessions: list[AsyncSession] = []

    async def endpoint(session: Annotated[AsyncSession, Depends(_marked)]) -> dict[str, int]:
        sessions.append(session)
        return {"sessions": len(sessions)}

    for method in ("GET", "POST"):
        app.router.add_api_route(
            "/units/marked", endpoint, methods=[method], route_class_override=SessionRoute
        )
    assert (await client.get("/units/marked")).json() == {"sessions": 1}
    assert (await client.post("/units/marked")).json() == {"sessions": 2}
    assert opened == [False, True]
    assert sessions[0] is not sessions[1]
