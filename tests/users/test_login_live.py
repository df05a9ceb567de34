"""A real `conduit serve`: logins in flight do not hold other requests up.

The server hashes at the production Argon2 cost on one hashing thread, and many logins are
sent at once. Meanwhile one client keeps reading (`GET /api/tags`), one request after the
other. The assertions are about order, not time: reads must be answered *between* the
logins' answers, not only once the logins are all done (as when many threads hash at once
and leave the event loop a sliver of the CPU), and every login must succeed (the queue
holds them all: no 503, no 500).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.factories import PASSWORD
from tests.live import LiveServer, start_server

LOGINS = 16
PRODUCTION_COST = {"ARGON2_TIME_COST": "2", "ARGON2_MEMORY_COST": "19456"}
UNLIMITED = {"RATE_LIMIT_AUTH": "100000/minute", "RATE_LIMIT_ANON": "100000/minute"}


async def _sign_up(http: httpx.AsyncClient, name: str) -> str:
    user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    response = await http.post("/api/users", json={"user": user})
    assert response.status_code == 201, response.text
    token: str = response.json()["user"]["token"]
    return token


async def _timeline(url: str) -> list[str]:
    """What was answered, in the order the answers arrived: "login" or "read"."""
    limits = httpx.Limits(max_connections=LOGINS + 4)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        await _sign_up(http, "alice")
        events: list[str] = []
        credentials = {"user": {"email": "alice@example.com", "password": PASSWORD}}

        async def log_in() -> None:
            response = await http.post("/api/users/login", json=credentials)
            assert response.status_code == 200, response.text
            events.append("login")

        logins = [asyncio.create_task(log_in()) for _ in range(LOGINS)]
        while not all(login.done() for login in logins):
            response = await http.get("/api/tags")
            assert response.status_code == 200, response.text
            events.append("read")
        await asyncio.gather(*logins)
        return events


def _logins_preceded_by_a_read(events: list[str]) -> int:
    """How many logins were answered after a read that came after the previous login."""
    count, read_since = 0, False
    for event in events:
        if event == "read":
            read_since = True
        elif read_since:
            count, read_since = count + 1, False
    return count


def test_reads_are_answered_between_logins(tmp_path: Path) -> None:
    server: LiveServer = start_server(
        tmp_path, extra_env={**PRODUCTION_COST, **UNLIMITED, "ARGON2_THREADS": "1"}
    )
    try:
        events = asyncio.run(_timeline(server.url))
    finally:
        server.terminate()
    assert events.count("login") == LOGINS
    # One hashing thread: the logins finish one after the other, with reads answered in
    # between (with sixteen threads hashing at once, logins came back in bunches with no
    # read between them). Asking it of three in four leaves room for a noisy machine.
    assert _logins_preceded_by_a_read(events) >= LOGINS * 3 // 4, events
    assert "Traceback" not in server.log()
