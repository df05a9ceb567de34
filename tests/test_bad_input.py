"""Bad input never produces a 500.

Every write endpoint and every query and path parameter is fed malformed JSON, wrong types,
missing, blank, oversized, NUL-laden and surrogate-laden values, and hostile pagination.
Whatever comes in, the answer is a 4xx in the RealWorld error shape
``{"errors": {key: [messages]}}`` that names the offending field and never echoes the
submitted value; text in any script (emoji, right-to-left, combining marks) is accepted
and comes back exactly as sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conduit.core.security import TokenCodec
from tests.factories import PASSWORD, auth, create_article, register

# A distinctive string placed in submitted values: no error response may contain it.
MARK = "zqxmark7"
SURROGATE = "SURROGATEPLACEHOLDER"  # replaced by a raw `\ud800` escape in the request bytes
NUL = "\x00"

# --- response checks ----------------------------------------------------------------


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


# --- the world every test starts from -----------------------------------------------


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


# --- the write endpoints ----------------------------------------------------------------


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


# --- malformed bodies ---------------------------------------------------------------

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


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
@pytest.mark.parametrize("raw", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
async def test_malformed_json_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, raw: str
) -> None:
    response = await send(client, world, ep, content=raw.replace("ENV", ep.envelope))
    check(response, 422, "body", "is not valid JSON")


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
async def test_empty_body_is_422(client: httpx.AsyncClient, world: World, ep: Endpoint) -> None:
    check(await send(client, world, ep, content=b""), 422, "body")


UNPARSEABLE_BYTES = {
    "invalid-utf8": b'{"ENV": {"body": "\xff\xfe"}}',
    "deeply-nested": b"[" * 100_000 + b"]" * 100_000,
    "huge-integer": b'{"ENV": {"body": ' + b"9" * 5000 + b"}}",
}


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
@pytest.mark.parametrize("raw", UNPARSEABLE_BYTES.values(), ids=UNPARSEABLE_BYTES.keys())
async def test_unparseable_bytes_are_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, raw: bytes
) -> None:
    response = await send(client, world, ep, content=raw.replace(b"ENV", ep.envelope.encode()))
    check(response, 422, "body", "is not valid JSON")


NOT_AN_OBJECT = {"list": [], "string": MARK, "number": 1, "float": 1.5, "null": None, "true": True}


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
@pytest.mark.parametrize("value", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
async def test_json_that_is_not_an_object_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, value: Any
) -> None:
    response = await send(client, world, ep, content=json.dumps(value))
    check(response, 422, "body")


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
@pytest.mark.parametrize(
    "make_body",
    [
        lambda ep: {},
        lambda ep: {"wrong": ep.body()[ep.envelope]},
        lambda ep: {**ep.body()[ep.envelope], "x": 1},  # fields without the envelope
        lambda ep: {ep.envelope: None},
        lambda ep: {ep.envelope: []},
        lambda ep: {ep.envelope: [ep.body()[ep.envelope]]},
        lambda ep: {ep.envelope: MARK},
        lambda ep: {ep.envelope: 7},
        lambda ep: {ep.envelope: True},
    ],
    ids=[
        "empty-object",
        "wrong-envelope",
        "no-envelope",
        "null-envelope",
        "list-envelope",
        "wrapped-in-list",
        "string-envelope",
        "number-envelope",
        "bool-envelope",
    ],
)
async def test_missing_or_wrong_envelope_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, make_body: Any
) -> None:
    check(await send(client, world, ep, make_body(ep)), 422, ep.envelope)


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
async def test_body_that_is_not_declared_json_is_415(
    client: httpx.AsyncClient, world: World, ep: Endpoint, content_type: str
) -> None:
    response = await send(
        client, world, ep, content=json.dumps(ep.body()), headers={"Content-Type": content_type}
    )
    check(response, 415, "body")


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "application/x+json"]
)
async def test_json_content_types_are_accepted(
    client: httpx.AsyncClient, world: World, content_type: str
) -> None:
    response = await send(
        client,
        world,
        REGISTER,
        content=json.dumps(REGISTER.body()),
        headers={"Content-Type": content_type},
    )
    check(response, 201)


# --- fields: missing, blank, wrong types, null ----------------------------------------


@pytest.mark.parametrize(("ep", "name"), REQUIRED_FIELDS)
async def test_missing_required_field_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, name: str
) -> None:
    body = ep.body()
    del body[ep.envelope][name]
    check(await send(client, world, ep, body), 422, name, "can't be blank")


@pytest.mark.parametrize("ep", [UPDATE_USER, UPDATE_ARTICLE], ids=str)
async def test_update_with_no_fields_changes_nothing(
    client: httpx.AsyncClient, world: World, ep: Endpoint
) -> None:
    before = (await client.get(ep.url(world), headers=auth(world.token))).json()
    after = check(await send(client, world, ep, ep.body()), 200)
    section = before[ep.envelope]
    for key in ("username", "email", "bio", "image", "slug", "title", "description", "body"):
        if key in section:
            assert after[ep.envelope][key] == section[key]


@pytest.mark.parametrize(("ep", "name"), STRING_FIELDS)
@pytest.mark.parametrize("blank", ["", " ", "   ", "\t\n \r"], ids=repr)
async def test_blank_field(
    client: httpx.AsyncClient, world: World, ep: Endpoint, name: str, blank: str
) -> None:
    response = await send(client, world, ep, ep.body(**{name: blank}))
    if name in NULLABLE:  # a blank bio or image means "none"
        assert check(response, 200)["user"][name] is None
    elif ep is LOGIN and name == "password" and blank:
        # Whitespace is a legal password character: this is a wrong password, not a blank one.
        check(response, 401, "credentials")
    else:
        check(response, 422, name, "can't be blank")


WRONG_TYPES = {
    "int": 123,
    "float": 12.5,
    "true": True,
    "false": False,
    "empty-list": [],
    "list": [MARK],
    "object": {"value": MARK},
}


@pytest.mark.parametrize(("ep", "name"), STRING_FIELDS)
@pytest.mark.parametrize("value", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
async def test_wrong_type_for_string_field_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, name: str, value: Any
) -> None:
    response = await send(client, world, ep, ep.body(**{name: value}))
    check(response, 422, name, "must be a string")


@pytest.mark.parametrize(("ep", "name"), STRING_FIELDS)
async def test_null_field(client: httpx.AsyncClient, world: World, ep: Endpoint, name: str) -> None:
    response = await send(client, world, ep, ep.body(**{name: None}))
    if name in NULLABLE:
        assert check(response, 200)["user"][name] is None
    else:
        check(response, 422, name, "can't be null")


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
async def test_unknown_fields_are_ignored(
    client: httpx.AsyncClient, world: World, ep: Endpoint
) -> None:
    body = ep.body(admin=True, id=1, favoritesCount=10**6, author={"username": "mallory"})
    response = await send(client, world, ep, body)
    check(response, ep.success)


# --- tagList ---------------------------------------------------------------------------

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


@pytest.mark.parametrize("ep", ARTICLE_ENDPOINTS, ids=str)
@pytest.mark.parametrize("tags", BAD_TAG_LISTS.values(), ids=BAD_TAG_LISTS.keys())
async def test_bad_tag_list_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, tags: Any
) -> None:
    check(await send(client, world, ep, ep.body(tagList=tags)), 422, "tagList")


@pytest.mark.parametrize("ep", ARTICLE_ENDPOINTS, ids=str)
async def test_lone_surrogate_in_tag_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint
) -> None:
    raw = json.dumps(ep.body(tagList=[f"{MARK}{SURROGATE}"])).replace(SURROGATE, "\\ud800")
    check(await send(client, world, ep, content=raw), 422, "tagList")


@pytest.mark.parametrize("ep", ARTICLE_ENDPOINTS, ids=str)
async def test_tag_list_limits_and_normalisation(
    client: httpx.AsyncClient, world: World, ep: Endpoint
) -> None:
    # 20 items (the maximum), the longest tag, a duplicate, and one that is one after stripping
    tags = [f"tag{i:02}" for i in range(17)] + ["t" * 64, "tag00", "  tag01  "]
    article = check(await send(client, world, ep, ep.body(tagList=tags)), ep.success)["article"]
    assert article["tagList"] == sorted({f"tag{i:02}" for i in range(17)} | {"t" * 64})


# --- oversized strings -----------------------------------------------------------------


@pytest.mark.parametrize(("ep", "name"), STRING_FIELDS)
async def test_ten_thousand_characters(
    client: httpx.AsyncClient, world: World, ep: Endpoint, name: str
) -> None:
    value = value_of_length(name, 10_000)
    response = await send(client, world, ep, ep.body(**{name: value}))
    maximum = ep.max_length[name]
    if maximum >= 10_000:
        assert check(response, ep.success)[ep.envelope][name] == value
    else:
        check(response, 422, name, f"is too long (maximum is {maximum} characters)")


@pytest.mark.parametrize(("ep", "name"), STRING_FIELDS)
async def test_length_limit_is_exact(
    client: httpx.AsyncClient, world: World, ep: Endpoint, name: str
) -> None:
    maximum = ep.max_length[name]
    longest = value_of_length(name, maximum)
    response = await send(client, world, ep, ep.body(**{name: longest}))
    if ep is LOGIN:
        check(response, 401, "credentials")
    else:
        stored = check(response, ep.success)[ep.envelope]
        if name != "password":
            assert stored[name] == longest
    too_long = value_of_length(name, maximum + 1)
    response = await send(client, world, ep, ep.body(**{name: too_long}))
    check(response, 422, name, f"is too long (maximum is {maximum} characters)")


@pytest.mark.parametrize(
    ("path", "name", "maximum"),
    [
        ("/api/articles/{}", "slug", 300),
        ("/api/articles/{}/comments", "slug", 300),
        ("/api/profiles/{}", "username", 64),
        ("/api/articles?tag={}", "tag", 64),
        ("/api/articles?author={}", "author", 64),
        ("/api/articles?favorited={}", "favorited", 64),
    ],
)
async def test_parameters_too_long_are_counted_in_characters(
    client: httpx.AsyncClient, path: str, name: str, maximum: int
) -> None:
    response = await client.get(path.format("x" * (maximum + 1)))
    check(response, 422, name, f"is too long (maximum is {maximum} characters)")
    # The limit is exact: at the maximum, the value is looked for (and not found).
    assert (await client.get(path.format("x" * maximum))).status_code in {200, 404}


async def test_registered_with_longest_password_can_log_in(client: httpx.AsyncClient) -> None:
    password = "p" * 256
    user = {"username": "longpass", "email": "longpass@example.com", "password": password}
    check(await client.post("/api/users", json={"user": user}), 201)
    login = {"email": user["email"], "password": password}
    check(await client.post("/api/users/login", json={"user": login}), 200)
    login["password"] = "p" * 255
    check(await client.post("/api/users/login", json={"user": login}), 401, "credentials")


# --- NUL bytes and lone surrogates -------------------------------------------------------


@pytest.mark.parametrize(("ep", "name"), STRING_FIELDS)
@pytest.mark.parametrize("where", ["middle", "start", "end", "only"])
async def test_nul_byte_in_string_field_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, name: str, where: str
) -> None:
    value = {
        "middle": with_inner(name, NUL),
        "start": NUL + with_inner(name, ""),
        "end": with_inner(name, "") + NUL,
        "only": NUL,
    }[where]
    check(await send(client, world, ep, ep.body(**{name: value})), 422, name)


@pytest.mark.parametrize(("ep", "name"), STRING_FIELDS)
@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ude00\\ud83d"], ids=repr)
async def test_lone_surrogate_in_string_field_is_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, name: str, escape: str
) -> None:
    raw = json.dumps(ep.body(**{name: with_inner(name, SURROGATE)})).replace(SURROGATE, escape)
    check(await send(client, world, ep, content=raw), 422, name)


@pytest.mark.parametrize("ep", [CREATE_ARTICLE, CREATE_COMMENT], ids=str)
async def test_escaped_surrogate_pair_is_a_valid_character(
    client: httpx.AsyncClient, world: World, ep: Endpoint
) -> None:
    raw = json.dumps(ep.body(body=f"smile {SURROGATE}")).replace(SURROGATE, "\\ud83d\\ude00")
    assert check(await send(client, world, ep, content=raw), 201)[ep.envelope]["body"] == (
        "smile \U0001f600"
    )


# --- any script, exactly round-tripped ----------------------------------------------------

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


@pytest.mark.parametrize("text", TEXT_PARAMS)
async def test_article_text_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    sent = {"title": text, "description": text, "body": f"{text}\n\n{text}", "tagList": [text]}
    created = check(
        await client.post("/api/articles", json={"article": sent}, headers=auth(world.token)), 201
    )["article"]
    for name, value in sent.items():
        assert created[name] == value, name

    fetched = check(await client.get(f"/api/articles/{quote(created['slug'])}"), 200)["article"]
    for name, value in sent.items():
        assert fetched[name] == value, name

    by_tag = check(await client.get("/api/articles", params={"tag": text}), 200)
    assert by_tag["articlesCount"] == 1
    assert [a["slug"] for a in by_tag["articles"]] == [created["slug"]]
    assert text in check(await client.get("/api/tags"), 200)["tags"]


@pytest.mark.parametrize("text", TEXT_PARAMS)
async def test_article_update_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    sent = {"title": text, "description": text, "body": text, "tagList": [text, "plain"]}
    updated = check(await send(client, world, UPDATE_ARTICLE, {"article": sent}), 200)["article"]
    fetched = check(await client.get(f"/api/articles/{quote(updated['slug'])}"), 200)["article"]
    for name, value in sent.items():
        expected = sorted(value) if name == "tagList" else value
        assert updated[name] == expected, name
        assert fetched[name] == expected, name


@pytest.mark.parametrize("text", TEXT_PARAMS)
async def test_comment_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    created = check(await send(client, world, CREATE_COMMENT, {"comment": {"body": text}}), 201)
    assert created["comment"]["body"] == text
    listed = check(await client.get(f"/api/articles/{world.slug}/comments"), 200)["comments"]
    assert text in [c["body"] for c in listed]


@pytest.mark.parametrize("text", TEXT_PARAMS)
async def test_bio_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    updated = check(await send(client, world, UPDATE_USER, {"user": {"bio": text}}), 200)
    assert updated["user"]["bio"] == text
    me = check(await client.get("/api/user", headers=auth(world.token)), 200)
    assert me["user"]["bio"] == text
    profile = check(await client.get("/api/profiles/alice"), 200)
    assert profile["profile"]["bio"] == text


@pytest.mark.parametrize("username", ["مرحبا_user", "שלום", "用户名", "ñandú.ü-ß"])
async def test_username_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, username: str
) -> None:
    token = await register(client, username)
    me = check(await client.get("/api/user", headers=auth(token)), 200)
    assert me["user"]["username"] == username
    profile = check(await client.get(f"/api/profiles/{quote(username)}"), 200)
    assert profile["profile"]["username"] == username
    followed = check(
        await client.post(f"/api/profiles/{quote(username)}/follow", headers=auth(world.token)),
        200,
    )
    assert followed["profile"]["following"] is True
    await create_article(client, token, "by them")
    listed = check(await client.get("/api/articles", params={"author": username}), 200)
    assert listed["articlesCount"] == 1
    assert listed["articles"][0]["author"]["username"] == username


@pytest.mark.parametrize(
    "username", [f"{MARK}😀", f"{MARK} space", f"{MARK}/slash", f"{MARK}@at", "\u202e" + MARK]
)
async def test_username_outside_the_allowed_characters_is_422(
    client: httpx.AsyncClient, username: str
) -> None:
    user = {"username": username, "email": "x@example.com", "password": PASSWORD}
    check(await client.post("/api/users", json={"user": user}), 422, "username")


# --- pagination -------------------------------------------------------------------------

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


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize(("query", "key"), BAD_PAGINATION.items(), ids=BAD_PAGINATION.keys())
async def test_bad_pagination_is_422(
    client: httpx.AsyncClient, world: World, route: str, query: str, key: str
) -> None:
    response = await client.get(f"{route}?{query}", headers=auth(world.token))
    check(response, 422, key)


@pytest.mark.parametrize(
    "query",
    [
        "limit=+5",
        "limit=%205",
        "limit=5%20",
        "limit=1_0",
        "limit=05",
        "limit=%EF%BC%95",
        "limit=%D9%A5",
        "offset=%D9%A5",
        "page=+1",
        "limit=5&limit=abc",
        "limit=abc&limit=5",
    ],
)
async def test_odd_integer_spellings_are_not_a_500(
    client: httpx.AsyncClient, world: World, query: str
) -> None:
    check(await client.get(f"/api/articles?{query}"), {200, 422})


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("limit", [101, 10**9, 10**30], ids=["101", "10^9", "10^30"])
async def test_limit_above_the_cap_is_refused_or_clamped(
    client: httpx.AsyncClient, world: World, route: str, limit: int
) -> None:
    """The design allows either; what is never allowed is obeying it (or a 500)."""
    response = await client.get(f"{route}?limit={limit}", headers=auth(world.token))
    check(response, {200, 422})
    if response.status_code == 422:
        check(response, 422, "limit", "must be less than or equal to 100")
    else:
        assert len(response.json()["articles"]) <= 100


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


@pytest.mark.parametrize(
    ("route", "filters", "total"),
    [
        ("/api/articles", "", 5),
        ("/api/articles", "tag=existing&", 3),
        ("/api/articles", "author=alice&", 3),
        ("/api/articles/feed", "", 2),
    ],
    ids=["all", "tag", "author", "feed"],
)
@pytest.mark.parametrize("query", FAR.values(), ids=FAR.keys())
async def test_far_page_is_empty_with_the_true_total(
    client: httpx.AsyncClient,
    three_articles: World,
    route: str,
    filters: str,
    total: int,
    query: str,
) -> None:
    response = await client.get(f"{route}?{filters}{query}", headers=auth(three_articles.token))
    body = check(response, 200)
    assert body == {"articles": [], "articlesCount": total}


@pytest.mark.parametrize(
    ("query", "size"),
    [("limit=1", 1), ("limit=100", 5), ("limit=2&offset=4", 1), ("limit=2&page=2", 2), ("", 5)],
)
async def test_valid_pagination_edges(
    client: httpx.AsyncClient, three_articles: World, query: str, size: int
) -> None:
    body = check(await client.get(f"/api/articles?{query}"), 200)
    assert len(body["articles"]) == size
    assert body["articlesCount"] == 5


# --- filters (tag, author, favorited) -----------------------------------------------------

FILTERS = ["tag", "author", "favorited"]
FILTER_LIMIT = {"tag": 64, "author": 64, "favorited": 64}


@pytest.mark.parametrize("param", FILTERS)
@pytest.mark.parametrize(
    "raw",
    [f"{MARK}%00b", "%00", f"%00{MARK}", f"{MARK}" + "a" * 9_992, f"{MARK}" + "a" * 57],
    ids=["nul-middle", "nul-only", "nul-start", "10000-chars", "65-chars"],
)
async def test_bad_filter_value_is_422(
    client: httpx.AsyncClient, world: World, param: str, raw: str
) -> None:
    check(await client.get(f"/api/articles?{param}={raw}"), 422, param)


@pytest.mark.parametrize("param", FILTERS)
@pytest.mark.parametrize(
    "raw",
    [
        "nobody",
        "a" * 64,
        quote("مرحبا بالعالم 😀"),
        "%FF%FE",  # not UTF-8
        "%ED%A0%80",  # an encoded surrogate
        quote("' OR '1'='1"),
        quote('"; DROP TABLE articles; --'),
        quote("%"),
        quote("_"),
        quote("*"),
    ],
    ids=[
        "unknown",
        "64-chars",
        "rtl-emoji",
        "invalid-utf8",
        "surrogate",
        "sql-quote",
        "sql-drop",
        "percent",
        "underscore",
        "star",
    ],
)
async def test_unmatched_filter_value_is_an_empty_list(
    client: httpx.AsyncClient, world: World, param: str, raw: str
) -> None:
    body = check(await client.get(f"/api/articles?{param}={raw}"), 200)
    assert body == {"articles": [], "articlesCount": 0}
    assert check(await client.get("/api/articles"), 200)["articlesCount"] == 1


@pytest.mark.parametrize("param", FILTERS)
async def test_empty_or_repeated_filter_is_not_a_500(
    client: httpx.AsyncClient, world: World, param: str
) -> None:
    check(await client.get(f"/api/articles?{param}="), {200, 422})
    check(await client.get(f"/api/articles?{param}=a&{param}=b"), {200, 422})


# --- path parameters ---------------------------------------------------------------------

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


@pytest.mark.parametrize(("method", "path", "body"), SLUG_ROUTES, ids=SLUG_ROUTE_IDS)
@pytest.mark.parametrize(
    "slug",
    [f"{MARK}%00b", "%00", f"{MARK}%00", "a" * 301, MARK + "a" * 9_992],
    ids=["nul-middle", "nul-only", "nul-end", "301-chars", "10000-chars"],
)
async def test_bad_slug_is_422(
    client: httpx.AsyncClient, world: World, method: str, path: str, body: Any, slug: str
) -> None:
    response = await call(client, method, path.format(slug), body, world.token)
    check(response, 422, "slug")


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


@pytest.mark.parametrize(("method", "path", "body"), SLUG_ROUTES, ids=SLUG_ROUTE_IDS)
@pytest.mark.parametrize("slug", UNKNOWN_SLUGS.values(), ids=UNKNOWN_SLUGS.keys())
async def test_unknown_slug_is_404_article(
    client: httpx.AsyncClient, world: World, method: str, path: str, body: Any, slug: str
) -> None:
    response = await call(client, method, path.format(slug), body, world.token)
    check(response, 404, "article", "not found")


@pytest.mark.parametrize(("method", "path", "body"), SLUG_ROUTES, ids=SLUG_ROUTE_IDS)
async def test_unknown_slug_without_token(
    client: httpx.AsyncClient, world: World, method: str, path: str, body: Any
) -> None:
    response = await call(client, method, path.format("no-such-article"), body)
    if method == "GET":  # auth is optional there
        check(response, 404, "article")
    else:  # authentication is checked before existence
        check(response, 401, "token", "is missing")


@pytest.mark.parametrize(("method", "path"), USERNAME_ROUTES, ids=USERNAME_ROUTE_IDS)
@pytest.mark.parametrize(
    "username",
    [f"{MARK}%00b", "%00", "a" * 65, MARK + "a" * 9_992],
    ids=["nul-middle", "nul-only", "65-chars", "10000-chars"],
)
async def test_bad_username_is_422(
    client: httpx.AsyncClient, world: World, method: str, path: str, username: str
) -> None:
    response = await call(client, method, path.format(username), token=world.token)
    check(response, 422, "username")


@pytest.mark.parametrize(("method", "path"), USERNAME_ROUTES, ids=USERNAME_ROUTE_IDS)
@pytest.mark.parametrize(
    "username",
    ["nobody", "a" * 64, quote("مرحبا"), "%FF%FE", "%ED%A0%80", quote("alice' --"), "%25"],
    ids=["plain", "64-chars", "rtl", "invalid-utf8", "surrogate", "sql-quote", "percent"],
)
async def test_unknown_username_is_404_profile(
    client: httpx.AsyncClient, world: World, method: str, path: str, username: str
) -> None:
    response = await call(client, method, path.format(username), token=world.token)
    check(response, 404, "profile", "not found")


@pytest.mark.parametrize(("method", "path"), USERNAME_ROUTES, ids=USERNAME_ROUTE_IDS)
async def test_unknown_username_without_token(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await call(client, method, path.format("nobody"))
    if method == "GET":
        check(response, 404, "profile")
    else:
        check(response, 401, "token", "is missing")


@pytest.mark.parametrize(
    "comment_id",
    ["0", "-1", "1" + "0" * 30, str(2**31), "abc", "1.5", "1e3", "%00", f"{MARK}", "0x10"],
)
async def test_bad_comment_id_is_422(
    client: httpx.AsyncClient, world: World, comment_id: str
) -> None:
    response = await call(
        client, "DELETE", f"/api/articles/{world.slug}/comments/{comment_id}", token=world.token
    )
    check(response, 422, "id")


@pytest.mark.parametrize("comment_id", ["999999", str(2**31 - 1)])
async def test_unknown_comment_id_is_404_comment(
    client: httpx.AsyncClient, world: World, comment_id: str
) -> None:
    response = await call(
        client, "DELETE", f"/api/articles/{world.slug}/comments/{comment_id}", token=world.token
    )
    check(response, 404, "comment", "not found")


async def test_comment_reached_through_another_article_is_404(
    client: httpx.AsyncClient, world: World
) -> None:
    other = await create_article(client, world.token, "Other article")
    response = await call(
        client,
        "DELETE",
        f"/api/articles/{other['slug']}/comments/{world.comment_id}",
        token=world.token,
    )
    check(response, 404, "comment")
    comments = check(await client.get(f"/api/articles/{world.slug}/comments"), 200)["comments"]
    assert [c["id"] for c in comments] == [world.comment_id]


# --- credentials ---------------------------------------------------------------------------

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


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/user"), ("GET", "/api/articles"), ("POST", "/api/articles/x/favorite")],
)
@pytest.mark.parametrize("header", BAD_AUTHORIZATION.values(), ids=BAD_AUTHORIZATION.keys())
async def test_unusable_credentials_are_401(
    client: httpx.AsyncClient, world: World, method: str, path: str, header: str
) -> None:
    response = await client.request(method, path, headers={"Authorization": header})
    check(response, 401, "token", "is invalid")
    assert "WWW-Authenticate" in response.headers


async def test_authorization_header_that_is_not_ascii_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/user", headers={"Authorization": b"Token \xff\xfe\x80"})
    check(response, 401, "token", "is invalid")


@pytest.mark.parametrize(
    "subject", ["0", "-1", str(2**31), str(2**63), str(10**20), "abc", "", "1e3", "1.0"]
)
async def test_signed_token_for_a_user_that_cannot_exist_is_401(
    app: Any, client: httpx.AsyncClient, subject: str
) -> None:
    """Even a correctly signed token must not reach the database with an impossible id."""
    token = TokenCodec(app.state.settings).encode(subject, session_id="0" * 32)
    check(await client.get("/api/user", headers=auth(token)), 401, "token", "is invalid")


@pytest.mark.parametrize("ep", [ep for ep in ENDPOINTS if ep.authed], ids=str)
async def test_write_without_token_is_401(
    client: httpx.AsyncClient, world: World, ep: Endpoint
) -> None:
    response = await client.request(ep.method, ep.url(world), json=ep.body())
    check(response, 401, "token", "is missing")


# --- the last line of defence ------------------------------------------------------------


@pytest.mark.server_error
async def test_unhandled_exception_is_a_bare_500(app: Any, client: httpx.AsyncClient) -> None:
    async def boom() -> None:
        raise RuntimeError(f"deliberate failure with secret {MARK}")

    app.add_api_route("/boom", boom)
    response = await client.get("/boom")
    assert response.status_code == 500
    assert errors_of(response) == {"server": ["internal error"]}
    for leak in ("Traceback", MARK, "RuntimeError", "deliberate", 'File "'):
        assert leak not in response.text
