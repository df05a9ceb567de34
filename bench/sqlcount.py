"""SQL statements per request, counted in-process: the app on the same database, called
through httpx's ASGI transport, with a `before_cursor_execute` listener on its engine
(BEGIN/COMMIT are not counted, as in tests/articles/test_queries.py).

Each request is sent twice and the second one counted: the steady state, with the read
cache filled where the endpoint is cached (0 statements then). A write's second request is
drawn anew (another article, favorite or comment, by the same user), as the load draws
each one; a login's is the same login again.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx
from sqlalchemy import event

from bench.scenarios import Scenario
from conduit.core.config import Settings
from conduit.main import create_app

COUNTED = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"})
ARTICLE_TEXT = "Benchmarks measure what they measure, nothing more. " * 12
COMMENT_TEXT = "Measured, not guessed. " * 4


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None


def render(scenario: Scenario, values: dict[str, list[str]], rng: random.Random, n: int) -> Request:
    """The request wrk.lua would send for `scenario` (`n` makes article titles unique)."""
    path = scenario.path
    for kind in ("slug", "tag", "author", "username"):
        if "{" + kind + "}" in path:
            path = path.replace("{" + kind + "}", rng.choice(values[kind]))
    headers: dict[str, str] = {}
    if scenario.auth == "token":
        headers["Authorization"] = "Token " + rng.choice(values["token"])
    body: dict[str, Any] | None = None
    if scenario.body == "login":
        body = {"user": {"email": rng.choice(values["email"]), "password": values["password"][0]}}
    elif scenario.body == "article":
        tags = sorted({rng.choice(values["tag"]), rng.choice(values["tag"])})
        body = {
            "article": {
                "title": f"Bench count {n} {rng.randrange(10**9)}",
                "description": "Written by the load test",
                "body": ARTICLE_TEXT,
                "tagList": tags,
            }
        }
    elif scenario.body == "comment":
        body = {"comment": {"body": f"{COMMENT_TEXT}{n}"}}
    return Request(scenario.method, path, headers, body)


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.split(None, 1)[0].upper() in COUNTED:
            self.count += 1


async def count_statements(
    settings: Settings, scenarios: Sequence[Scenario], values: dict[str, list[str]]
) -> dict[str, int | None]:
    """Statements per request of each scenario (None when the request failed)."""
    app = create_app(settings)
    counter = _Counter()
    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    rng = random.Random(6)
    counts: dict[str, int | None] = {}
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for n, scenario in enumerate(scenarios):
                first = render(scenario, values, rng, 2 * n)
                second = first
                if scenario.writes and scenario.body != "login":
                    # A write as the load sends it: a new one (another article, another
                    # favorite), not the first one repeated; by the same user, whose session
                    # the first request has touched, as a loaded session is (the periodic
                    # renewal of its idle expiry is an UPDATE that most requests skip).
                    fresh = render(scenario, values, random.Random(n), 2 * n + 1)
                    second = replace(fresh, headers=first.headers)
                await _send(client, first)
                counter.count = 0
                response = await _send(client, second)
                counts[scenario.key] = counter.count if response.status_code < 400 else None
    finally:
        event.remove(engine, "before_cursor_execute", counter)
        await app.state.cache.close()
        await app.state.db.dispose()
        if app.state.redis is not None:
            await app.state.redis.aclose()
    return counts


async def _send(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    return await client.request(
        request.method, request.path, headers=request.headers, json=request.json
    )
