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

    async def insert_claim(
        self,
        user_id: int,
        key: str,
        fingerprint: str,
        claim: str,
        now: datetime,
        locked_until: datetime,
    ) -> bool:
        """Claim a key nobody holds; False when the user already has a row for it."""
        stmt = (
            insert_ignore(self.session, IdempotencyRecord.__table__)
            .values(
                user_id=user_id,
                key=key,
                fingerprint=fingerprint,
                state=IN_PROGRESS,
                claim=claim,
                locked_until=locked_until,
                created_at=now,
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

    async def record_response(
        self,
        user_id: int,
        key: str,
        claim: str,
        *,
        status_code: int,
        content_type: str | None,
        body: bytes,
    ) -> bool:
        """Store the response of the claim's request; False if the claim was taken over."""
        result = await self.session.execute(
            update(IdempotencyRecord)
            .where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.claim == claim,
                IdempotencyRecord.state == IN_PROGRESS,
            )
            .values(
                state=DONE,
                locked_until=None,
                status_code=status_code,
                content_type=content_type,
                response_body=body,
            )
            .returning(IdempotencyRecord.id)
        )
        return result.first() is not None

    async def release(self, user_id: int, key: str, claim: str) -> None:
        await self.session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user_id,
                IdempotencyRecord.key == key,
                IdempotencyRecord.claim == claim,
                IdempotencyRecord.state == IN_PROGRESS,
            )
        )

    async def purge(self, created_before: datetime) -> int:
        """Delete the rows created before `created_before`; how many went."""
        result = await self.session.execute(
            delete(IdempotencyRecord).where(IdempotencyRecord.created_at < created_before)
        )
        return int(cast("CursorResult[Any]", result).rowcount)
