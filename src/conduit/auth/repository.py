"""All SQL for sessions and refresh tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.models import AuthSession, RefreshToken
from conduit.users.models import User


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_session(self, auth_session: AuthSession, token_hash: str) -> None:
        self.session.add(auth_session)
        self.session.add(RefreshToken(token_hash=token_hash, session_id=auth_session.id))
        await self.session.flush()

    async def add_refresh_token(self, session_id: str, token_hash: str) -> None:
        self.session.add(RefreshToken(token_hash=token_hash, session_id=session_id))
        await self.session.flush()

    async def live_user(self, user_id: int, session_id: str, now: datetime) -> User | None:
        """The active user of a session that is neither revoked nor expired."""
        stmt = (
            select(User)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                AuthSession.id == session_id,
                User.id == user_id,
                User.active.is_(True),
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > now,
            )
        )
        return (await self.session.scalars(stmt)).first()

    async def refresh_token(self, token_hash: str) -> tuple[RefreshToken, AuthSession, bool] | None:
        """A refresh token, its session and whether its user is active; locked, so that two
        refreshes with one token cannot both win."""
        stmt = (
            select(RefreshToken, AuthSession, User.active)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .join(User, User.id == AuthSession.user_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update(of=[RefreshToken, AuthSession])
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[0], row[1], bool(row[2]))

    async def revoke_session(self, session_id: str, now: datetime) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user_sessions(self, user_id: int, now: datetime) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
