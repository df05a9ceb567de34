"""Idempotency keys: a key held by a request's transaction and, once it succeeded, its
response."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from conduit.core.db import Base, UTCDateTime, utcnow

IN_PROGRESS = "in_progress"
DONE = "done"


class IdempotencyRecord(Base):
    """One key of one user, written in the transaction of the request that holds it:
    `in_progress` until that request's response is recorded, `done` with the response to
    replay. `claim` and `locked_until` are left from the two-step design and no longer set."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path, body
    state: Mapped[str] = mapped_column(String(16))  # 'in_progress' | 'done'
    claim: Mapped[str | None] = mapped_column(String(32))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(255))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
