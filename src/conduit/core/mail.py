"""Sending mail: SMTP (aiosmtplib) when `SMTP_HOST` is set, `.eml` files in `MAIL_DIR` otherwise.

The log only says that a mail went out, with its outbox id: never its body, which may
carry a token.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Protocol

import aiosmtplib

from conduit.core.config import Settings

logger = logging.getLogger("conduit.mail")


@dataclass(frozen=True, slots=True)
class MailMessage:
    recipient: str
    subject: str
    body: str


class MailTransport(Protocol):
    async def send(self, message: MailMessage, message_id: int) -> None: ...


def build_message(settings: Settings, message: MailMessage, message_id: int) -> EmailMessage:
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False, usegmt=True)
    domain = settings.mail_from.rpartition("@")[2].rstrip(">").strip() or "conduit.invalid"
    email["Message-ID"] = f"<outbox-{message_id}@{domain}>"
    email.set_content(message.body)
    return email


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, message: MailMessage, message_id: int) -> None:
        s = self.settings
        await aiosmtplib.send(
            build_message(s, message, message_id),
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            start_tls=s.smtp_tls,
            use_tls=False,
            timeout=30,
        )
        logger.info("mail sent", extra={"outbox_id": message_id})


class FileTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = Path(settings.mail_dir)

    def _write(self, data: bytes, message_id: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"{message_id}.eml").write_bytes(data)

    async def send(self, message: MailMessage, message_id: int) -> None:
        data = build_message(self.settings, message, message_id).as_bytes()
        await asyncio.to_thread(self._write, data, message_id)
        logger.info("mail written", extra={"outbox_id": message_id})


def transport_for(settings: Settings) -> MailTransport:
    return SmtpTransport(settings) if settings.smtp_host else FileTransport(settings)
