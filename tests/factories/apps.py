"""Clients of an app with its own settings, or from a peer address of its own."""

from __future__ import annotations

from typing import Any

import httpx

from conduit.main import create_app


def from_ip(app: Any, ip: str) -> httpx.AsyncClient:
    """A client whose socket peer is `ip` (as a proxy in front of the app would be)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def client_for(settings: Any, client_addr: tuple[str, int] = ("127.0.0.1", 123)) -> Any:
    """An app of its own with `settings`, and a client of it from `client_addr`: (app, client)."""
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=client_addr)
    return app, httpx.AsyncClient(transport=transport, base_url="http://test")
