"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows.

The flows worth automating against us: guessing passwords, mass password-reset and sign-up
requests, poisoning the links in our mail, and inflating favorites. Login is throttled per
account whatever the spelling of the address; the auth endpoints are limited per client IP,
and a client cannot change its IP by writing forwarding headers (unless the peer is a
trusted proxy, and then only the proxy's view counts); links in mail come from FRONTEND_URL
alone; a reset request changes nothing until the mailed token is used, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from tests.factories import PASSWORD, auth, create_article, deliver, error_body, log_in, sign_up
from tests.security.support import mail_links, make_key, token_of

FRONT = "https://front.example"
THROTTLED = {"errors": {"credentials": ["too many failed attempts"]}}
TOO_MANY = {"errors": {"rate_limit": ["too many requests"]}}

FORGED_ORIGIN_HEADERS = {
    "Host": "evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-For": "203.0.113.66",
    "X-Original-URL": "https://evil.example/",
    "Forwarded": "for=203.0.113.66;host=evil.example;proto=http",
    "Origin": "https://evil.example",
    "Referer": "https://evil.example/reset",
}

SPOOFED_IP_HEADERS = [
    "X-Forwarded-For",
    "X-Real-IP",
    "Forwarded",
    "True-Client-IP",
    "CF-Connecting-IP",
    "X-Client-IP",
    "X-Cluster-Client-IP",
]


@asynccontextmanager
async def from_ip(app: Any, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose socket peer is `ip` (as a proxy in front of the app would be)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


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


# --- links in mail --------------------------------------------------------------------------


@pytest.mark.settings(frontend_url=FRONT)
async def test_api6_forged_host_headers_do_not_change_the_links_in_mail(
    client: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    response = await client.post(
        "/api/users",
        json={"user": {"username": "alice", "email": "alice@example.com", "password": PASSWORD}},
        headers=FORGED_ORIGIN_HEADERS,
    )
    assert response.status_code == 201
    reset = await client.post(
        "/api/auth/password-reset",
        json={"email": "alice@example.com"},
        headers=FORGED_ORIGIN_HEADERS,
    )
    assert reset.status_code == 202
    again = await client.post(
        "/api/auth/verify-email",
        headers={**FORGED_ORIGIN_HEADERS, **auth(response.json()["user"]["token"])},
    )
    assert again.status_code == 202
    assert await deliver(app) == 3

    links = mail_links(settings.mail_dir)
    assert [link.split("?")[0] for link in links] == [
        f"{FRONT}/verify-email",
        f"{FRONT}/reset-password",
        f"{FRONT}/verify-email",
    ]
    assert all("evil" not in link for link in links)


async def test_api6_a_reset_request_changes_nothing_until_its_token_is_used_once(
    client: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    """Anyone may ask for a reset of anyone's account: that must not lock the owner out,
    end their sessions or make earlier tokens usable; the mailed token works once, only
    for a reset, and only for the address it was sent to."""
    alice = await sign_up(client, "alice")
    for _ in range(3):
        assert (
            await client.post("/api/auth/password-reset", json={"email": "alice@example.com"})
        ).status_code == 202
    assert (await client.get("/api/user", headers=auth(alice["token"]))).status_code == 200
    assert (await log_in(client, "alice@example.com")).status_code == 200

    await deliver(app)
    links = mail_links(settings.mail_dir)
    verify_token = token_of(links[0])
    reset_tokens = [token_of(link) for link in links[1:]]
    assert len(set(reset_tokens)) == 3

    wrong_purpose = await client.post(
        "/api/auth/password-reset/confirm", json={"token": verify_token, "password": "new-pass-123"}
    )
    assert wrong_purpose.status_code == 400
    used = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": reset_tokens[1], "password": "new-pass-123"},
    )
    assert used.status_code == 204
    for token in reset_tokens:  # spent, and the others were voided with it
        replay = await client.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": "other-pass-456"}
        )
        assert replay.status_code == 400
        assert error_body(replay) == {"errors": {"token": ["is invalid or expired"]}}
    assert (await log_in(client, "alice@example.com", "new-pass-123")).status_code == 200
    assert (await client.get("/api/user", headers=auth(alice["token"]))).status_code == 401


async def test_api6_a_reset_token_dies_with_a_change_of_address(
    client: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    alice = await sign_up(client, "alice")
    await client.post("/api/auth/password-reset", json={"email": "alice@example.com"})
    await deliver(app)
    token = token_of(mail_links(settings.mail_dir)[-1])
    changed = await client.put(
        "/api/user", json={"user": {"email": "alice2@example.com"}}, headers=auth(alice["token"])
    )
    assert changed.status_code == 200
    response = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "new-pass-123"}
    )
    assert response.status_code == 400
    assert (await log_in(client, "alice2@example.com")).status_code == 200


# --- inflating counters ------------------------------------------------------------------------


async def test_api6_favorites_cannot_be_inflated(client: httpx.AsyncClient, alice: str) -> None:
    """Many favorites of one user, at once, through both mounts and an API key, count once."""
    bob = await sign_up(client, "bob")
    key = await make_key(client, bob["token"], ["articles:write"])
    slug = (await create_article(client, alice, "Popular"))["slug"]

    attempts = [
        client.post(f"{prefix}/articles/{slug}/favorite", headers=headers)
        for prefix in ("/api", "/api/v1")
        for headers in (auth(bob["token"]), {"X-API-Key": key["key"]})
        for _ in range(3)
    ]
    responses = await asyncio.gather(*attempts)
    assert {r.status_code for r in responses} == {200}
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 1
    assert (await client.get("/api/articles", params={"favorited": "bob"})).json()[
        "articlesCount"
    ] == 1


async def test_api6_a_user_cannot_follow_themself_to_fill_their_own_feed(
    client: httpx.AsyncClient, alice: str
) -> None:
    await create_article(client, alice, "Mine")
    for name in ("alice", "ALICE"):
        response = await client.post(f"/api/profiles/{name}/follow", headers=auth(alice))
        assert response.status_code in (403, 404), response.text
    feed = (await client.get("/api/articles/feed", headers=auth(alice))).json()
    assert feed["articlesCount"] == 0
