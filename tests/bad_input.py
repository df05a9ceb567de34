"""Support of the bad-input tests (tests/*/test_bad_input*.py): the checks every answer
must pass, the world each test starts from, the write endpoints and their fields.

What those tests cover, together:
Bad input never produces a 500.

Every write endpoint and every query and path parameter is fed malformed JSON, wrong types,
missing, blank, oversized, NUL-laden and surrogate-laden values, and hostile pagination.
Whatever comes in, the answer is a 4xx in the RealWorld error shape
``{"errors": {key: [messages]}}`` that names the offending field and never echoes the
submitted value; text in any script (emoji, right-to-left, combining marks) is accepted
and comes back exactly as sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.factories import PASSWORD, auth, create_article, register

# A distinctive string placed in submitted values: no error response may contain it.
MARK = "zqxmark7"


SURROGATE = "SURROGATEPLACEHOLDER"  # replaced by a raw `\ud800` escape in the request bytes


NUL = "\x00"


def errors_of(response: httpx.Response) -> dict[str, list[str]]:
    """The `errors` member of an error response, after checking the RealWorld shape."""
    assert response.headers.get("content-type", "").startswith("application/json"), (
        response.headers,
        response.text[:300],
    )
    body = response.json()
    assert isinstance(body, dict), body
    errors = body.get("errors")
    assert isinstance(errors, dict), body
    assert errors, body
    for key, messages in errors.items():
        assert isinstance(key, str), body
        assert isinstance(messages, list), body
        assert messages, body
        assert all(isinstance(m, str) and m for m in messages), body
    return errors


def assert_sane(response: httpx.Response) -> None:
    """What holds for every response to bad input: no 5xx, no traceback, errors shaped."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        errors_of(response)
        sent = response.request.content.decode("utf-8", "replace") + str(response.request.url)
        if MARK in sent:
            assert MARK not in response.text, f"submitted value echoed: {response.text[:500]}"


def check(
    response: httpx.Response,
    status: int | set[int],
    key: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    assert_sane(response)
    expected = {status} if isinstance(status, int) else status
    assert response.status_code in expected, (response.status_code, response.text[:500])
    if key is not None or message is not None:
        errors = errors_of(response)
        if key is not None:
            assert key in errors, errors
        if message is not None:
            assert message in errors[key or next(iter(errors))], errors
        return errors
    body: dict[str, Any] = response.json() if response.content else {}
    return body


@dataclass
class World:
    token: str
    slug: str
    comment_id: int


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    token = await register(client, "alice")
    article = await create_article(client, token, "Existing article", tagList=["existing"])
    response = await client.post(
        f"/api/articles/{article['slug']}/comments",
        json={"comment": {"body": "first"}},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    return World(token=token, slug=article["slug"], comment_id=response.json()["comment"]["id"])


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


MALFORMED_JSON = {
    "truncated": '{"ENV":',
    "truncated-object": '{"ENV": {"body": "x"',
    "trailing-comma": '{"ENV": {"body": "x",}}',
    "single-quotes": "{'ENV': {'body': 'x'}}",
    "unquoted-key": '{ENV: {"body": "x"}}',
    "comment": '{"ENV": {} /* hi */}',
    "two-documents": '{"ENV": {}} {"ENV": {}}',
    "bare-word": "undefined",
    "open-brace": "{",
    "garbage": f"{MARK} not json",
}


UNPARSEABLE_BYTES = {
    "invalid-utf8": b'{"ENV": {"body": "\xff\xfe"}}',
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "huge-integer": b'{"ENV": {"body": ' + b"9" * 5000 + b"}}",
}


NOT_AN_OBJECT = {"list": [], "string": MARK, "number": 1, "float": 1.5, "null": None, "true": True}


WRONG_TYPES = {
    "int": 123,
    "float": 12.5,
    "true": True,
    "false": False,
    "empty-list": [],
    "list": [MARK],
    "object": {"value": MARK},
}


BAD_TAG_LISTS = {
    "string": "a,b",
    "number": 1,
    "object": {"tag": "a"},
    "true": True,
    "null": None,
    "list-of-numbers": [1, 2],
    "list-with-null": ["a", None],
    "nested-list": [["a"]],
    "list-of-objects": [{"name": "a"}],
    "blank-tag": ["ok", ""],
    "whitespace-tag": ["   "],
    "nul-tag": [f"{MARK}{NUL}b"],
    "long-tag": [MARK + "a" * 57],  # 65 characters
    "10000-char-tag": [MARK + "a" * 9_992],
    "too-many-tags": [f"tag{i}" for i in range(21)],
}


TEXTS = {
    "arabic-emoji": "مرحبا بالعالم 😀",
    "hebrew": "שלום עולם",
    "mixed-bidi": "Hello مرحبا 😀 שלום world",
    "rtl-override": "abc\u202edef\u202c",
    "zwj-family": "👨\u200d👩\u200d👧\u200d👦 family",
    "flag-and-skin-tone": "🇳🇴 👍🏽",
    "combining-marks": "cafe\u0301 n\u0303",
    "cjk": "你好，世界",  # noqa: RUF001 - a full-width comma, on purpose
    "astral-math": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # noqa: RUF001 - letters outside the BMP, on purpose
    "devanagari": "नमस्ते दुनिया",
}


TEXT_PARAMS = [pytest.param(text, id=name) for name, text in TEXTS.items()]


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


@pytest.fixture
async def three_articles(client: httpx.AsyncClient, world: World) -> World:
    """Alice has three articles (tagged `existing`) and follows Bob, who has two."""
    for title in ("Second", "Third"):
        await create_article(client, world.token, title, tagList=["existing"])
    bob = await register(client, "bob")
    for title in ("Bob one", "Bob two"):
        await create_article(client, bob, title)
    check(await client.post("/api/profiles/bob/follow", headers=auth(world.token)), 200)
    return world


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


BAD_AUTHORIZATION = {
    "scheme-only": "Token",
    "bearer-only": "Bearer",
    "basic": "Basic YWxpY2U6cGFzc3dvcmQ=",
    "two-parts": "Token a b",
    "not-a-jwt": f"Token {MARK}",
    "three-dots": "Token a.b.c",
    "10000-chars": "Token " + MARK + "a" * 9_992,
    "alg-none": "Token eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    "unknown-scheme": f"Digest {MARK}",
}
