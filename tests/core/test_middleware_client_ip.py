"""Client IPs behind proxies: X-Forwarded-For is believed only from a trusted peer, and the
access log names the client so resolved, one line per request."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from conduit.core.clientip import ClientIP
from tests.conftest import make_settings
from tests.factories import auth, create_article
from tests.factories.apps import client_for

# --- client IP ------------------------------------------------------------------------


def test_forwarded_for_is_ignored_unless_the_peer_is_trusted() -> None:
    nobody = ClientIP([])
    assert nobody.resolve("10.0.0.5", "203.0.113.9") == "10.0.0.5"
    proxies = ClientIP(["10.0.0.0/8", "::1"])
    assert proxies.resolve("198.51.100.1", "203.0.113.9") == "198.51.100.1"
    assert proxies.resolve("10.0.0.5", "203.0.113.9") == "203.0.113.9"
    # A client that forges the header gets only its own address attributed.
    assert proxies.resolve("10.0.0.5", "1.2.3.4, 203.0.113.9") == "203.0.113.9"
    # Proxy chains: skip every trusted hop from the right.
    assert proxies.resolve("10.0.0.5", "203.0.113.9, 10.1.1.1") == "203.0.113.9"
    assert proxies.resolve("::1", "2001:db8::7") == "2001:db8::7"
    assert proxies.resolve("10.0.0.5", "garbage, 203.0.113.9") == "203.0.113.9"
    assert proxies.resolve("10.0.0.5", "203.0.113.9, garbage") == "10.0.0.5"


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.msg for r in caplog.records if r.name == "conduit.access" and isinstance(r.msg, dict)]


async def test_access_log_uses_the_trusted_proxy_client_ip(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    trusted = make_settings(database_url, trusted_proxies="127.0.0.1")
    _, client = await client_for(trusted)
    async with client:
        await client.get("/api/tags", headers={"X-Forwarded-For": "203.0.113.9"})
    untrusted = make_settings(database_url)
    _, client = await client_for(untrusted)
    async with client:
        await client.get("/api/tags", headers={"X-Forwarded-For": "203.0.113.9"})
    ips = [line["client_ip"] for line in _access_lines(caplog)]
    assert ips == ["203.0.113.9", "127.0.0.1"]


async def test_one_access_line_per_request(
    client: httpx.AsyncClient, alice: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    article = await create_article(client, alice)
    response = await client.get(f"/api/v1/articles/{article['slug']}", headers=auth(alice))
    lines = _access_lines(caplog)
    assert [line["route"] for line in lines] == [
        "/api/articles",
        "/api/v1/articles/{slug}",
    ]
    last = lines[-1]
    assert last["request_id"] == response.headers["x-request-id"]
    assert last["method"] == "GET"
    assert last["status"] == 200
    assert last["path"] == f"/api/v1/articles/{article['slug']}"
    assert isinstance(last["duration_ms"], float)
    assert "user_id" in last
