"""Sessions: issuing token pairs, authenticating access tokens, refresh rotation, logout."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.models import AuthSession
from conduit.auth.repository import AuthRepository
from conduit.core.db import MAX_ID, utcnow
from conduit.core.errors import Unauthorized
from conduit.core.security import InvalidToken, TokenCodec
from conduit.users.models import User


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Authenticated:
    user: User
    session_id: str


def _hash(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()


class AuthService:
    def __init__(self, session: AsyncSession, tokens: TokenCodec) -> None:
        self.repo = AuthRepository(session)
        self.tokens = tokens

    def _pair(self, user_id: int, session_id: str, refresh_token: str) -> TokenPair:
        return TokenPair(
            access_token=self.tokens.encode(str(user_id), session_id),
            refresh_token=refresh_token,
            expires_in=self.tokens.ttl_seconds,
        )

    async def start_session(self, user: User) -> TokenPair:
        """A new server-side session for a user who has just proved who they are."""
        now = utcnow()
        refresh_token = secrets.token_urlsafe(32)
        auth_session = AuthSession(
            id=secrets.token_hex(16), user_id=user.id, expires_at=now + self.tokens.refresh_ttl
        )
        await self.repo.add_session(auth_session, _hash(refresh_token))
        return self._pair(user.id, auth_session.id, refresh_token)

    async def authenticate(self, token: str) -> Authenticated:
        """The user and session behind an access token; 401 when either has ended."""
        try:
            claims = self.tokens.decode(token)
            user_id = int(claims.subject)
        except (InvalidToken, ValueError):
            raise Unauthorized("token", "is invalid") from None
        user = None
        if 0 < user_id <= MAX_ID:
            user = await self.repo.live_user(user_id, claims.session_id, utcnow())
        if user is None:
            raise Unauthorized("token", "is invalid")
        return Authenticated(user=user, session_id=claims.session_id)

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
        if auth_session.revoked_at is not None or auth_session.expires_at <= now or not active:
            raise Unauthorized("refresh_token", "is invalid")
        if token.used_at is not None:
            await self.repo.revoke_session(auth_session.id, now)
            raise Unauthorized("refresh_token", "was already used", keep_changes=True)
        token.used_at = now
        new_token = secrets.token_urlsafe(32)
        await self.repo.add_refresh_token(auth_session.id, _hash(new_token))
        return self._pair(auth_session.user_id, auth_session.id, new_token)

    async def logout(self, session_id: str) -> None:
        await self.repo.revoke_session(session_id, utcnow())

    async def logout_all(self, user_id: int) -> None:
        await self.repo.revoke_user_sessions(user_id, utcnow())
