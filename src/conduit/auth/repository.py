"""All SQL for sessions and refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Insert,
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.models import ApiKey, AuthSession, EmailToken, RefreshToken, live_session
from conduit.auth.schemas import SignedInUser
from conduit.core.db import UTCDateTime
from conduit.core.reads import HotRead
from conduit.users.models import User

_users = User.__table__

# The token check runs on every signed-in request but the article reads (which make it in
# their own statement, see `Principal.token_check`): one Core statement, built once and run
# with bound parameters, returning only the columns of `SignedInUser`.
_SIGNED_IN_COLUMNS = (
    _users.c.id,
    _users.c.username,
    _users.c.email,
    _users.c.bio,
    _users.c.image,
    _users.c.role,
    _users.c.email_verified,
)
_LIVE_USER = HotRead(select(*_SIGNED_IN_COLUMNS).where(live_session()))
_ACTIVE_USER = select(*_SIGNED_IN_COLUMNS).where(
    _users.c.id == bindparam("user_id", type_=Integer), _users.c.active == true()
)

# A new session and its first refresh token, as Core statements on the tables built once
# (an ORM flush, or a statement built per call, costs more than the INSERT itself). Their
# parameters: session_id, user_id, now, expires_at, idle_expires_at, token_hash and, for a
# confirmed session, password_hash.
_sessions = cast(Table, AuthSession.__table__)
_refresh_tokens = cast(Table, RefreshToken.__table__)
_NOW = bindparam("now", type_=UTCDateTime)
_SESSION_ID = bindparam("session_id", type_=String)
_NEW_REFRESH_TOKEN = insert(_refresh_tokens).values(
    token_hash=bindparam("token_hash", type_=String), session_id=_SESSION_ID, created_at=_NOW
)


def _new_session(confirmed: bool) -> Insert:
    """The session's INSERT; `confirmed`: only while the user's row is active and still has
    the password hash the login was verified against, so that a password changed or an
    account deactivated while Argon2 ran opens nothing."""
    user_id = bindparam("user_id", type_=Integer)
    expiries = (
        bindparam("expires_at", type_=UTCDateTime),
        bindparam("idle_expires_at", type_=UTCDateTime),
    )
    columns = ("id", "user_id", "created_at", "expires_at", "idle_expires_at")
    if not confirmed:
        values = (_SESSION_ID, user_id, _NOW, *expiries)
        return insert(_sessions).values(dict(zip(columns, values, strict=True)))
    source = select(_SESSION_ID, _users.c.id, _NOW, *expiries).where(
        _users.c.id == user_id,
        _users.c.password_hash == bindparam("password_hash", type_=String),
        _users.c.active == true(),
    )
    return insert(_sessions).from_select(columns, source)


def _session_with_token(confirmed: bool) -> Insert:
    """PostgreSQL: both rows in one statement, the token inserted from the session's
    RETURNING (no session, no token)."""
    opened = _new_session(confirmed).returning(_sessions.c.id).cte("opened")
    return insert(_refresh_tokens).from_select(
        ("token_hash", "session_id", "created_at"),
        select(bindparam("token_hash", type_=String), opened.c.id, _NOW),
    )


_NEW_SESSION = {confirmed: _new_session(confirmed) for confirmed in (False, True)}
_NEW_SESSION_WITH_TOKEN = {confirmed: _session_with_token(confirmed) for confirmed in (False, True)}


def _rowcount(result: Result[Any]) -> int:
    return int(cast("CursorResult[Any]", result).rowcount)


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_session(self, params: dict[str, Any], *, confirmed: bool = False) -> bool:
        """Insert a session and its first refresh token (the parameters of `_new_session`
        and `token_hash`). False when `confirmed` and the user's row no longer matches (the
        password changed, the account deactivated or gone): then nothing is written."""
        if self.session.get_bind().dialect.name == "postgresql":
            result = await self.session.execute(_NEW_SESSION_WITH_TOKEN[confirmed], params)
            return _rowcount(result) == 1
        # SQLite: a WITH clause cannot hold an INSERT.
        result = await self.session.execute(_NEW_SESSION[confirmed], params)
        if _rowcount(result) != 1:
            return False
        await self.session.execute(_NEW_REFRESH_TOKEN, params)
        return True

    async def add_refresh_token(self, session_id: str, token_hash: str, now: datetime) -> None:
        params = {"session_id": session_id, "token_hash": token_hash, "now": now}
        await self.session.execute(_NEW_REFRESH_TOKEN, params)

    async def live_user(self, user_id: int, session_id: str, now: datetime) -> SignedInUser | None:
        """The active user of a session that is neither revoked nor expired."""
        params = {"session_id": session_id, "viewer_id": user_id, "now": now}
        row = await _LIVE_USER.first(self.session, params)
        return None if row is None else SignedInUser(*row)

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

    async def extend_idle(self, session_id: str, idle_expires_at: datetime) -> None:
        """Move a live session's idle expiry forward (never back)."""
        await self.session.execute(
            update(AuthSession)
            .where(
                AuthSession.id == session_id,
                AuthSession.revoked_at.is_(None),
                AuthSession.idle_expires_at < idle_expires_at,
            )
            .values(idle_expires_at=idle_expires_at)
        )

    async def revoke_session(self, session_id: str, now: datetime) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user_sessions(
        self, user_id: int, now: datetime, *, keep: str | None = None
    ) -> None:
        """End every live session of the user, except `keep` when given."""
        stmt = update(AuthSession).where(
            AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)
        )
        if keep is not None:
            stmt = stmt.where(AuthSession.id != keep)
        await self.session.execute(stmt.values(revoked_at=now))

    # --- API keys ----------------------------------------------------------------

    async def add_key(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def list_keys(self, user_id: int, *, limit: int, offset: int) -> list[ApiKey]:
        stmt = (
            select(ApiKey)
            .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.id)
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.scalars(stmt)).all())

    async def count_keys(self, user_id: int) -> int:
        stmt = select(func.count()).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        return int((await self.session.execute(stmt)).scalar_one())

    async def revoke_key(self, key_id: int, user_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=now)
            .returning(ApiKey.id)
        )
        return result.first() is not None

    async def use_key(self, key_hash: str, now: datetime) -> tuple[int, str] | None:
        """Record the use of a live key; its owner's id and scopes, or None.

        One UPDATE ... RETURNING: on SQLite the write lock is taken by the transaction's
        first statement, so concurrent requests queue rather than fail.
        """
        result = await self.session.execute(
            update(ApiKey)
            .where(
                ApiKey.key_hash == key_hash,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
            .values(last_used_at=now)
            .returning(ApiKey.user_id, ApiKey.scopes)
        )
        row = result.first()
        return None if row is None else (int(row[0]), str(row[1]))

    async def key_owner(self, key_hash: str, now: datetime) -> int | None:
        """The id of the active user owning a live key, or None; records nothing."""
        stmt = (
            select(ApiKey.user_id)
            .join(User, User.id == ApiKey.user_id)
            .where(
                ApiKey.key_hash == key_hash,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
                User.active.is_(True),
            )
        )
        owner = (await self.session.execute(stmt)).scalar_one_or_none()
        return None if owner is None else int(owner)

    async def active_identity(self, user_id: int) -> SignedInUser | None:
        """An API key's owner, if active, as the token check reads a session's user."""
        row = (await self.session.execute(_ACTIVE_USER, {"user_id": user_id})).first()
        return None if row is None else SignedInUser(*row)

    async def active_user(self, user_id: int) -> User | None:
        stmt = select(User).where(User.id == user_id, User.active.is_(True))
        return (await self.session.scalars(stmt)).first()

    # --- e-mail tokens -----------------------------------------------------------

    async def add_email_token(self, token: EmailToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def use_email_token(
        self, token_hash: str, purpose: str, now: datetime
    ) -> tuple[int, str] | None:
        """Spend a live token in one statement (two confirmations cannot both win):
        its user's id and the address it was sent to, or None."""
        result = await self.session.execute(
            update(EmailToken)
            .where(
                EmailToken.token_hash == token_hash,
                EmailToken.purpose == purpose,
                EmailToken.used_at.is_(None),
                EmailToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(EmailToken.user_id, EmailToken.email)
        )
        row = result.first()
        return None if row is None else (int(row[0]), str(row[1]))

    async def spend_email_tokens(self, user_id: int, purpose: str, now: datetime) -> None:
        await self.session.execute(
            update(EmailToken)
            .where(
                EmailToken.user_id == user_id,
                EmailToken.purpose == purpose,
                EmailToken.used_at.is_(None),
            )
            .values(used_at=now)
        )

    async def user_by_email(self, email: str) -> User | None:
        return (await self.session.scalars(select(User).where(User.email == email))).first()
