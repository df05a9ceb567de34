"""OWASP API8:2023 Security Misconfiguration: injection into body fields (API8 took over
"Injection" from the 2019 list, where input reaches an interpreter unfiltered).

SQL, NoSQL, template, path-traversal, CRLF and markup strings go into every body field of
the API. None may cause a 500 or be interpreted: an accepted value is stored and answered
back exactly as sent, a login with them fails, slugs made from them stay URL-safe. A NUL
character is refused with 422 everywhere.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD, auth, create_article, log_in, sign_up
from tests.factories.security import NUL, PAYLOADS, UNLIMITED, assert_handled

pytestmark = UNLIMITED
SLUG = re.compile(r"[\w-]+")


# --- body fields -----------------------------------------------------------------------------


@dataclass
class Ctx:
    client: httpx.AsyncClient
    alice: str
    slug: str
    numbers: Any = field(default_factory=lambda: itertools.count())

    def fresh(self) -> str:
        return f"u{next(self.numbers)}"


Send = Callable[[Ctx, str], Awaitable[httpx.Response]]
Read = Callable[[Ctx, httpx.Response, str], Awaitable[Any]]


async def _register(ctx: Ctx, **user: str) -> httpx.Response:
    name = ctx.fresh()
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD, **user}
    return await ctx.client.post("/api/users", json={"user": body})


async def _update_me(ctx: Ctx, **user: str) -> httpx.Response:
    return await ctx.client.put("/api/user", json={"user": user}, headers=auth(ctx.alice))


async def _new_article(ctx: Ctx, **fields: Any) -> httpx.Response:
    body = {"title": f"Title {ctx.fresh()}", "description": "d", "body": "b", **fields}
    return await ctx.client.post("/api/articles", json={"article": body}, headers=auth(ctx.alice))


async def _edit_article(ctx: Ctx, **fields: Any) -> httpx.Response:
    return await ctx.client.put(
        f"/api/articles/{ctx.slug}", json={"article": fields}, headers=auth(ctx.alice)
    )


async def _me(ctx: Ctx, response: httpx.Response, key: str) -> Any:
    token = response.json()["user"]["token"]
    return (await ctx.client.get("/api/user", headers=auth(token))).json()["user"][key]


async def _article_field(ctx: Ctx, response: httpx.Response, key: str) -> Any:
    slug = response.json()["article"]["slug"]
    assert SLUG.fullmatch(slug), slug
    article = (await ctx.client.get(f"/api/articles/{slug}")).json()["article"]
    if key == "title":  # the edited article may have moved to a new slug
        ctx.slug = slug
    return article[key][0] if key == "tagList" else article[key]


async def _logs_in(ctx: Ctx, email: str, password: str) -> str:
    login = await log_in(ctx.client, email, password)
    return password if login.status_code == 200 else f"login answered {login.status_code}"


def _long(value: str) -> str:
    return value + "-long-enough"


def _same(value: str) -> str:
    return value


def _stripped(value: str) -> str:
    return value.strip()


@dataclass(frozen=True)
class Target:
    send: Send
    read: Read | None = None  # reads back the stored value of an accepted request
    expect: Callable[[str], str] = _same  # the stored value, from the payload
    never_succeeds: bool = False  # e.g. a login with an injected password
    formatted: bool = False  # a username, an address, a URL: may refuse the payloads

    @property
    def free_text(self) -> bool:
        """Passwords, bios, titles, bodies...: any text is valid, so every payload is
        accepted (and must come back as sent)."""
        return self.read is not None and not self.formatted


TARGETS: dict[str, Target] = {
    "register-username": Target(
        lambda c, v: _register(c, username=v),
        lambda c, r, v: _me(c, r, "username"),
        _stripped,
        formatted=True,
    ),
    "register-email": Target(
        lambda c, v: _register(c, email=v),
        lambda c, r, v: _me(c, r, "email"),
        _stripped,
        formatted=True,
    ),
    "register-password": Target(
        lambda c, v: _register(c, password=_long(v)),
        lambda c, r, v: _logs_in(c, r.json()["user"]["email"], _long(v)),
        _long,
    ),
    "login-email": Target(
        lambda c, v: c.client.post(
            "/api/users/login", json={"user": {"email": v, "password": PASSWORD}}
        ),
        never_succeeds=True,
    ),
    "login-password": Target(
        lambda c, v: c.client.post(
            "/api/users/login", json={"user": {"email": "alice@example.com", "password": v}}
        ),
        never_succeeds=True,
    ),
    "profile-username": Target(
        lambda c, v: _update_me(c, username=v),
        lambda c, r, v: _me(c, r, "username"),
        _stripped,
        formatted=True,
    ),
    "profile-email": Target(
        lambda c, v: _update_me(c, email=v),
        lambda c, r, v: _me(c, r, "email"),
        _stripped,
        formatted=True,
    ),
    "profile-password": Target(
        lambda c, v: _update_me(c, password=_long(v)),
        lambda c, r, v: _logs_in(c, r.json()["user"]["email"], _long(v)),
        _long,
    ),
    "profile-bio": Target(lambda c, v: _update_me(c, bio=v), lambda c, r, v: _me(c, r, "bio")),
    "profile-image": Target(
        lambda c, v: _update_me(c, image=v), lambda c, r, v: _me(c, r, "image"), formatted=True
    ),
    "profile-image-url-path": Target(
        lambda c, v: _update_me(c, image="https://cdn.example/" + v),
        lambda c, r, v: _me(c, r, "image"),
        lambda v: "https://cdn.example/" + v,
    ),
    "article-title": Target(
        lambda c, v: _new_article(c, title=v),
        lambda c, r, v: _article_field(c, r, "title"),
        _stripped,
    ),
    "article-description": Target(
        lambda c, v: _new_article(c, description=v),
        lambda c, r, v: _article_field(c, r, "description"),
        _stripped,
    ),
    "article-body": Target(
        lambda c, v: _new_article(c, body=v), lambda c, r, v: _article_field(c, r, "body")
    ),
    "article-tag": Target(
        lambda c, v: _new_article(c, tagList=[v]),
        lambda c, r, v: _article_field(c, r, "tagList"),
        _stripped,
    ),
    "article-update-title": Target(
        lambda c, v: _edit_article(c, title=v),
        lambda c, r, v: _article_field(c, r, "title"),
        _stripped,
    ),
    "article-update-description": Target(
        lambda c, v: _edit_article(c, description=v),
        lambda c, r, v: _article_field(c, r, "description"),
        _stripped,
    ),
    "article-update-body": Target(
        lambda c, v: _edit_article(c, body=v), lambda c, r, v: _article_field(c, r, "body")
    ),
    "article-update-tag": Target(
        lambda c, v: _edit_article(c, tagList=[v]),
        lambda c, r, v: _article_field(c, r, "tagList"),
        _stripped,
    ),
    "comment-body": Target(
        lambda c, v: c.client.post(
            f"/api/articles/{c.slug}/comments", json={"comment": {"body": v}}, headers=auth(c.alice)
        ),
        lambda c, r, v: _comment_body(c, r),
    ),
    "api-key-name": Target(
        lambda c, v: c.client.post(
            "/api/api-keys", json={"name": v, "scopes": []}, headers=auth(c.alice)
        ),
        lambda c, r, v: _key_name(c, r),
        _stripped,
    ),
    "password-reset-email": Target(
        lambda c, v: c.client.post("/api/auth/password-reset", json={"email": v})
    ),
    "password-reset-token": Target(
        lambda c, v: c.client.post(
            "/api/auth/password-reset/confirm", json={"token": v, "password": "long-enough-1"}
        ),
        never_succeeds=True,
    ),
    "verify-email-token": Target(
        lambda c, v: c.client.post("/api/auth/verify-email/confirm", json={"token": v}),
        never_succeeds=True,
    ),
    "refresh-token": Target(
        lambda c, v: c.client.post("/api/auth/refresh", json={"refresh_token": v}),
        never_succeeds=True,
    ),
}


async def _comment_body(ctx: Ctx, response: httpx.Response) -> Any:
    comment_id = response.json()["comment"]["id"]
    found = (await ctx.client.get(f"/api/articles/{ctx.slug}/comments")).json()["comments"]
    [comment] = [c for c in found if c["id"] == comment_id]
    return comment["body"]


async def _key_name(ctx: Ctx, response: httpx.Response) -> Any:
    key_id = response.json()["id"]
    listed = (await ctx.client.get("/api/api-keys", headers=auth(ctx.alice))).json()["items"]
    [key] = [k for k in listed if k["id"] == key_id]
    return key["name"]


@pytest.fixture
async def ctx(client: httpx.AsyncClient) -> Ctx:
    alice = (await sign_up(client, "alice"))["token"]
    slug = (await create_article(client, alice, "Target"))["slug"]
    return Ctx(client, alice, slug)


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS.keys())
async def test_api8_injection_in_body_fields_is_stored_literally_or_refused(
    ctx: Ctx, target: Target
) -> None:
    for payload in PAYLOADS:
        response = await target.send(ctx, payload)
        assert_handled(response)
        if not response.is_success:
            assert response.status_code in (400, 401, 409, 422), (payload, response.text)
            assert not target.free_text, (payload, response.text)
            continue
        assert not target.never_succeeds, (payload, response.text)
        if target.read is None:
            continue
        stored = await target.read(ctx, response, payload)
        assert stored == target.expect(payload), (payload, stored)
    # Whatever was sent, the session and the data around it still work.
    assert (await ctx.client.get("/api/user", headers=auth(ctx.alice))).status_code == 200
    assert (await ctx.client.get("/api/articles")).json()["articlesCount"] >= 1


@pytest.mark.parametrize("target", TARGETS.values(), ids=TARGETS.keys())
async def test_api8_a_nul_in_any_body_field_is_422(ctx: Ctx, target: Target) -> None:
    for value in (NUL, "\x00", "tail\x00"):
        response = await target.send(ctx, value)
        assert_handled(response)
        assert response.status_code == 422, (repr(value), response.text)
