"""OWASP API2:2023 Broken Authentication: tokens and credentials.

Forged, altered and out-of-date JWTs, a refresh token used as an access token, malformed
credentials and two identities in one request: each is refused on a read, an optional-auth
read and a write, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from tests.factories import auth, error_body, log_in, make_key, sign_up
from tests.factories.security import refused_everywhere
from tests.security.support import (
    b64url_decode,
    claims_of,
    hs256,
    hs_token,
    now,
    parts_of,
    rs256,
    rsa_key,
    unsigned,
)

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
        await refused_everywhere(client, auth(forged, scheme))


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
        await refused_everywhere(client, auth(alice["refreshToken"], scheme))
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
