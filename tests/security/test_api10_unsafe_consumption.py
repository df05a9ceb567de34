"""OWASP API10:2023 Unsafe Consumption of APIs.

What the app takes in from systems other than its API clients, and must not trust: the
bytes of uploaded files (judged by content, served inert), the mail server's replies
(a hostile or broken SMTP server costs a retry, never a request or a secret), Redis (down:
requests still served, fail open), and a trusted proxy's X-Forwarded-For (garbage in it
never becomes an identity).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from conduit.core.config import Settings
from conduit.core.mail import transport_for
from conduit.outbox.service import OutboxDeliverer
from tests.factories import PASSWORD, auth, log_in, sign_up
from tests.live import free_port
from tests.security.support import leaks_in

GIF_HEADER = b"GIF89a\x01\x00\x01\x00\x00\x00\x00"


# --- uploaded bytes ---------------------------------------------------------------------------


def stored(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


@pytest.fixture
def upload_dir(app: Any, tmp_path: Path) -> Path:
    directory = tmp_path / "uploads"
    app.state.settings = app.state.settings.model_copy(update={"upload_dir": str(directory)})
    return directory


DISGUISES = {
    "html-as-png": (b"<!doctype html><script>alert(1)</script>", "a.png", "image/png"),
    "svg-with-script": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "a.svg",
        "image/svg+xml",
    ),
    "php-as-jpeg": (b"<?php system($_GET['c']); ?>", "a.jpg", "image/jpeg"),
    "windows-exe": (b"MZ\x90\x00\x03" + b"\x00" * 60, "a.gif", "image/gif"),
    "signature-not-at-start": (b"xx" + GIF_HEADER, "a.gif", "image/gif"),
    "empty": (b"", "a.png", "image/png"),
}


@pytest.mark.parametrize(("data", "filename", "media_type"), DISGUISES.values(), ids=DISGUISES)
async def test_api10_uploads_are_judged_by_their_bytes_not_their_labels(
    client: httpx.AsyncClient,
    alice: str,
    upload_dir: Path,
    data: bytes,
    filename: str,
    media_type: str,
) -> None:
    response = await client.post(
        "/api/uploads", files={"file": (filename, data, media_type)}, headers=auth(alice)
    )
    assert response.status_code == 415, response.text
    assert response.json()["errors"] == {"file": ["must be a PNG, JPEG, WebP or GIF image"]}
    assert stored(upload_dir) == []


async def test_api10_a_polyglot_image_is_served_as_an_image_only(
    client: httpx.AsyncClient, alice: str, upload_dir: Path
) -> None:
    """A GIF header followed by HTML is a GIF to us: it is served as `image/gif` under a
    random name, with nosniff and a CSP that lets nothing run, so no browser renders it."""
    data = GIF_HEADER + b"<html><script>alert(document.domain)</script></html>"
    response = await client.post(
        "/api/uploads",
        files={"file": ("evil.html", data, "text/html")},
        headers=auth(alice),
    )
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    assert "evil" not in url
    assert url.endswith(".gif")
    served = await client.get(url)
    assert served.content == data
    assert served.headers["content-type"] == "image/gif"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"


def plant_secrets(upload_dir: Path) -> None:
    """Files a traversal would be after: hidden in the store, and beside it."""
    upload_dir.mkdir(parents=True)
    (upload_dir / ".secret.png").write_bytes(GIF_HEADER)
    (upload_dir / "secret.png").write_bytes(GIF_HEADER)
    (upload_dir.parent / "secret.png").write_bytes(GIF_HEADER)


@pytest.mark.parametrize(
    "name",
    [
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e%2fsecret.png",
        "..%5C..%5Csecret.png",
        ".secret.png",
        "secret.png",
        "0123456789abcdef0123456789abcdef.png%00.html",
        "0123456789ABCDEF0123456789ABCDEF.png",
        "%2Fetc%2Fpasswd",
    ],
)
async def test_api10_upload_names_never_reach_outside_the_store(
    client: httpx.AsyncClient, upload_dir: Path, name: str
) -> None:
    plant_secrets(upload_dir)
    response = await client.get(f"/api/uploads/{name}")
    assert response.status_code in (404, 422), response.text
    assert GIF_HEADER not in response.content


# --- the mail server ------------------------------------------------------------------------


class Rejecting:
    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:
        return "554 5.7.1 <script>rejected</script> SELECT * FROM secrets"


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + b"\x00\xff" * 1000 + b"\r\n")
    await writer.drain()
    writer.close()


async def _hang_up(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


@pytest.fixture(params=["rejects", "speaks-garbage", "hangs-up"])
async def hostile_smtp(request: pytest.FixtureRequest) -> AsyncIterator[int]:
    port = free_port()
    if request.param == "rejects":
        controller = Controller(Rejecting(), hostname="127.0.0.1", port=port)
        controller.start()
        yield port
        controller.stop()
        return
    handler = _garbage if request.param == "speaks-garbage" else _hang_up
    server = await asyncio.start_server(handler, "127.0.0.1", port)
    yield port
    server.close()
    await server.wait_closed()


async def test_api10_a_hostile_mail_server_costs_a_retry_never_a_request(
    client: httpx.AsyncClient, app: Any, settings: Settings, hostile_smtp: int
) -> None:
    smtp = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": hostile_smtp})
    app.state.deliverer = OutboxDeliverer(app.state.db, transport_for(smtp), smtp)
    response = await client.post(
        "/api/users",
        json={"user": {"username": "alice", "email": "alice@example.com", "password": PASSWORD}},
    )
    assert response.status_code == 201, response.text
    reset = await client.post("/api/auth/password-reset", json={"email": "alice@example.com"})
    assert reset.status_code == 202

    sent = await app.state.deliverer.deliver_due()
    assert sent == 0
    async with app.state.db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT attempts, sent_at, last_error FROM outbox"))).all()
    assert len(rows) == 2
    for attempts, sent_at, last_error in rows:
        assert (attempts, sent_at) == (1, None)
        # Only the kind of failure is kept: nothing the server said, nothing of the mail.
        assert last_error
        assert "<script>" not in last_error
        assert "SELECT" not in last_error
        assert "token" not in last_error.lower()
    assert (await log_in(client, "alice@example.com")).status_code == 200


# --- Redis ----------------------------------------------------------------------------------


DEAD_REDIS = "redis://127.0.0.1:1/0"  # a privileged port nothing listens on


@pytest.mark.settings(redis_url=DEAD_REDIS, rate_limit_anon="2/minute")
async def test_api10_an_unreachable_redis_fails_open_and_says_nothing_of_itself(
    client: httpx.AsyncClient,
) -> None:
    alice = await sign_up(client, "alice")
    assert (await log_in(client, "alice@example.com")).status_code == 200
    for _ in range(4):  # the limit cannot be counted: let through, not refused
        assert (await client.get("/api/tags")).status_code == 200
    assert (await client.get("/api/user", headers=auth(alice["token"]))).status_code == 200
    ready = await client.get("/ready")
    assert ready.status_code == 200  # the app serves without Redis: degraded, not down
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"] == "unavailable"
    assert "127.0.0.1:1" not in ready.text
    assert "redis://" not in ready.text
    assert not leaks_in(ready.text)


# --- a trusted proxy's forwarded addresses ---------------------------------------------------

GARBAGE_FORWARDED_FOR = [
    "not-an-ip",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "999.999.999.999",
    ", , ,",
    "unknown",
    "1.2.3.4:80",
    "[2001:db8::1]",
    "_hidden",
    "1.2.3.4, garbage",
    ", ".join(["garbage"] * 2000),
]


@pytest.mark.settings(rate_limit_anon="3/minute", trusted_proxies=["10.0.0.0/8"])
async def test_api10_garbage_from_a_trusted_proxy_never_becomes_a_client_identity(
    app: Any,
) -> None:
    """Whatever the proxy forwards that is not an address is not taken as one: those
    requests all count as the proxy itself, so rotating garbage escapes no limit."""
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as proxy:
        statuses = []
        for value in GARBAGE_FORWARDED_FOR:
            response = await proxy.get("/api/tags", headers={"X-Forwarded-For": value})
            assert response.status_code in (200, 429), response.text
            statuses.append(response.status_code)
    assert statuses[:3] == [200, 200, 200]
    assert set(statuses[3:]) == {429}
