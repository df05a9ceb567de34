"""Fixtures of the mail tests (e-mail verification, password reset, delivery): a real SMTP
server (aiosmtpd), and the suite's settings sending through it.

The app queues mail in the request's transaction (the outbox); the tests run the deliverer
explicitly, read what the SMTP server received and follow the link's token.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conduit.core.config import Settings
from tests.factories.mail import FRONT, Smtp


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
