"""OWASP API2:2023 Broken Authentication.

Forged, altered and out-of-date JWTs; credentials of ended sessions and of deactivated or
deleted users; malformed credentials; and user enumeration through the bodies and the
timing of login, registration and password reset.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from conduit.core.config import Settings
from tests.factories import PASSWORD, auth, error_body, log_in, sign_up
from tests.live import start_server
from tests.security.support import (
    b64url_decode,
    claims_of,
    hs256,
    hs_token,
    make_key,
    now,
    parts_of,
    rs256,
    rsa_key,
    set_standing,
    staff_token,
    unsigned,
)

INVALID = {"errors": {"token": ["is invalid"]}}
OTHER_KEY = "another-secret-key-that-is-long-enough-for-hs256"

Claims = dict[str, Any]
# A forgery: from a genuine token's claims, the genuine token itself, the app's settings and
# another user's subject, make the token an attacker would send.
Forge = Callable[[Claims, str, Settings, str], str]


def _without(claim: str) -> Forge:
    def forge(claims: Claims, _token: str, settings: Settings, _other: str) -> str:
        return hs256({k: v for k, v in claims.items() if k != claim}, settings.secret_key)

    return forge


def _with(**changes: Any) -> Forge:
    def forge(claims: Claims, _token: str, settings: Settings, _other: str) -> str:
        return hs256({**claims, **changes}, settings.secret_key)

    return forge


def _tampered(claims: Claims, token: str, _settings: Settings, other: str) -> str:
    """Another user's id in the payload, the genuine header and signature kept."""
    header, _, signature = token.split(".")
    payload = hs256({**claims, "sub": other}, "x").split(".")[1]
    return f"{header}.{payload}.{signature}"


def _role_added(claims: Claims, token: str, _settings: Settings, _other: str) -> str:
    header, _, signature = token.split(".")
    payload = hs256({**claims, "role": "admin", "admin": True}, "x").split(".")[1]
    return f"{header}.{payload}.{signature}"


FORGERIES: dict[str, Forge] = {
    "alg-none": lambda c, t, s, o: unsigned(c, "none"),
    "alg-None": lambda c, t, s, o: unsigned(c, "None"),
    "alg-NONE": lambda c, t, s, o: unsigned(c, "NONE"),
    "alg-none-keeping-the-signature": lambda c, t, s, o: unsigned(c, "none", t.split(".")[2]),
    "signature-stripped": lambda c, t, s, o: t.rsplit(".", 1)[0] + ".",
    "rs256-validly-signed": lambda c, t, s, o: rs256(c, rsa_key()),
    "rs256-with-embedded-jwk": lambda c, t, s, o: rs256(c, rsa_key(), jwk=rsa_key().jwk()),
    "hs256-keyed-with-a-public-key": lambda c, t, s, o: hs256(c, rsa_key().public_pem()),
    "rs256-header-hmac-with-public-key": lambda c, t, s, o: hs_token(
        {"alg": "RS256", "typ": "JWT"}, c, rsa_key().public_pem(), "sha256"
    ),
    "wrong-key": lambda c, t, s, o: hs256(c, OTHER_KEY),
    "empty-key-and-kid-traversal": lambda c, t, s, o: hs256(c, b"", kid="../../../../dev/null"),
    "kid-sql-injection": lambda c, t, s, o: hs256(c, b"x", kid="x' UNION SELECT 'x' --"),
    "hs512-not-the-configured-algorithm": lambda c, t, s, o: hs_token(
        {"alg": "HS512", "typ": "JWT"}, c, s.secret_key.encode(), "sha512"
    ),
    "expired": lambda c, t, s, o: hs256(
        {**c, "iat": now() - 7200, "nbf": now() - 7200, "exp": now() - 60}, s.secret_key
    ),
    "not-yet-valid": lambda c, t, s, o: hs256(
        {**c, "nbf": now() + 3600, "exp": now() + 7200}, s.secret_key
    ),
    "tampered-subject": _tampered,
    "tampered-role-claim": _role_added,
    "missing-sub": _without("sub"),
    "missing-sid": _without("sid"),
    "missing-exp": _without("exp"),
    "missing-iat": _without("iat"),
    "missing-iss": _without("iss"),
    "missing-typ": _without("typ"),
    "wrong-issuer": _with(iss="someone-else"),
    "typ-refresh": _with(typ="refresh"),
    "unknown-session": _with(sid="0" * 32),
    "sub-not-a-number": _with(sub="alice"),
    "sub-as-integer": lambda c, t, s, o: hs256({**c, "sub": int(c["sub"])}, s.secret_key),
    "sub-out-of-range": _with(sub="9" * 40),
    "sub-negative": _with(sub="-1"),
    "sub-zero": _with(sub="0"),
    "exp-not-a-number": _with(exp="tomorrow"),
}


