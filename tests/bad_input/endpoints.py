"""The write endpoints, their fields and limits, and how to send them a body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.bad_input.checks import MARK
from tests.bad_input.fixtures import World
from tests.factories import PASSWORD, auth


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    envelope: str
    valid: dict[str, Any]
    strings: tuple[str, ...]  # the string fields of the body
    required: tuple[str, ...] = ()
    authed: bool = True
    success: int = 200
    max_length: dict[str, int] = field(default_factory=dict)

    def url(self, world: World) -> str:
        return self.path.format(slug=world.slug)

    def body(self, **fields: Any) -> dict[str, Any]:
        return {self.envelope: {**self.valid, **fields}}

    def __str__(self) -> str:
        return self.name


USER_LIMITS = {"username": 64, "email": 254, "password": 256, "bio": 4096, "image": 2048}


ARTICLE_LIMITS = {"title": 255, "description": 1024, "body": 65536}


REGISTER = Endpoint(
    "register",
    "POST",
    "/api/users",
    "user",
    {"username": "carol", "email": "carol@example.com", "password": PASSWORD},
    ("username", "email", "password"),
    required=("username", "email", "password"),
    authed=False,
    success=201,
    max_length=USER_LIMITS,
)


LOGIN = Endpoint(
    "login",
    "POST",
    "/api/users/login",
    "user",
    {"email": "alice@example.com", "password": PASSWORD},
    ("email", "password"),
    required=("email", "password"),
    authed=False,
    max_length=USER_LIMITS,
)


UPDATE_USER = Endpoint(
    "update_user",
    "PUT",
    "/api/user",
    "user",
    {},
    ("email", "username", "password", "bio", "image"),
    max_length=USER_LIMITS,
)


CREATE_ARTICLE = Endpoint(
    "create_article",
    "POST",
    "/api/articles",
    "article",
    {"title": "A title", "description": "About it", "body": "The body"},
    ("title", "description", "body"),
    required=("title", "description", "body"),
    success=201,
    max_length=ARTICLE_LIMITS,
)


UPDATE_ARTICLE = Endpoint(
    "update_article",
    "PUT",
    "/api/articles/{slug}",
    "article",
    {},
    ("title", "description", "body"),
    max_length=ARTICLE_LIMITS,
)


CREATE_COMMENT = Endpoint(
    "create_comment",
    "POST",
    "/api/articles/{slug}/comments",
    "comment",
    {"body": "Nice one"},
    ("body",),
    required=("body",),
    success=201,
    max_length={"body": 16384},
)


ENDPOINTS = [REGISTER, LOGIN, UPDATE_USER, CREATE_ARTICLE, UPDATE_ARTICLE, CREATE_COMMENT]


ARTICLE_ENDPOINTS = [CREATE_ARTICLE, UPDATE_ARTICLE]


STRING_FIELDS = [
    pytest.param(ep, name, id=f"{ep.name}.{name}") for ep in ENDPOINTS for name in ep.strings
]


REQUIRED_FIELDS = [
    pytest.param(ep, name, id=f"{ep.name}.{name}") for ep in ENDPOINTS for name in ep.required
]


NULLABLE = {"bio", "image"}  # an explicit null (or blank) clears them


async def send(
    client: httpx.AsyncClient,
    world: World,
    ep: Endpoint,
    body: Any = None,
    *,
    content: bytes | str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    all_headers = {**(auth(world.token) if ep.authed else {}), **(headers or {})}
    if content is not None:
        all_headers.setdefault("Content-Type", "application/json")
        return await client.request(ep.method, ep.url(world), content=content, headers=all_headers)
    return await client.request(ep.method, ep.url(world), json=body, headers=all_headers)


def value_of_length(name: str, length: int) -> str:
    """A value for `name` that is otherwise valid, exactly `length` characters long."""
    if name == "email":
        local = (MARK + "a" * 64)[:64]
        remaining = length - len(local) - 1 - len(".com")
        labels = []
        while remaining > 63:
            labels.append("b" * 62)
            remaining -= 63
        labels.append("b" * remaining)
        value = f"{local}@{'.'.join(labels)}.com"
    elif name == "image":
        prefix = f"https://example.com/{MARK}"
        value = prefix + "a" * (length - len(prefix))
    else:
        value = MARK + "a" * (length - len(MARK))
    assert len(value) == length
    return value


def with_inner(name: str, inner: str) -> str:
    """A value for `name` carrying `inner` (a NUL, a surrogate placeholder) in its middle."""
    if name == "email":
        return f"{MARK}{inner}b@example.com"
    if name == "image":
        return f"https://example.com/{MARK}{inner}b.png"
    return f"{MARK}{inner}b"
