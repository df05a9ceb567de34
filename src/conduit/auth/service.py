"""Sessions: issuing token pairs, authenticating access tokens, refresh rotation, logout."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.activity import SessionActivity
from conduit.auth.credentials import KEY_PREFIX
from conduit.auth.models import ApiKey
from conduit.auth.permissions import Role, Scope
from conduit.auth.principal import Principal
from conduit.auth.repository import AuthRepository
from conduit.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from conduit.core.db import utcnow
from conduit.core.errors import Forbidden, NotFound, Unauthorized
from conduit.core.pagination import NumberedPage
from conduit.core.security import InvalidToken, TokenCodec


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _hash(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class AuthService:
    def __init__(
        self, session: AsyncSession, tokens: TokenCodec, activity: SessionActivity | None = None
    ) -> None:
        self.repo = AuthRepository(session)
        self.tokens = tokens
        self.activity = activity  # records each use of a session (None: not recorded)

    def _pair(self, user_id: int, session_id: str, refresh_token: str) -> TokenPair:
        return TokenPair(
            access_token=self.tokens.encode(str(user_id), session_id),
            refresh_token=refresh_token,
            expires_in=self.tokens.ttl_seconds,
        )

    async def start_session(self, user_id: int, *, session_token: bool = False) -> TokenPair:
        """A new server-side session for a user who has just proved who they are.

        `session_token`: the access token lasts as long as the session may (RealWorld
        clients have no refresh and keep the token they were given). It is checked against
        the session in the database on every request like any other, so logout, password
        change and deactivation end it at once, and so does idleness (docs/api.md,
        "Sessions and tokens")."""
        pair = await self._open(user_id, None, session_token)
        assert pair is not None  # an unconditional INSERT
        return pair

    async def start_confirmed_session(
        self, user_id: int, password_hash: str, *, session_token: bool = False
    ) -> TokenPair | None:
        """`start_session` for a login verified before its unit of work began: None, and
        nothing written, unless the account is still active with `password_hash`."""
        return await self._open(user_id, password_hash, session_token)

    async def _open(
        self, user_id: int, password_hash: str | None, session_token: bool
    ) -> TokenPair | None:
        now = utcnow()
        refresh_token = secrets.token_urlsafe(32)
        session_id = secrets.token_hex(16)
        expires_at = now + self.tokens.refresh_ttl
        params = {
            "session_id": session_id,
            "user_id": user_id,
            "now": now,
            "expires_at": expires_at,
            "idle_expires_at": now + self.tokens.idle_ttl,
            "token_hash": _hash(refresh_token),
        }
        if password_hash is not None:
            params["password_hash"] = password_hash
        if not await self.repo.add_session(params, confirmed=password_hash is not None):
            return None
        if self.activity is not None:
            self.activity.started(session_id)
        if not session_token:
            return self._pair(user_id, session_id, refresh_token)
        access_token = self.tokens.encode(str(user_id), session_id, now=now, expires_at=expires_at)
        expires_in = int((expires_at - now).total_seconds())
        return TokenPair(access_token, refresh_token, expires_in)

    async def authenticate(self, token: str) -> Principal:
        """The user and session behind an access token; 401 when either has ended."""
        user_id, session_id = self.claims(token)
        user = await self.repo.live_user(user_id, session_id, utcnow())
        if user is None:
            raise Unauthorized("token", "is invalid")
        return Principal(user.id, user, token=token, session_id=session_id)

    def unconfirmed(self, token: str) -> Principal:
        """The caller an access token names, from its signature and expiry alone: a read
        confirms its session in its own statement (`Principal.token_check`)."""
        user_id, session_id = self.claims(token)
        return Principal.unconfirmed(user_id, session_id, token)

    def claims(self, token: str) -> tuple[int, str]:
        """The user and session an access token names, from its signature and expiry alone
        (not whether the session is still live); 401 when it is not a valid token."""
        try:
            claims = self.tokens.decode(token)
        except InvalidToken:
            raise Unauthorized("token", "is invalid") from None
        if self.activity is not None:
            self.activity.used(self.repo.session, claims.session_id)
        return claims.user_id, claims.session_id

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent and a new pair issued.

        Presenting a token that was already spent means it leaked (or a client replayed
        it): the whole session is revoked, its access tokens included.
        """
        now = utcnow()
        found = await self.repo.refresh_token(_hash(refresh_token))
        if found is None:
            raise Unauthorized("refresh_token", "is invalid")
        token, auth_session, active = found
        if (
            auth_session.revoked_at is not None
            or min(auth_session.expires_at, auth_session.idle_expires_at) <= now
            or not active
        ):
            raise Unauthorized("refresh_token", "is invalid")
        if token.used_at is not None:
            await self.repo.revoke_session(auth_session.id, now)
            raise Unauthorized("refresh_token", "was already used", keep_changes=True)
        token.used_at = now
        auth_session.idle_expires_at = now + self.tokens.idle_ttl
        new_token = secrets.token_urlsafe(32)
        await self.repo.add_refresh_token(auth_session.id, _hash(new_token), now)
        return self._pair(auth_session.user_id, auth_session.id, new_token)

    async def logout(self, session_id: str) -> None:
        await self.repo.revoke_session(session_id, utcnow())

    async def logout_all(self, user_id: int) -> None:
        await self.repo.revoke_user_sessions(user_id, utcnow())

    async def logout_others(self, user_id: int, keep_session_id: str) -> None:
        """End every session of the user but the one making the request."""
        await self.repo.revoke_user_sessions(user_id, utcnow(), keep=keep_session_id)

    # --- API keys ----------------------------------------------------------------

    async def authenticate_key(self, key: str) -> Principal:
        """The owner of a live API key (of the shape `auth.credentials` lets through), with
        its scopes; the key's use is recorded. 401 otherwise."""
        found = await self.repo.use_key(self.tokens.fingerprint(key), utcnow())
        user = await self.repo.active_identity(found[0]) if found else None
        if found is None or user is None:
            raise Unauthorized("api_key", "is invalid")
        return Principal(user.id, user, scopes=_scopes(found[1]))

    async def create_key(self, principal: Principal, data: ApiKeyCreate) -> ApiKeyCreated:
        if Scope.ADMIN in data.scopes and principal.role is not Role.ADMIN:
            raise Forbidden("scopes", "admin is only for an admin's keys")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + timedelta(days=data.expires_in_days) if data.expires_in_days else None
        scopes = sorted(set(data.scopes))
        row = await self.repo.add_key(
            ApiKey(
                user_id=principal.user_id,
                name=data.name,
                prefix=key[: len(KEY_PREFIX) + 8],
                key_hash=self.tokens.fingerprint(key),
                scopes=" ".join(scopes),
                created_at=now,
                expires_at=expires,
            )
        )
        return ApiKeyCreated(
            id=row.id,
            name=row.name,
            key=key,
            prefix=row.prefix,
            scopes=scopes,
            created_at=row.created_at,
            expires_at=row.expires_at,
        )

    async def list_keys(self, user_id: int, page: NumberedPage) -> tuple[list[ApiKeyRead], int]:
        rows = await self.repo.list_keys(user_id, limit=page.limit, offset=page.offset)
        items = [
            ApiKeyRead(
                id=row.id,
                name=row.name,
                prefix=row.prefix,
                scopes=sorted(_scopes(row.scopes)),
                created_at=row.created_at,
                expires_at=row.expires_at,
                last_used_at=row.last_used_at,
            )
            for row in rows
        ]
        return items, await self.repo.count_keys(user_id)

    async def revoke_key(self, user_id: int, key_id: int) -> None:
        if not await self.repo.revoke_key(key_id, user_id, utcnow()):
            raise NotFound("api_key")


def _scopes(stored: str) -> frozenset[Scope]:
    return frozenset(Scope(name) for name in stored.split())
