"""All SQL for idempotency keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.upsert import insert_ignore
from conduit.idempotency.models import DONE, IN_PROGRESS, IdempotencyRecord


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_claim(self, user_id: int, key: str, fingerprint: str, now: datetime) -> bool:
        """Claim a key nobody holds; False when the user already has a row for it.

        On PostgreSQL, while another transaction holds an uncommitted row for the same key,
        this waits on the unique index until that transaction ends."""
        stmt = (
            insert_ignore(self.session, IdempotencyRecord.__table__)
            .values(
                user_id=user_id, key=key, fingerprint=fingerprint, state=IN_PROGRESS, created_at=now
            )
            .returning(IdempotencyRecord.id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def get_locked(self, user_id: int, key: str) -> IdempotencyRecord | None:
        """The user's row for `key`, locked until the transaction ends (PostgreSQL)."""
        stmt = (
            select(IdempotencyRecord)
            .where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
            .with_for_update()
        )
        return (await self.session.scalars(stmt)).first()

    async def take_over(
        self, record: IdempotencyRecord, fingerprint: str, created_at: datetime
    ) -> None:
        """Start `record` afresh for a new request (its row is locked by `get_locked`)."""
        record.fingerprint = fingerprint
        record.state = IN_PROGRESS
        record.claim = None
        record.locked_until = None
        record.status_code = None
        record.content_type = None
        record.response_body = None
        record.created_at = created_at
        await self.session.flush()

    async def record_response(
        self, user_id: int, key: str, *, status_code: int, content_type: str | None, body: bytes
    ) -> None:
        """Store the response of the request that holds the key in this transaction."""
        await self.session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.state == IN_PROGRESS,
            )
            .values(
                state=DONE, status_code=status_code, content_type=content_type, response_body=body
            )
        )

    async def remove(self, user_id: int, key: str) -> None:
        await self.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key
            )
        )

    async def purge(self, created_before: datetime) -> int:
        """Delete the rows created before `created_before`; how many went."""
        result = await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < created_before)
        )
        return int(cast("CursorResult[Any]", result).rowcount)
