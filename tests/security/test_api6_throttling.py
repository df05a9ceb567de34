"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows: guessing passwords and
mass requests.

Login is throttled per account whatever the spelling of the address, and alike for unknown
accounts; the auth endpoints are limited per client IP, and a client cannot change its IP
by writing forwarding headers (unless the peer is a trusted proxy, and then only the
proxy's view counts).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD, error_body, log_in, sign_up
from tests.factories.apps import from_ip

THROTTLED = {"errors": {"credentials": ["too many failed attempts"]}}

SPOOFED_IP_HEADERS = [
    "X-Forwarded-For",
    "X-Real-IP",
    "Forwarded",
    "True-Client-IP",
    "CF-Connecting-IP",
    "X-Client-IP",
    "X-Cluster-Client-IP",
]


def spoof(header: str, n: int) -> dict[str, str]:
    address = f"198.51.100.{n}"
    value = f"for={address}" if header == "Forwarded" else address
    return {header: value}


# --- guessing passwords ---------------------------------------------------------------------


@pytest.mark.settings(login_max_failures=3, rate_limit_auth="1000/minute")
async def test_api6_password_guessing_is_throttled_per_account_whatever_the_spelling(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, "alice")
    for n, spelling in enumerate(["alice@example.com", "ALICE@example.com", " Alice@Example.COM "]):
        response = await log_in(client, spelling, f"guess-number-{n}")
        assert response.status_code == 401, response.text

    for spelling in ("alice@example.com", "ALICE@EXAMPLE.COM"):
        response = await log_in(client, spelling, PASSWORD)  # even the right password
        assert response.status_code == 429, response.text
        assert error_body(response) == THROTTLED
        assert int(response.headers["Retry-After"]) >= 1
    grant = await client.post(
        "/api/auth/token", data={"username": "alice@example.com", "password": PASSWORD}
    )
    assert grant.status_code == 429
    assert (
        await log_in(client, "alice@example.com", PASSWORD, **{"X-Forwarded-For": "1.2.3.4"})
    ).status_code == 429


@pytest.mark.settings(login_max_failures=3, rate_limit_auth="1000/minute")
async def test_api6_throttling_answers_alike_for_unknown_accounts(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, "alice")
    answers: dict[str, list[tuple[int, Any]]] = {}
    for email in ("alice@example.com", "nobody@example.com"):
        answers[email] = []
        for n in range(5):
            response = await log_in(client, email, f"guess-{n}")
            answers[email].append((response.status_code, error_body(response)))
    assert answers["alice@example.com"] == answers["nobody@example.com"]
    assert [status for status, _ in answers["nobody@example.com"]] == [401, 401, 401, 429, 429]


# --- mass requests against the auth endpoints -------------------------------------------------


@pytest.mark.parametrize("header", SPOOFED_IP_HEADERS)
@pytest.mark.settings(rate_limit_auth="3/minute")
async def test_api6_forwarding_headers_do_not_escape_the_auth_rate_limit(
    client: httpx.AsyncClient, header: str
) -> None:
    """TRUSTED_PROXIES is empty: the socket peer is the client, whatever the headers say."""
    statuses = []
    for n in range(6):
        response = await client.post(
            "/api/auth/password-reset",
            json={"email": f"victim{n}@example.com"},
            headers=spoof(header, n),
        )
        statuses.append(response.status_code)
    assert statuses == [202, 202, 202, 429, 429, 429]
    signup = await client.post(
        "/api/users",
        json={"user": {"username": "bot", "email": "bot@example.com", "password": PASSWORD}},
        headers=spoof(header, 99),
    )
    assert signup.status_code == 429


@pytest.mark.settings(rate_limit_anon="3/minute")
async def test_api6_forwarding_headers_do_not_escape_the_anonymous_rate_limit(
    client: httpx.AsyncClient,
) -> None:
    statuses = []
    for n in range(6):
        headers = {**spoof("X-Forwarded-For", n), **spoof("X-Real-IP", n)}
        statuses.append((await client.get("/api/articles", headers=headers)).status_code)
    assert statuses == [200, 200, 200, 429, 429, 429]


@pytest.mark.settings(rate_limit_auth="3/minute", trusted_proxies=["10.0.0.0/8"])
async def test_api6_behind_a_trusted_proxy_only_the_proxys_view_of_the_client_counts(
    app: Any,
) -> None:
    """The proxy (10.0.0.1) appends the address it saw; whatever the client wrote to the left
    of it is ignored, so rotating it does not help. A peer outside TRUSTED_PROXIES that
    sends the header is not believed at all."""
    async with from_ip(app, "10.0.0.1") as proxy:
        statuses = []
        for n in range(5):
            forwarded = f"198.51.100.{n}, 192.0.2.10"  # client-written, then the proxy's
            response = await proxy.post(
                "/api/auth/password-reset",
                json={"email": "a@example.com"},
                headers={"X-Forwarded-For": forwarded},
            )
            statuses.append(response.status_code)
        assert statuses == [202, 202, 202, 429, 429]
        other_client = await proxy.post(
            "/api/auth/password-reset",
            json={"email": "a@example.com"},
            headers={"X-Forwarded-For": "192.0.2.11"},
        )
        assert other_client.status_code == 202

    async with from_ip(app, "203.0.113.5") as direct:
        statuses = []
        for n in range(5):
            response = await direct.post(
                "/api/auth/password-reset",
                json={"email": "a@example.com"},
                headers={"X-Forwarded-For": f"192.0.2.{100 + n}"},
            )
            statuses.append(response.status_code)
        assert statuses == [202, 202, 202, 429, 429]
