"""Mail through a real SMTP server (aiosmtpd) and the links it receives (tests/auth/mail)."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import text

from tests.factories import auth, deliver
from tests.live import free_port

FRONT = "https://front.example"
INVALID = {"errors": {"token": ["is invalid or expired"]}}
NEW_PASSWORD = "a brand new secret"
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


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
