"""OWASP API7:2023 Server Side Request Forgery.

The only URLs a client gives us are profile image URLs. They must be http(s) (no `file:`,
`javascript:`, `gopher:`, ...), are stored as text and are never fetched: a listening socket
named as the image sees no connection, whatever the API does with the profile. Uploads take
bytes, never a URL to fetch. Links we send come from FRONTEND_URL, never from the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.factories import auth, create_article, error_body

REFUSED_URLS = [
    "file:///etc/passwd",
    "javascript:alert(document.cookie)",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "dict://127.0.0.1:11211/stats",
    "ftp://internal.example/secret",
    "ldap://127.0.0.1/dc=example",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "jar:http://127.0.0.1/x.jar!/",
    "//169.254.169.254/latest/meta-data/",
    "/etc/passwd",
    "\\\\internal-host\\share\\image.png",
    " javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "http:/\\evil",
]

ACCEPTED_URLS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://127.0.0.1:6379/",
    "https://[::1]/admin",
    "http://localhost/server-status",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
async def test_api7_image_urls_must_be_http_or_https(
    client: httpx.AsyncClient, alice: str, url: str
) -> None:
    await client.put(
        "/api/user", json={"user": {"image": "https://cdn.example/a.png"}}, headers=auth(alice)
    )
    response = await client.put("/api/user", json={"user": {"image": url}}, headers=auth(alice))
    assert response.status_code == 422, response.text
    assert error_body(response) == {"errors": {"image": ["must be an http(s) URL"]}}
    assert url not in response.text
    me = (await client.get("/api/user", headers=auth(alice))).json()["user"]
    assert me["image"] == "https://cdn.example/a.png"


class Listener:
    """A TCP socket on 127.0.0.1 that notices every connection made to it."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.setblocking(False)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/avatar.png"
        self.accepted: list[Any] = []

    def connections(self) -> int:
        while True:
            try:
                connection, _ = self.server.accept()
            except BlockingIOError:
                return len(self.accepted)
            self.accepted.append(connection)
            connection.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


async def nothing_connected(listener: Listener) -> None:
    await asyncio.sleep(0.3)  # a background fetch would have connected by now
    assert listener.connections() == 0


async def test_api7_image_urls_are_stored_as_text_and_never_fetched(
    client: httpx.AsyncClient, alice: str, bob: str, listener: Listener
) -> None:
    url = listener.url
    response = await client.put("/api/user", json={"user": {"image": url}}, headers=auth(alice))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["image"] == url

    # Everything that shows the image, signed in and not.
    slug = (await create_article(client, alice, "With avatar"))["slug"]
    await client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "hi"}}, headers=auth(alice)
    )
    await client.post("/api/profiles/alice/follow", headers=auth(bob))
    for headers in ({}, auth(bob)):
        for path in (
            "/api/profiles/alice",
            f"/api/articles/{slug}",
            "/api/articles",
            f"/api/articles/{slug}/comments",
        ):
            shown = await client.get(path, headers=headers)
            assert shown.status_code == 200
            assert url in shown.text
    feed = await client.get("/api/articles/feed", headers=auth(bob))
    assert url in feed.text
    await nothing_connected(listener)


@pytest.mark.parametrize("url", ACCEPTED_URLS)
async def test_api7_internal_addresses_are_only_ever_text(
    client: httpx.AsyncClient, alice: str, url: str
) -> None:
    """An http(s) URL naming an internal host is allowed as a picture's address: the server
    never dereferences it, so it reaches no internal service; it comes back verbatim."""
    response = await client.put("/api/user", json={"user": {"image": url}}, headers=auth(alice))
    assert response.status_code == 200, response.text
    profile = (await client.get("/api/profiles/alice")).json()["profile"]
    assert profile["image"] == url


async def test_api7_uploads_take_bytes_never_a_url_to_fetch(
    client: httpx.AsyncClient, alice: str, listener: Listener
) -> None:
    url = listener.url
    attempts = [
        client.post("/api/uploads", data={"url": url, "file": url}, headers=auth(alice)),
        client.post("/api/uploads", json={"url": url}, headers=auth(alice)),
        client.post(
            "/api/uploads",
            files={"file": ("x.png", url.encode(), "text/uri-list")},
            headers=auth(alice),
        ),
        client.post(
            "/api/uploads", data={"file": url}, files={"other": ("x", b"x")}, headers=auth(alice)
        ),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code in (415, 422), response.text
    await nothing_connected(listener)


async def test_api7_the_listener_would_notice_a_fetch(listener: Listener) -> None:
    """Guards the tests above: a real fetch of the URL is seen by the listener."""
    async with httpx.AsyncClient(timeout=0.5) as outside:
        with contextlib.suppress(httpx.HTTPError):
            await outside.get(listener.url)
    assert listener.connections() == 1