async def _refused_everywhere(client: httpx.AsyncClient, header: dict[str, str]) -> None:
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


async def test_api2_the_forgery_harness_accepts_a_genuine_remade_token(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Guards the forgeries below: the claims re-signed the right way are accepted, so each
    refusal is due to what the forgery changed."""
    alice = await sign_up(client, "alice")
    remade = hs256(claims_of(alice["token"]), settings.secret_key)
    response = await client.get("/api/user", headers=auth(remade))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "alice"


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_api2_forged_jwt_is_refused(
    client: httpx.AsyncClient, settings: Settings, forge: Forge
) -> None:
    alice = await sign_up(client, "alice")
    bob = await sign_up(client, "bob")
    forged = forge(
        claims_of(alice["token"]), alice["token"], settings, claims_of(bob["token"])["sub"]
    )
    assert forged != alice["token"]
    for scheme in ("Token", "Bearer"):
        await _refused_everywhere(client, auth(forged, scheme))


def test_api2_rsa_forgeries_are_really_rs256() -> None:
    """The RS256 forgery is a genuine RS256 token (header, key size, signature length), so
    its refusal shows that the server pins its algorithm, not that the token was garbage."""
    key = rsa_key()
    header, _, signature = parts_of(rs256({"sub": "1"}, key))
    assert header["alg"] == "RS256"
    assert key.n.bit_length() == 2048
    assert len(b64url_decode(signature)) == key.size
    assert b"BEGIN PUBLIC KEY" in key.public_pem()


async def test_api2_a_refresh_token_is_not_an_access_token(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice")
    for scheme in ("Token", "Bearer"):
        await _refused_everywhere(client, auth(alice["refreshToken"], scheme))
    # ...and an access token is not a refresh token.
    response = await client.post("/api/auth/refresh", json={"refresh_token": alice["token"]})
    assert response.status_code in (401, 422), response.text  # 422: longer than any refresh token
    assert list(error_body(response)["errors"]) == ["refresh_token"]


@pytest.mark.parametrize(
    "header",
    [
        {"Authorization": "Token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Token a.b.c"},
        {"Authorization": "Token one two"},
        {"Authorization": "Basic YWxpY2VAZXhhbXBsZS5jb206cGFzc3dvcmQxMjM="},
        {"Authorization": "Token " + "A" * 10_000},
        {"X-API-Key": "cdt_" + "A" * 43},
        {"X-API-Key": "not-a-conduit-key"},
        {"X-API-Key": "cdt_" + "A" * 5_000},
    ],
    ids=[
        "token-scheme-alone",
        "bearer-blank",
        "three-dots",
        "two-words",
        "basic-credentials",
        "huge-token",
        "unknown-api-key",
        "foreign-api-key",
        "huge-api-key",
    ],
)
async def test_api2_malformed_credentials_are_refused(
    client: httpx.AsyncClient, header: dict[str, str]
) -> None:
    await sign_up(client, "alice")
    response = await client.get("/api/user", headers=header)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"]
    write = await client.post("/api/profiles/alice/follow", headers=header)
    assert write.status_code == 401, write.text


async def test_api2_both_a_token_and_an_api_key_are_refused(client: httpx.AsyncClient) -> None:
    """Two identities in one request: refused, not silently resolved to either."""
    alice = await sign_up(client, "alice")
    await sign_up(client, "bob")
    key = await make_key(client, alice["token"], ["profile:write"])
    bob_login = await log_in(client, "bob@example.com")
    both = {**auth(bob_login.json()["user"]["token"]), "X-API-Key": key["key"]}
    response = await client.get("/api/user", headers=both)
    assert response.status_code == 401, response.text


async def test_api2_ended_sessions_stay_ended(client: httpx.AsyncClient) -> None:
    """Logout, logout-all and refresh-token reuse each end access and refresh at once."""
    first = await sign_up(client, "alice")
    assert (await client.post("/api/auth/logout", headers=auth(first["token"]))).status_code == 204
    await _refused_everywhere(client, auth(first["token"]))
    spent = await client.post("/api/auth/refresh", json={"refresh_token": first["refreshToken"]})
    assert spent.status_code == 401

    second = (await log_in(client, "alice@example.com")).json()["user"]
    third = (await log_in(client, "alice@example.com")).json()["user"]
    assert (
        await client.post("/api/auth/logout-all", headers=auth(second["token"]))
    ).status_code == 204
    for ended in (second, third):
        await _refused_everywhere(client, auth(ended["token"]))

    # A stolen refresh token used after its owner rotated it revokes the whole session.
    fourth = (await log_in(client, "alice@example.com")).json()["user"]
    rotated = await client.post("/api/auth/refresh", json={"refresh_token": fourth["refreshToken"]})
    assert rotated.status_code == 200
    replay = await client.post("/api/auth/refresh", json={"refresh_token": fourth["refreshToken"]})
    assert replay.status_code == 401
    await _refused_everywhere(client, auth(rotated.json()["access_token"]))
    again = await client.post(
        "/api/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert again.status_code == 401


async def test_api2_a_deactivated_users_tokens_keys_and_login_are_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await staff_token(client, settings, "root")
    alice = await sign_up(client, "alice")
    key = await make_key(client, alice["token"], ["articles:write"])

    await set_standing(client, admin, "alice", active=False)

    await _refused_everywhere(client, auth(alice["token"]))
    by_key = await client.get("/api/user", headers={"X-API-Key": key["key"]})
    assert by_key.status_code == 401, by_key.text
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": alice["refreshToken"]}
    )
    assert refreshed.status_code == 401
    login = await log_in(client, "alice@example.com")
    assert login.status_code == 403, login.text
    assert "token" not in login.text

    # Reactivation lets her log in again but does not revive the old session.
    await set_standing(client, admin, "alice", active=True)
    await _refused_everywhere(client, auth(alice["token"]))
    assert (await log_in(client, "alice@example.com")).status_code == 200


async def test_api2_a_deleted_users_token_does_not_reach_whoever_comes_next(
    client: httpx.AsyncClient, app: Any
) -> None:
    """After the account row is gone, its token is refused, even when a new account takes
    the same id (SQLite reuses the highest rowid)."""
    alice = await sign_up(client, "alice")
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE username = 'alice'"))
    await _refused_everywhere(client, auth(alice["token"]))

    mallory = await sign_up(client, "mallory")
    await _refused_everywhere(client, auth(alice["token"]))
    me = await client.get("/api/user", headers=auth(mallory["token"]))
    assert me.json()["user"]["username"] == "mallory"


async def test_api2_a_changed_password_ends_every_other_session(client: httpx.AsyncClient) -> None:
    """Whoever holds a stolen session loses it when the owner changes the password; the
    session that made the change carries on."""
    alice = await sign_up(client, "alice")
    thief = (await log_in(client, "alice@example.com")).json()["user"]

    response = await client.put(
        "/api/user", json={"user": {"password": "a-new-password-1"}}, headers=auth(alice["token"])
    )
    assert response.status_code == 200, response.text

    await _refused_everywhere(client, auth(thief["token"]))
    stolen = await client.post("/api/auth/refresh", json={"refresh_token": thief["refreshToken"]})
    assert stolen.status_code == 401
    assert (await client.get("/api/user", headers=auth(alice["token"]))).status_code == 200
    assert (await log_in(client, "alice@example.com")).status_code == 401
    assert (await log_in(client, "alice@example.com", "a-new-password-1")).status_code == 200


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
