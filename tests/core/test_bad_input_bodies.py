"""Bad request bodies on every write endpoint: malformed JSON, wrong envelopes and content types,
missing, blank, null and wrongly typed fields are a 422 (415) in the error shape, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.bad_input.checks import MARK, check
from tests.bad_input.endpoints import (
    ENDPOINTS,
    LOGIN,
    NULLABLE,
    REGISTER,
    REQUIRED_FIELDS,
    STRING_FIELDS,
    UPDATE_ARTICLE,
    UPDATE_USER,
    Endpoint,
    send,
)
from tests.bad_input.fixtures import World
from tests.bad_input.values import MALFORMED_JSON, NOT_AN_OBJECT, UNPARSEABLE_BYTES, WRONG_TYPES
from tests.factories import auth


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


@pytest.mark.parametrize("ep", ENDPOINTS, ids=str)
@pytest.mark.parametrize("raw", UNPARSEABLE_BYTES.values(), ids=UNPARSEABLE_BYTES.keys())
async def test_unparseable_bytes_are_422(
    client: httpx.AsyncClient, world: World, ep: Endpoint, raw: bytes
) -> None:
    response = await send(client, world, ep, content=raw.replace(b"ENV", ep.envelope.encode()))
    check(response, 422, "body", "is not valid JSON")


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
