"""Users and the follow relation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    SQLColumnExpression,
    String,
    Text,
    exists,
    false,
    func,
    literal,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from conduit.auth.permissions import Role
from conduit.core.db import Base, UTCDateTime, utcnow
from conduit.users.limits import EMAIL_MAX, IMAGE_MAX, USERNAME_MAX


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('user', 'moderator', 'admin')", name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    bio: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(IMAGE_MAX))
    role: Mapped[str] = mapped_column(String(16), default=Role.USER, server_default=Role.USER)
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    email_verified: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# Usernames are unique regardless of case ("Alice" cannot impersonate "alice").
Index("uq_users_username_lower", func.lower(User.username), unique=True)


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (
        CheckConstraint("follower_id <> followee_id", name="not_self"),
        Index("ix_follows_followee_id", "followee_id"),
    )

    follower_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @classmethod
    def is_following(
        cls, viewer_id: int | None, followee: SQLColumnExpression[int]
    ) -> ColumnElement[bool]:
        """SQL: does `viewer_id` follow the user in `followee`? Always false when anonymous."""
        if viewer_id is None:
            return literal(False)
        return exists().where(cls.follower_id == viewer_id, cls.followee_id == followee)
