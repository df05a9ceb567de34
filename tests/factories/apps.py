"""Clients of an app from a peer address of their own."""

from __future__ import annotations

from typing import Any

import httpx


def from_ip(app: Any, ip: str) -> httpx.AsyncClient:
    """A client whose socket peer is `ip` (as a proxy in front of the app would be)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://test")
