"""Bad queries and paths: hostile pagination, the list filters, unknown slugs and usernames."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from tests.bad_input.checks import MARK
from tests.factories import auth

LIST_ROUTES = ["/api/articles", "/api/articles/feed"]


BAD_PAGINATION = {
    "limit=-1": "limit",
    "limit=0": "limit",
    "limit=" + "9" * 5000: "limit",
    "limit=abc": "limit",
    "limit=1.5": "limit",
    "limit=1e3": "limit",
    "limit=": "limit",
    "limit=%00": "limit",
    f"limit={MARK}": "limit",
    "offset=-1": "offset",
    f"offset={2**53}": "offset",
    f"offset={10**30}": "offset",
    "offset=abc": "offset",
    "offset=%001": "offset",
    "page=0": "page",
    "page=-1": "page",
    f"page={10**20}": "page",
    "page=abc": "page",
}


FAR = {
    "offset=10^12": f"offset={10**12}",
    "offset=max": f"offset={2**53 - 1}",
    "limit=100&offset=10^12": f"limit=100&offset={10**12}",
    "page=10^12": f"page={10**12}",
    "limit=1&offset=10^12": f"limit=1&offset={10**12}",
}


FILTERS = ["tag", "author", "favorited"]


FILTER_LIMIT = {"tag": 64, "author": 64, "favorited": 64}


SLUG_ROUTES = [
    ("GET", "/api/articles/{}", None),
    ("PUT", "/api/articles/{}", {"article": {"title": "New"}}),
    ("DELETE", "/api/articles/{}", None),
    ("POST", "/api/articles/{}/favorite", None),
    ("DELETE", "/api/articles/{}/favorite", None),
    ("GET", "/api/articles/{}/comments", None),
    ("POST", "/api/articles/{}/comments", {"comment": {"body": "hi"}}),
    ("DELETE", "/api/articles/{}/comments/1", None),
]


SLUG_ROUTE_IDS = [f"{method} {path}" for method, path, _ in SLUG_ROUTES]


USERNAME_ROUTES = [
    ("GET", "/api/profiles/{}"),
    ("POST", "/api/profiles/{}/follow"),
    ("DELETE", "/api/profiles/{}/follow"),
]


USERNAME_ROUTE_IDS = [f"{method} {path}" for method, path in USERNAME_ROUTES]


async def call(
    client: httpx.AsyncClient, method: str, path: str, body: Any = None, token: str | None = None
) -> httpx.Response:
    headers = auth(token) if token else {}
    return await client.request(method, path, json=body, headers=headers)


UNKNOWN_SLUGS = {
    "plain": "no-such-article",
    "300-chars": "a" * 300,
    "rtl-emoji": quote("مرحبا-بالعالم-😀"),
    "invalid-utf8": "%FF%FE",
    "surrogate": "%ED%A0%80",
    "sql-quote": quote("x' OR '1'='1"),
    "percent": "%25",
    "dots": "...",
    "existing-with-suffix": "existing-article-",
    "existing-uppercase": "EXISTING-ARTICLE",
}
