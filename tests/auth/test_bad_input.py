"""Unusable credentials: malformed, non-ASCII or orphaned tokens and missing ones are a 401."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conduit.core.security import TokenCodec
from tests.bad_input.checks import check
from tests.bad_input.endpoints import ENDPOINTS, Endpoint
from tests.bad_input.fixtures import World
from tests.bad_input.values import BAD_AUTHORIZATION
from tests.factories import auth


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
