"""The checks that several modules of the OWASP suite (tests/security) make: a refusal in
the API's error shape, a credential refused everywhere, injection strings handled, oversized
requests refused while the server keeps answering."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import error_body
from tests.security.support import leaks_in

# --- error bodies (API8) ------------------------------------------------------------------


def assert_error_shape(response: httpx.Response) -> None:
    body = response.json()
    assert set(body) == {"errors", "request_id"}, body
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["errors"], body
    for key, messages in body["errors"].items():
        assert isinstance(key, str)
        assert messages
        assert all(isinstance(message, str) for message in messages)
    assert not leaks_in(response.text), response.text


# --- credentials refused (API2) -----------------------------------------------------------


INVALID = {"errors": {"token": ["is invalid"]}}


async def refused_everywhere(client: httpx.AsyncClient, header: dict[str, str]) -> None:
    """401 `token: is invalid` on a read, an optional-auth read and a write; nothing written."""
    me = await client.get("/api/user", headers=header)
    assert me.status_code == 401, me.text
    assert error_body(me) == INVALID
    assert me.headers["WWW-Authenticate"]
    listing = await client.get("/api/articles", headers=header)
    assert listing.status_code == 401, listing.text
    write = await client.post(
        "/api/articles",
        json={"article": {"title": "Forged", "description": "d", "body": "b"}},
        headers=header,
    )
    assert write.status_code == 401, write.text
    assert (await client.get("/api/articles")).json()["articlesCount"] == 0


# --- injection strings (API8) -------------------------------------------------------------


# The injection tests send hundreds of requests, many of them logins: no limit may answer
# them first.
UNLIMITED = pytest.mark.settings(
    rate_limit_auth="100000/minute", rate_limit_user="100000/minute", login_max_failures=100000
)

PAYLOADS = [
    "' OR 1=1 --",
    "' OR '1'='1",
    '"; DROP TABLE users; --',
    "1; SELECT pg_sleep(5); --",
    '{"$gt": ""}',
    '{"$where": "sleep(5000)"}',
    "{{7*7}}",
    "${7*7}",
    "<%= 7*7 %>",
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%0d%0aSet-Cookie: injected=1",
    "x\r\nSet-Cookie: injected=1",
    "<script>alert(1)</script>",
    "*)(uid=*))(|(uid=*",
    "%",
    "_",
    "\u202egnp.exe",
]
NUL = "before\x00after"


def assert_handled(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert "set-cookie" not in response.headers
    if response.status_code >= 400:
        assert set(error_body(response)) == {"errors"}
        assert not leaks_in(response.text), response.text


# --- resource consumption (API4) ----------------------------------------------------------


JSON = {"Content-Type": "application/json"}
MAX_BODY = 1024 * 1024


async def still_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/tags")
    assert response.status_code == 200, response.text


def assert_refused(response: httpx.Response, statuses: tuple[int, ...]) -> None:
    assert response.status_code in statuses, response.text[:300]
    body = error_body(response)
    assert set(body) == {"errors"}
    assert not leaks_in(response.text)
