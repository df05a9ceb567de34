"""OWASP API2:2023 Broken Authentication: user enumeration.

Login, registration and password reset tell no more about an account than the RealWorld
contract requires, neither in their bodies nor in their timing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from conduit.core.config import Settings
from tests.factories import PASSWORD, error_body, log_in, sign_up
from tests.live import start_server
from tests.security.support import set_standing, staff_token

# --- user enumeration: bodies -------------------------------------------------------------


@pytest.mark.settings(login_max_failures=1000)
async def test_api2_login_answers_alike_for_unknown_and_known_accounts(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, "alice")
    attempts = [
        await log_in(client, "alice@example.com", "wrong-password"),
        await log_in(client, "ALICE@example.com", "wrong-password"),
        await log_in(client, "nobody@example.com", "wrong-password"),
        await log_in(client, "nobody@example.com", PASSWORD),
    ]
    grant = [
        await client.post("/api/auth/token", data={"username": email, "password": "wrong-password"})
        for email in ("alice@example.com", "nobody@example.com")
    ]
    for response in attempts + grant:
        assert response.status_code == 401, response.text
        assert error_body(response) == {"errors": {"credentials": ["invalid"]}}
    assert {tuple(sorted(r.headers.keys())) for r in attempts} == {
        tuple(sorted(attempts[0].headers.keys()))
    }


async def test_api2_password_reset_answers_alike_for_unknown_and_known_accounts(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await staff_token(client, settings, "root")
    await sign_up(client, "alice")
    await sign_up(client, "dormant")
    await set_standing(client, admin, "dormant", active=False)
    answers = [
        await client.post("/api/auth/password-reset", json={"email": email})
        for email in ("alice@example.com", "nobody@example.com", "dormant@example.com")
    ]
    for response in answers:
        assert response.status_code == 202, response.text
        assert response.content == b""
    assert len({r.headers.get("content-length") for r in answers}) == 1


async def test_api2_registration_reveals_a_taken_address_only_as_the_contract_requires(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """RealWorld requires 409 for a taken e-mail, so registration necessarily tells that an
    address is in use (the auth rate limit caps how fast anyone can ask). Beyond that it
    tells nothing: the same body whatever the spelling of the address and whether the
    account is active, and nothing about the account that holds it."""
    admin = await staff_token(client, settings, "root")
    await sign_up(client, "alice")
    await sign_up(client, "dormant")
    await set_standing(client, admin, "dormant", active=False)

    def attempt(email: str, username: str) -> Awaitable[httpx.Response]:
        return client.post(
            "/api/users",
            json={"user": {"username": username, "email": email, "password": PASSWORD}},
        )

    taken = [
        await attempt("alice@example.com", "new1"),
        await attempt("ALICE@Example.COM", "new2"),
        await attempt(" alice@example.com ", "new3"),
        await attempt("dormant@example.com", "new4"),
    ]
    for response in taken:
        assert response.status_code == 409, response.text
        assert error_body(response) == {"errors": {"email": ["has already been taken"]}}
        assert "alice" not in response.text.replace("alice@example.com", "")


# --- user enumeration: timing ------------------------------------------------------------

# A realistic Argon2 cost for these tests only, so that a missing dummy hash would show.
SLOW_HASH = {"argon2_time_cost": 2, "argon2_memory_cost": 19456}
NO_THROTTLE = {"login_max_failures": 10_000, "rate_limit_auth": "10000/minute"}
ROUNDS = 15


async def interleaved_medians(
    first: Callable[[], Awaitable[httpx.Response]],
    second: Callable[[], Awaitable[httpx.Response]],
    expect: tuple[int, int],
) -> tuple[float, float]:
    """Median seconds of each call, measured in alternation (after one warm-up each) so
    that a burst of load on the machine hits both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    for round_ in range(ROUNDS + 1):
        for index, call in enumerate((first, second)):
            started = time.perf_counter()
            response = await call()
            elapsed = time.perf_counter() - started
            assert response.status_code == expect[index], response.text
            if round_:
                times[index].append(elapsed)
    return statistics.median(times[0]), statistics.median(times[1])


def assert_comparable(known: float, unknown: float) -> None:
    assert 0.5 <= known / unknown <= 2.0, (
        f"known {known * 1000:.1f} ms, unknown {unknown * 1000:.1f} ms"
    )


@pytest.mark.settings(**SLOW_HASH, **NO_THROTTLE)
async def test_api2_login_timing_does_not_tell_accounts_apart(client: httpx.AsyncClient) -> None:
    await sign_up(client, "alice")
    known, unknown = await interleaved_medians(
        lambda: log_in(client, "alice@example.com", "wrong-password"),
        lambda: log_in(client, "nobody@example.com", "wrong-password"),
        (401, 401),
    )
    assert_comparable(known, unknown)


@pytest.mark.settings(**SLOW_HASH, **NO_THROTTLE)
async def test_api2_registration_timing_does_not_tell_taken_addresses_apart(
    client: httpx.AsyncClient,
) -> None:
    await sign_up(client, "alice")
    counter = iter(range(1000))

    def register(email: str) -> Awaitable[httpx.Response]:
        n = next(counter)
        return client.post(
            "/api/users",
            json={
                "user": {
                    "username": f"user{n}",
                    "email": email or f"user{n}@example.com",
                    "password": PASSWORD,
                }
            },
        )

    taken, free = await interleaved_medians(
        lambda: register("alice@example.com"), lambda: register(""), (409, 201)
    )
    assert_comparable(taken, free)


def test_api2_password_reset_timing_does_not_tell_accounts_apart(tmp_path: Path) -> None:
    """Over a real socket (the in-process client would also wait for work done after the
    response): asking a reset for an account and for an unknown address take alike."""
    server = start_server(tmp_path, extra_env={"RATE_LIMIT_AUTH": "100000/minute"})
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            user = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
            assert http.post("/api/users", json={"user": user}).status_code == 201
            times: tuple[list[float], list[float]] = ([], [])
            for round_ in range(ROUNDS * 2 + 1):
                for index, email in enumerate(("alice@example.com", "nobody@example.com")):
                    started = time.perf_counter()
                    response = http.post("/api/auth/password-reset", json={"email": email})
                    elapsed = time.perf_counter() - started
                    assert response.status_code == 202, response.text
                    if round_:
                        times[index].append(elapsed)
        assert_comparable(statistics.median(times[0]), statistics.median(times[1]))
    finally:
        server.terminate()
