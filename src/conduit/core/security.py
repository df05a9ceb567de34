"""Password hashing (Argon2id, off the event loop) and JWT access tokens (PyJWT)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from conduit.core.config import Settings

# Only this algorithm is ever accepted; "none" and asymmetric algorithms are refused.
ALLOWED_ALGORITHMS = ("HS256", "HS384", "HS512")
TOKEN_ISSUER = "conduit"  # noqa: S105 - a name, not a secret
VERIFIED_TOKENS = 4096  # access tokens whose verified claims are remembered


class PasswordHasher:
    """Argon2id hashing and verification, run in a worker thread."""

    def __init__(self, settings: Settings) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    time_cost=settings.argon2_time_cost,
                    memory_cost=settings.argon2_memory_cost,
                    parallelism=settings.argon2_parallelism,
                ),
            )
        )
        # Verified against when the account does not exist, so that a login for an
        # unknown e-mail costs the same time as one with a wrong password.
        self._dummy_hash = self._hash.hash("conduit-dummy-password")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hash.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        target = password_hash or self._dummy_hash
        ok = await anyio.to_thread.run_sync(self._hash.verify, password, target)
        return ok and password_hash is not None


class InvalidToken(Exception):
    """The token is malformed, forged, expired or otherwise unusable."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    session_id: str
    issued_at: datetime
    expires_at: datetime


class TokenCodec:
    """Signs and verifies JWT access tokens with an explicit algorithm list."""

    def __init__(self, settings: Settings) -> None:
        if settings.jwt_algorithm not in ALLOWED_ALGORITHMS:
            raise ValueError(f"unsupported JWT algorithm {settings.jwt_algorithm!r}")
        self._key = settings.secret_key
        self._algorithm = settings.jwt_algorithm
        self._ttl = timedelta(seconds=settings.access_token_ttl)
        self.refresh_ttl = timedelta(seconds=settings.refresh_token_ttl)
        # token -> its claims, once verified: a signed-in client sends the same token on
        # every request (and the middleware reads it too), and verifying it (base64, HMAC,
        # JSON, PyJWT's checks) costs more than the request's SQL. A remembered token is
        # still refused from its expiry on; what a token cannot say (its session revoked,
        # its user deactivated) is checked in the database on every request regardless.
        self._verified: dict[str, TokenClaims] = {}

    def fingerprint(self, secret: str) -> str:
        """A keyed hash (HMAC-SHA256 with the secret key): what is stored of an API key."""
        return hmac.new(self._key.encode(), secret.encode(), hashlib.sha256).hexdigest()

    @property
    def ttl_seconds(self) -> int:
        return int(self._ttl.total_seconds())

    def encode(self, subject: str, session_id: str, *, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        payload: dict[str, Any] = {
            "sub": subject,
            "sid": session_id,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self._ttl,
            "iss": TOKEN_ISSUER,
            "typ": "access",
        }
        return jwt.encode(payload, self._key, algorithm=self._algorithm)

    def decode(self, token: str) -> TokenClaims:
        claims = self._verified.get(token)
        if claims is not None and datetime.now(UTC) < claims.expires_at:
            return claims
        claims = self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS:  # forget the oldest
            self._verified.pop(next(iter(self._verified)), None)
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                issuer=TOKEN_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss", "sid"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from None
        if (
            payload.get("typ") != "access"
            or not isinstance(payload.get("sub"), str)
            or not isinstance(payload.get("sid"), str)
        ):
            raise InvalidToken("not an access token")
        return TokenClaims(
            subject=payload["sub"],
            session_id=payload["sid"],
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
