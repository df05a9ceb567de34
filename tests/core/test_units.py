"""A request's unit of work (`SessionRoute`): one session per request for the routes that
take one, none for those that don't, committed before the response is sent, and a failed
commit reaches the client as an error, never as a success."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.db import Database, SessionRoute, _request_session
from conduit.core.params import dependency_calls

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
        if isinstance(route, APIRoute)
        and any(call is _request_session for call in dependency_calls(route.dependant))
    ]
    assert len(takes_session) > 40  # both mounts
    assert all(isinstance(route, SessionRoute) for route in takes_session)


async def test_one_session_per_request_and_none_for_a_cached_read(
    client: httpx.AsyncClient, alice: str, opened: list[bool]
) -> None:
    auth = {"Authorization": f"Token {alice}"}
    assert (await client.post("/api/articles", json=ARTICLE, headers=auth)).status_code == 201
    assert opened == [True]  # a write: one session, writing

    opened.clear()
    assert (await client.get("/api/articles", headers=auth)).status_code == 200
    assert opened == [False]  # a read: one session, reading

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
