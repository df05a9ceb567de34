"""Delivery of the outbox: mail waits out an SMTP outage and is sent once, two deliverers
never send a mail twice, without SMTP mail is written to files, the embedded worker
delivers and stops with the app, and tokens never reach the log."""

from __future__ import annotations

import asyncio
import logging
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from conduit.core.db import Database
from conduit.main import create_app
from conduit.outbox.service import OutboxDeliverer
from tests.factories import deliver, register
from tests.factories.mail import Smtp, outbox_rows, reset_token, token_in

# --- delivery -------------------------------------------------------------------------


async def test_mail_waits_out_an_smtp_outage_and_is_sent_once(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    smtp.stop()
    await register(client, "alice")
    assert await deliver(app) == 0
    [row] = await outbox_rows(app)
    assert row.attempts == 1
    assert row.sent_at is None
    assert row.last_error  # the exception's class name, nothing more

    smtp.start()
    assert await deliver(app) == 0  # not due yet: backing off
    await asyncio.sleep(0.2)
    assert await deliver(app) == 1
    assert await deliver(app) == 0
    assert len(smtp.messages) == 1
    [row] = await outbox_rows(app)
    assert row.sent_at is not None


async def test_two_deliverers_send_each_mail_once(
    client: httpx.AsyncClient, app: Any, smtp: Smtp, settings: Settings
) -> None:
    for name in ("alice", "bob", "carol", "dave"):
        await register(client, name)
    other_db = Database(settings)  # its own connections, as another process would have
    try:
        other = OutboxDeliverer(other_db, app.state.deliverer.transport, settings)
        sent = await asyncio.gather(app.state.deliverer.deliver_due(), other.deliver_due())
    finally:
        await other_db.dispose()
    assert sum(sent) == 4
    assert len(smtp.messages) == 4
    assert len({m["Message-ID"] for m in smtp.messages}) == 4
    assert await deliver(app) == 0


async def test_without_smtp_mail_is_written_to_files(
    client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    directory = tmp_path / "eml"
    files_app = create_app(
        settings.model_copy(update={"smtp_host": None, "mail_dir": str(directory)})
    )
    async with files_app.router.lifespan_context(files_app):
        transport = httpx.ASGITransport(app=files_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            await register(c, "alice")
        assert await deliver(files_app) == 1
    [written] = list(directory.iterdir())
    assert written.suffix == ".eml"
    message = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "alice@example.com"
    token_in(message, "verify-email")


async def test_the_embedded_worker_delivers_and_stops_with_the_app(
    client: httpx.AsyncClient, settings: Settings, smtp: Smtp
) -> None:
    worker_app = create_app(settings.model_copy(update={"mail_embedded_worker": True}))
    async with worker_app.router.lifespan_context(worker_app):
        transport = httpx.ASGITransport(app=worker_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            await register(c, "alice")
        for _ in range(100):
            if smtp.messages:
                break
            await asyncio.sleep(0.05)
    assert len(smtp.messages) == 1


async def test_tokens_never_reach_the_log(
    client: httpx.AsyncClient, app: Any, smtp: Smtp, caplog: pytest.LogCaptureFixture
) -> None:
    # The app's loggers and the SMTP client at DEBUG; everything else at INFO, which for
    # SQLAlchemy is what DB_ECHO=true logs (statements; the engine hides bound values).
    # Drivers' and SQLAlchemy's DEBUG traces print rows and parameters: not for production.
    caplog.set_level(logging.INFO)
    for name in ("conduit", "aiosmtplib"):
        caplog.set_level(logging.DEBUG, logger=name)
    await register(client, "alice")
    await deliver(app)
    await reset_token(client, app, smtp, "alice@example.com")
    tokens = [token_in(smtp.messages[0], "verify-email")]
    tokens.append(token_in(smtp.messages[1], "reset-password"))
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "mail sent" in logged
    for token in tokens:
        leaks = {r.name for r in caplog.records if token in f"{r.getMessage()} {r.__dict__}"}
        assert not leaks, leaks
