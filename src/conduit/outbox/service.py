"""Enqueueing mail in the request's transaction, and delivering it with retries.

A request that decides to send mail inserts an outbox row in its own transaction: the
mail exists exactly when the request's changes do (a rollback drops it) and survives a
crash. Deliverers (`conduit worker`, or the task embedded in the API process) claim due
rows atomically, send them and mark them sent; a failure is retried with exponential
backoff. A claim outlasts the longest its batch can take (`SEND_TIMEOUT` per message, enforced,
plus a margin), so no other deliverer can claim a row while it may still be sending; a
deliverer that dies mid-way leaves its rows to be claimed again once the claim has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.config import Settings
from conduit.core.db import Database, utcnow
from conduit.core.faults import log_failure
from conduit.core.mail import MailMessage, MailTransport
from conduit.outbox.models import OutboxMail
from conduit.outbox.repository import OutboxRepository

logger = logging.getLogger("conduit.outbox")

SEND_TIMEOUT = 30.0  # seconds one message may take to send
CLAIM_MARGIN = 60.0
MAX_BACKOFF = 600.0


class Outbox:
    """Mail accepted by the current request's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = OutboxRepository(session)

    async def enqueue(self, message: MailMessage) -> int:
        mail = await self.repo.add(
            OutboxMail(
                recipient=message.recipient,
                subject=message.subject,
                body=message.body,
                next_attempt_at=utcnow(),
                attempts=0,
            )
        )
        return mail.id


class OutboxDeliverer:
    def __init__(self, db: Database, transport: MailTransport, settings: Settings) -> None:
        self.db = db
        self.transport = transport
        self.retry_base = settings.mail_retry_base
        self.max_attempts = settings.mail_max_attempts

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the attempt that followed `attempts` failed ones."""
        return min(self.retry_base * 2.0**attempts, MAX_BACKOFF)

    async def deliver_due(self, limit: int = 20) -> int:
        """Send the messages that are due; the number sent."""
        claim = secrets.token_hex(16)
        now = utcnow()
        async with self.db.session() as session:
            mails = await OutboxRepository(session).claim_due(
                claim,
                now,
                now + timedelta(seconds=SEND_TIMEOUT * limit + CLAIM_MARGIN),
                max_attempts=self.max_attempts,
                limit=limit,
            )
        sent = 0
        for mail in mails:
            message = MailMessage(mail.recipient, mail.subject, mail.body)
            try:
                await asyncio.wait_for(self.transport.send(message, mail.id), SEND_TIMEOUT)
            except Exception as exc:
                error = type(exc).__name__[:255]
                logger.warning(
                    "mail delivery failed",
                    extra={"outbox_id": mail.id, "error": error, "attempts": mail.attempts + 1},
                )
                retry_at = utcnow() + timedelta(seconds=self.backoff(mail.attempts))
                async with self.db.session() as session:
                    await OutboxRepository(session).mark_failed(
                        mail.id, claim, attempts=mail.attempts + 1, retry_at=retry_at, error=error
                    )
                continue
            async with self.db.session() as session:
                await OutboxRepository(session).mark_sent(mail.id, claim, utcnow())
            sent += 1
        return sent

    async def run_forever(self, interval: float = 1.0, *, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; a full batch is followed at once by the next."""
        while not stop.is_set():
            limit = 20
            try:
                busy = await self.deliver_due(limit) >= limit
            except Exception as exc:
                log_failure(logger, "outbox delivery round failed", exc)
                busy = False
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
