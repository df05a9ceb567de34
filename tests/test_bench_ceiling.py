"""The ceiling app answers what Conduit's signed-in article list answers (bench/ceiling.py):
the report's ratio of the two compares like with like."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from bench.ceiling import create_ceiling_app
from bench.scales import SCALES
from bench.seed import PASSWORD, seed
from conduit.core.config import Settings
from conduit.main import create_app
from tests.factories.bench import bench_settings


def _settings(url: str, tmp_path: Path) -> Settings:
    return bench_settings(url, tmp_path)


async def _get(app: FastAPI, path: str, headers: dict[str, str]) -> Any:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()


def test_the_ceiling_lists_what_conduit_lists(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    seed(url, SCALES["tiny"], show_progress=False)
    conduit, viewer = asyncio.run(_conduit_page(url, tmp_path))
    ceiling_app = create_ceiling_app(url, viewer_id=viewer)
    ceiling = asyncio.run(_ceiling_page(ceiling_app))
    assert ceiling == conduit
    assert any(a["favorited"] for a in ceiling["articles"])
    assert any(a["author"]["following"] for a in ceiling["articles"])
    assert any(len(a["tagList"]) > 1 for a in ceiling["articles"])


async def _ceiling_page(app: FastAPI) -> Any:
    async with app.router.lifespan_context(app):
        return await _get(app, "/ceiling/articles", {})


async def _conduit_page(url: str, tmp_path: Path) -> tuple[Any, int]:
    """The first page of the signed-in list, and the id of the user it was read by."""
    app = create_app(_settings(url, tmp_path))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            page = (await client.get("/api/articles")).json()["articles"]
            user = await client.post(
                "/api/users/login",
                json={"user": {"email": _an_email(url), "password": PASSWORD}},
            )
            assert user.status_code == 200, user.text
            token, email = user.json()["user"]["token"], user.json()["user"]["email"]
            headers = {"Authorization": f"Token {token}"}
            # The viewer favorites the newest article and follows its author, so that both
            # flags are true on some rows of the page.
            newest = page[0]
            slug, author = newest["slug"], newest["author"]["username"]
            for path in (f"/api/articles/{slug}/favorite", f"/api/profiles/{author}/follow"):
                assert (await client.post(path, headers=headers)).status_code == 200
            listed = (await client.get("/api/articles", headers=headers)).json()
    finally:
        await app.state.cache.close()
        await app.state.db.dispose()
    return listed, _user_id(url, email)


def _query(url: str, sql: str, *args: Any) -> Any:
    import sqlite3

    from bench.seed import sqlite_path

    with sqlite3.connect(sqlite_path(url)) as conn:
        return conn.execute(sql, args).fetchone()[0]


def _an_email(url: str) -> str:
    return str(_query(url, "SELECT email FROM users WHERE active ORDER BY id LIMIT 1"))


def _user_id(url: str, email: str) -> int:
    return int(_query(url, "SELECT id FROM users WHERE email = ?", email))
