"""All SQL for the mail outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.outbox.models import OutboxMail


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, mail: OutboxMail) -> OutboxMail:
        self.session.add(mail)
        await self.session.flush()
        return mail

    async def claim_due(
        self, claim: str, now: datetime, until: datetime, *, max_attempts: int, limit: int
    ) -> list[OutboxMail]:
        """Claim up to `limit` due messages for `claim` and return them.

        The conditions are repeated outside the subquery: after waiting for a row lock,
        PostgreSQL re-checks them on the row's new version, so a row another worker has
        just claimed is skipped rather than claimed twice.
        """
        free = or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now)
        due = (
            select(OutboxMail.id)
            .where(
                OutboxMail.sent_at.is_(None),
                OutboxMail.next_attempt_at <= now,
                OutboxMail.attempts < max_attempts,
                free,
            )
            .order_by(OutboxMail.id)
            .limit(limit)
        )
        await self.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id.in_(due), OutboxMail.sent_at.is_(None), free)
            .values(claim=claim, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
        stmt = select(OutboxMail).where(OutboxMail.claim == claim).order_by(OutboxMail.id)
        return list((await self.session.scalars(stmt)).all())

    async def mark_sent(self, mail_id: int, claim: str, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, OutboxMail.claim == claim)
            .values(sent_at=now, claimed_until=None, last_error=None)
        )

    async def mark_failed(
        self, mail_id: int, claim: str, *, attempts: int, retry_at: datetime, error: str
    ) -> None:
        await self.session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == mail_id, OutboxMail.claim == claim)
            .values(
                attempts=attempts, next_attempt_at=retry_at, claimed_until=None, last_error=error
            )
        )
