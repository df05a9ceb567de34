"""Server-side sessions and their refresh tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, ForeignKey, Index, Integer, String, and_, bindparam, true
from sqlalchemy.orm import Mapped, mapped_column

from conduit.core.db import Base, UTCDateTime, utcnow
from conduit.users.models import User


class AuthSession(Base):
    """One login. Its access tokens carry its id; revoking it ends them all at once."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id", "user_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # absolute
    # Moved forward while the session is used (`auth.activity.SessionActivity`).
    idle_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def live_session() -> ColumnElement[bool]:
    """What makes an access token usable, on the sessions and users tables: its session
    (`:session_id`) is its user's (`:viewer_id`), neither revoked nor expired (absolutely
    or for idleness) at `:now`, and the user is active. The one rule for the token check
    (auth.repository) and for the reads that make that check in their own statement
    (articles.statements)."""
    sessions, users = AuthSession.__table__, User.__table__
    now = bindparam("now", type_=UTCDateTime)
    return and_(
        sessions.c.id == bindparam("session_id", type_=String),
        sessions.c.user_id == bindparam("viewer_id", type_=Integer),
        users.c.id == sessions.c.user_id,
        users.c.active == true(),
        sessions.c.revoked_at.is_(None),
        sessions.c.expires_at > now,
        sessions.c.idle_expires_at > now,
    )


class RefreshToken(Base):
    """A refresh token, stored only as its SHA-256. Used once: every refresh rotates it."""

    __tablename__ = "refresh_tokens"
    __table_args__ = (Index("ix_refresh_tokens_session_id", "session_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiKey(Base):
    """A key for service-to-service calls: acts as its owner, limited to its scopes.

    Only a keyed hash (HMAC-SHA256 with the secret key) of the key is stored.
    """

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(255))  # space-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EmailToken(Base):
    """A single-use token sent by mail (verify an address, reset a password), stored only
    as its SHA-256. It is valid for `email` only: changing the address voids it."""

    __tablename__ = "email_tokens"
    __table_args__ = (Index("ix_email_tokens_user_id", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))  # 'verify' | 'reset'
    email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
