"""Oversized, NUL-laden and surrogate-laden values on every write endpoint are refused in the
error shape without echoing them; an unhandled exception is a bare 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.bad_input.checks import MARK, NUL, SURROGATE, check, errors_of
from tests.bad_input.endpoints import (
    CREATE_ARTICLE,
    CREATE_COMMENT,
    LOGIN,
    STRING_FIELDS,
    Endpoint,
    send,
    value_of_length,
    with_inner,
)
from tests.bad_input.fixtures import World


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
