"""Access tokens: what they contain, and every way a bad one is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import text

from conduit.core import security
from conduit.core.config import Settings
from conduit.core.security import InvalidToken, TokenCodec
from tests.factories import PASSWORD, auth, register

INVALID = {"token": ["is invalid"]}


# --- helpers ----------------------------------------------------------------------


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(token: str, settings: Settings) -> dict[str, Any]:
    """The payload of a token the app issued, verified with the app's own key."""
    payload: dict[str, Any] = jwt.decode(
        token, settings.secret_key, algorithms=["HS256"], issuer="conduit"
    )
    return payload


def valid_claims(token: str, settings: Settings, **overrides: Any) -> dict[str, Any]:
    """The claims of a real token, with some replaced: forge from a genuine starting point."""
    return {**claims_of(token, settings), **overrides}


async def assert_token_refused(
    client: httpx.AsyncClient, header: str, path: str = "/api/user"
) -> None:
    response = await client.get(path, headers={"Authorization": header})
    assert response.status_code == 401, response.text
    assert response.json()["errors"] == INVALID
    assert response.headers.get("WWW-Authenticate")


# --- what a token is ---------------------------------------------------------------


async def test_token_is_an_hs256_jwt_with_standard_claims(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await register(client, "alice")

    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = claims_of(token, settings)
    assert {"sub", "iat", "exp"} <= set(claims)
    assert isinstance(claims["sub"], str)
    assert claims["sub"].isdigit()
    # A RealWorld client has no refresh: its token lasts as long as its session may.
    assert claims["exp"] - claims["iat"] == settings.refresh_token_ttl
    now = datetime.now(UTC).timestamp()
    assert claims["iat"] <= now + 5
    assert claims["exp"] > now


async def test_token_carries_no_personal_data(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await register(client, "alice")

    payload = json.dumps(claims_of(token, settings))

    assert "alice" not in payload
    assert "password" not in payload


async def test_login_and_registration_tokens_name_the_same_user(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    registered = await register(client, "alice")
    response = await client.post(
        "/api/users/login",
        json={"user": {"email": "alice@example.com", "password": PASSWORD}},
    )
    logged_in = response.json()["user"]["token"]

    assert claims_of(logged_in, settings)["sub"] == claims_of(registered, settings)["sub"]


# --- forged and unusable tokens ------------------------------------------------------


async def test_token_signed_with_another_key_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await register(client, "alice")
    forged = jwt.encode(
        valid_claims(token, settings), "another-secret-key-that-is-long-enough", algorithm="HS256"
    )

    await assert_token_refused(client, f"Token {forged}")


async def test_token_with_alg_none_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await register(client, "alice")
    header = b64url({"alg": "none", "typ": "JWT"})
    payload = b64url(valid_claims(token, settings))

    await assert_token_refused(client, f"Token {header}.{payload}.")


async def test_expired_token_is_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    token = await register(client, "alice")
    issued = datetime.now(UTC) - timedelta(hours=2)
    expired = jwt.encode(
        {
            "sub": claims_of(token, settings)["sub"],
            "iat": issued,
            "nbf": issued,
            "exp": issued + timedelta(hours=1),
            "iss": "conduit",
            "typ": "access",
        },
        settings.secret_key,
        algorithm="HS256",
    )

    await assert_token_refused(client, f"Token {expired}")


async def test_hand_made_token_signed_with_the_right_key_is_accepted(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    """Guards the forgery tests above: the same hand-made token, correctly signed, works."""
    token = await register(client, "alice")
    remade = jwt.encode(valid_claims(token, settings), settings.secret_key, algorithm="HS256")

    response = await client.get("/api/user", headers=auth(remade))

    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == "alice"


@pytest.mark.parametrize("claim", ["sub", "exp", "iss"])
async def test_token_missing_a_required_claim_is_refused(
    client: httpx.AsyncClient, settings: Settings, claim: str
) -> None:
    token = await register(client, "alice")
    claims = valid_claims(token, settings)
    del claims[claim]

    await assert_token_refused(
        client, f"Token {jwt.encode(claims, settings.secret_key, algorithm='HS256')}"
    )


async def test_token_for_a_nonexistent_subject_is_refused(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = await register(client, "alice")
    claims = valid_claims(token, settings, sub="999999")

    await assert_token_refused(
        client, f"Token {jwt.encode(claims, settings.secret_key, algorithm='HS256')}"
    )


@pytest.mark.parametrize(
    "header",
    [
        "Token not-a-jwt",
        "Token a.b.c",
        "Token eyJhbGciOiJIUzI1NiJ9.garbage.garbage",
        "Basic dXNlcjpwYXNz",
        "Token",
        "Bearer",
        "Token one two",
    ],
)
async def test_malformed_authorization_header_is_refused(
    client: httpx.AsyncClient, header: str
) -> None:
    await assert_token_refused(client, header)


async def test_unknown_scheme_with_a_valid_token_is_refused(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")

    await assert_token_refused(client, f"Basic {token}")


async def test_token_of_a_deleted_user_is_refused(client: httpx.AsyncClient, app: Any) -> None:
    token = await register(client, "alice")
    async with app.state.db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM users WHERE username = :name"), {"name": "alice"})

    await assert_token_refused(client, f"Token {token}")


async def test_invalid_token_on_an_optional_auth_endpoint_is_refused(
    client: httpx.AsyncClient,
) -> None:
    anonymous = await client.get("/api/articles")
    assert anonymous.status_code == 200, anonymous.text

    await assert_token_refused(client, "Token not-a-jwt", path="/api/articles")


async def test_invalid_token_on_a_profile_is_refused(client: httpx.AsyncClient) -> None:
    await register(client, "alice")

    await assert_token_refused(client, "Token not-a-jwt", path="/api/profiles/alice")


def test_a_remembered_token_still_expires(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The codec remembers the claims of the tokens it verified (a client sends the same
    token on every request): a remembered token is refused from its expiry on all the same,
    and a forged one is never remembered."""
    codec = TokenCodec(settings)
    token = codec.encode("7", "a-session")
    claims = codec.decode(token)
    assert codec.decode(token) is claims  # remembered, not verified again

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return claims.expires_at + timedelta(seconds=1)

    monkeypatch.setattr(security, "datetime", Later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)  # PyJWT's clock too
    with pytest.raises(InvalidToken):
        codec.decode(token)
    monkeypatch.undo()

    header, _, signature = token.split(".")
    forged = f"{header}.{b64url({**valid_claims(token, settings), 'sub': '8'})}.{signature}"
    for _ in range(2):
        with pytest.raises(InvalidToken):
            codec.decode(forged)


# --- a token of the wrong kind is a wrong token, not malformed input -------------------


async def test_an_access_token_sent_where_another_kind_is_expected_is_refused_as_such(
    client: httpx.AsyncClient,
) -> None:
    access_token = await register(client, "alice")

    refreshed = await client.post("/api/auth/refresh", json={"refresh_token": access_token})
    assert refreshed.status_code == 401, refreshed.text
    assert refreshed.json()["errors"] == {"refresh_token": ["is invalid"]}
    for path, body in (
        ("/api/auth/verify-email/confirm", {"token": access_token}),
        ("/api/auth/password-reset/confirm", {"token": access_token, "password": PASSWORD * 2}),
    ):
        response = await client.post(path, json=body)
        assert response.status_code == 400, (path, response.text)
        assert list(response.json()["errors"]) == ["token"], path
