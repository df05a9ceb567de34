"""Who is calling, from the request headers alone, for the middleware that runs before the
routes (rate limiting, idempotency). The routes still authenticate every request themselves.

`user_id` is cheap, for counting requests per user: an access token (`Token` or `Bearer`)
is verified (signature, expiry, type) without the database; an `X-API-Key` is looked up
once by its HMAC fingerprint and then remembered for a few minutes in a small LRU.

`verified_user_id` also checks, in the database, that the token's session is live or the
key is live, and that the user is active: for idempotency, where a stored response may be
replayed without reaching the route.

Anything else (no credentials, unusable ones, both headers at once) is anonymous: None.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from sqlalchemy.exc import SQLAlchemyError
from starlette.datastructures import Headers

from conduit.auth.credentials import read_credentials
from conduit.auth.repository import AuthRepository
from conduit.core.db import Database, utcnow
from conduit.core.errors import ServiceUnavailable
from conduit.core.faults import log_failure
from conduit.core.security import InvalidToken, TokenClaims, TokenCodec

logger = logging.getLogger("conduit.auth")

_SCHEMES = frozenset({"token", "bearer"})
CACHE_SIZE = 4096  # API keys remembered
CACHE_TTL = 300.0  # seconds an API key's owner is remembered


class IdentityResolver:
    def __init__(
        self,
        db: Database,
        tokens: TokenCodec,
        *,
        cache_size: int = CACHE_SIZE,
        cache_ttl: float = CACHE_TTL,
    ) -> None:
        self.db = db
        self.tokens = tokens
        self._cache_size = cache_size
        self._cache_ttl = cache_ttl
        self._owners: OrderedDict[str, tuple[int, float]] = OrderedDict()

    async def user_id(self, headers: Headers) -> int | None:
        """The caller's user id as the credentials claim it (not checked for revocation)."""
        token, key = _credentials(headers)
        if token is not None:
            claims = self._claims(token)
            return None if claims is None else claims.user_id
        if key is None:
            return None
        fingerprint = self.tokens.fingerprint(key)
        cached = self._owners.get(fingerprint)
        if cached is not None and cached[1] > time.monotonic():
            self._owners.move_to_end(fingerprint)
            return cached[0]
        try:
            owner = await self._key_owner(fingerprint)
        except (SQLAlchemyError, OSError, ServiceUnavailable) as exc:
            # Counted as anonymous: the route looks the key up again and answers for it.
            log_failure(logger, "API key lookup failed; counted as anonymous", exc)
            return None
        if owner is not None:
            self._remember(fingerprint, owner)
        return owner

    async def token_user_id(self, headers: Headers) -> int | None:
        """The user id an access token names (signature and expiry checked), with no query:
        only to route the caller's reads (core/replicas.py), it grants nothing."""
        token, _ = _credentials(headers)
        claims = None if token is None else self._claims(token)
        return None if claims is None else claims.user_id

    async def verified_user_id(self, headers: Headers) -> int | None:
        """The caller's user id, if the session or key is live and the user active."""
        token, key = _credentials(headers)
        if token is not None:
            claims = self._claims(token)
            if claims is None:
                return None
            async with self.db.session(write=False) as session:
                user = await AuthRepository(session).live_user(
                    claims.user_id, claims.session_id, utcnow()
                )
            return None if user is None else user.id
        if key is None:
            return None
        return await self._key_owner(self.tokens.fingerprint(key))

    def _claims(self, token: str) -> TokenClaims | None:
        try:
            return self.tokens.decode(token)
        except InvalidToken:
            return None

    async def _key_owner(self, fingerprint: str) -> int | None:
        async with self.db.session(write=False) as session:
            return await AuthRepository(session).key_owner(fingerprint, utcnow())

    def _remember(self, fingerprint: str, owner: int) -> None:
        self._owners[fingerprint] = (owner, time.monotonic() + self._cache_ttl)
        self._owners.move_to_end(fingerprint)
        while len(self._owners) > self._cache_size:
            self._owners.popitem(last=False)


def _credentials(headers: Headers) -> tuple[str | None, str | None]:
    """(access token, API key); unusable credentials count as none (the routes refuse them)."""
    credentials = read_credentials(headers)
    return credentials.token, credentials.key
