"""E-mail verification and password reset, delivered through a real SMTP server (aiosmtpd).

The app queues mail in the request's transaction (the outbox); the tests run the deliverer
explicitly, read what the SMTP server received and follow the link's token.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from conduit.core.config import Settings
from conduit.core.db import Database, utcnow
from conduit.main import create_app
from conduit.outbox.service import OutboxDeliverer
from tests.factories import PASSWORD, auth, deliver, error_body, log_in, register
from tests.live import free_port

FRONT = "https://front.example"
INVALID = {"errors": {"token": ["is invalid or expired"]}}
NEW_PASSWORD = "a brand new secret"
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


# --- a real SMTP server -------------------------------------------------------------


class Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


class Smtp:
    """An aiosmtpd server on a fixed free port that can be stopped and started again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Collector()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    server = Smtp()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, smtp: Smtp) -> Settings:
    """The suite's settings, sending through the test's SMTP server."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp.port,
            "mail_embedded_worker": False,
            "mail_retry_base": 0.05,
            "frontend_url": FRONT,
        }
    )


# --- helpers ----------------------------------------------------------------------


def link_in(message: EmailMessage) -> str:
    body = message.get_content()
    found = re.search(r"https?://\S+", body)
    assert found, body
    return found.group(0)


def token_in(message: EmailMessage, path: str) -> str:
    link = link_in(message)
    assert link.startswith(f"{FRONT}/{path}?token="), link
    return parse_qs(urlsplit(link).query)["token"][0]


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/user", headers=auth(token))


async def outbox_rows(app: Any) -> list[Any]:
    async with app.state.db.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT id, attempts, sent_at, last_error FROM outbox ORDER BY id")
        )
        return list(result.all())


async def reset_token(client: httpx.AsyncClient, app: Any, smtp: Smtp, email: str) -> str:
    response = await client.post("/api/auth/password-reset", json={"email": email}, headers=FORGED)
    assert response.status_code == 202, response.text
    assert await deliver(app) >= 1
    return token_in(smtp.messages[-1], "reset-password")


# --- verification -------------------------------------------------------------------


async def test_registration_mails_a_link_that_verifies_the_address(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    response = await client.post(
        "/api/users",
        json={"user": {"username": "alice", "email": "alice@example.com", "password": PASSWORD}},
        headers=FORGED,
    )
    assert response.status_code == 201, response.text
    access = response.json()["user"]["token"]
    assert response.json()["user"]["emailVerified"] is False

    assert smtp.messages == []  # queued, not yet sent
    assert await deliver(app) == 1
    [message] = smtp.messages
    assert message["To"] == "alice@example.com"
    assert message["From"] == "Conduit <no-reply@conduit.invalid>"
    assert message["Message-ID"]
    token = token_in(message, "verify-email")

    confirmed = await client.post("/api/auth/verify-email/confirm", json={"token": token})
    assert confirmed.status_code == 204
    assert confirmed.content == b""
    assert (await me(client, access)).json()["user"]["emailVerified"] is True

    again = await client.post("/api/auth/verify-email/confirm", json={"token": token})
    assert again.status_code == 400
    assert error_body(again) == INVALID


async def test_another_verification_mail_on_request(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    access = await register(client, "alice")
    response = await client.post("/api/auth/verify-email", headers={**auth(access), **FORGED})
    assert response.status_code == 202
    assert response.content == b""
    assert await deliver(app) == 2
    first, second = (token_in(m, "verify-email") for m in smtp.messages)
    assert first != second
    assert (await client.post("/api/auth/verify-email")).status_code == 401


async def test_changing_the_address_unverifies_it_and_voids_older_links(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    access = await register(client, "alice")
    await deliver(app)
    old_token = token_in(smtp.messages[0], "verify-email")
    await client.post("/api/auth/verify-email/confirm", json={"token": old_token})
    assert (await me(client, access)).json()["user"]["emailVerified"] is True
    # A second verification link, sent to the old address before the change.
    await client.post("/api/auth/verify-email", headers=auth(access))

    changed = await client.put(
        "/api/user", json={"user": {"email": "alice@new.example"}}, headers=auth(access)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["user"]["emailVerified"] is False
    assert await deliver(app) == 2
    to_old, to_new = smtp.messages[1:]
    assert to_old["To"] == "alice@example.com"
    assert to_new["To"] == "alice@new.example"

    stale = await client.post(
        "/api/auth/verify-email/confirm", json={"token": token_in(to_old, "verify-email")}
    )
    assert stale.status_code == 400
    assert error_body(stale) == INVALID
    fresh = await client.post(
        "/api/auth/verify-email/confirm", json={"token": token_in(to_new, "verify-email")}
    )
    assert fresh.status_code == 204
    assert (await me(client, access)).json()["user"]["emailVerified"] is True

    # An update that keeps the address keeps it verified and sends nothing.
    same = await client.put("/api/user", json={"user": {"bio": "hi"}}, headers=auth(access))
    assert same.json()["user"]["emailVerified"] is True
    assert await deliver(app) == 0


# --- password reset -------------------------------------------------------------------


async def test_password_reset_sets_the_password_and_ends_every_session(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    old_access = await register(client, "alice")
    await deliver(app)
    token = await reset_token(client, app, smtp, "Alice@Example.com")
    assert smtp.messages[-1]["To"] == "alice@example.com"

    done = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204
    assert done.content == b""

    assert (await log_in(client, "alice@example.com", NEW_PASSWORD)).status_code == 200
    assert (await log_in(client, "alice@example.com", PASSWORD)).status_code == 401
    assert (await me(client, old_access)).status_code == 401

    again = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "yet another one"}
    )
    assert again.status_code == 400
    assert error_body(again) == INVALID


async def test_a_refused_password_leaves_the_token_usable(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    await register(client, "alice")
    token = await reset_token(client, app, smtp, "alice@example.com")
    refused = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "alice@example.com"}
    )
    assert refused.status_code == 422
    done = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204


async def test_expired_and_unknown_tokens_are_refused(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    await register(client, "alice")
    token = await reset_token(client, app, smtp, "alice@example.com")
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE email_tokens SET expires_at = :past"),
            {"past": utcnow() - timedelta(seconds=1)},
        )
    for candidate in (token, "no-such-token"):
        response = await client.post(
            "/api/auth/password-reset/confirm",
            json={"token": candidate, "password": NEW_PASSWORD},
        )
        assert response.status_code == 400
        assert error_body(response) == INVALID
    # A reset token is not a verification token.
    other = await reset_token(client, app, smtp, "alice@example.com")
    wrong_kind = await client.post("/api/auth/verify-email/confirm", json={"token": other})
    assert wrong_kind.status_code == 400


async def test_reset_for_an_unknown_address_answers_alike_and_sends_nothing(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    await register(client, "alice")
    await deliver(app)
    known = await client.post("/api/auth/password-reset", json={"email": "alice@example.com"})
    unknown = await client.post("/api/auth/password-reset", json={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""
    assert await deliver(app) == 1
    assert [m["To"] for m in smtp.messages] == ["alice@example.com", "alice@example.com"]


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
