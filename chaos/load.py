"""The load: virtual users reading and writing through HAProxy, and a poller of each
instance's own /ready, recording every request of one fault's run (a `Phase`).

A write creates an article with a title of its own and an `Idempotency-Key`. Until it gets
a 2xx it is sent again with the same key and body, after a connection error, a timeout, a
5xx, a 409 (the key's first request still running) or a 429, up to `WRITE_DEADLINE` after
its first attempt. It is acknowledged once a 2xx arrives; any other answer ends it.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from chaos.measure import CONN, TIMEOUT, Probe, Request

# Longer than the 60 s after which a claimed key's request is presumed dead and its key
# taken over (docs/api.md, Idempotency): a retry past it shows what a takeover does.
WRITE_DEADLINE = 75.0
RETRY_AFTER_CAP = 1.0  # seconds: a retry waits for Retry-After, at most this long
WRITE_SHARE = 0.25  # of each user's operations
THINK = 0.3  # seconds between a user's operations, on average
CLIENT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
PROBE_EVERY = 0.5  # seconds between two /ready polls of an instance
PASSWORD = "chaos-password-1"  # noqa: S105 - throwaway accounts on a throwaway database


@dataclass(frozen=True, slots=True)
class User:
    index: int
    token: str


@dataclass(slots=True)
class Write:
    title: str
    acknowledged: bool = False
    seconds: float = 0.0  # from the first attempt to the last answer
    first: float = 0.0  # the instant of its first attempt
    acknowledged_at: float = 0.0  # the instant its 2xx arrived
    outcome: str = "pending"  # "acknowledged", "given up", or the status that refused it


@dataclass
class Phase:
    """Everything one fault's run of the load sent and saw."""

    prefix: str  # every title written in this phase starts with it
    requests: list[Request] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    in_flight: dict[int, float] = field(default_factory=dict)

    def observed_until(self, now: float) -> float:
        """Requests sent before this instant have all been answered (or have failed)."""
        return min([now, *self.in_flight.values()])


class Load:
    def __init__(self, url: str, instances: Mapping[str, str], run_id: str) -> None:
        self.url = url
        self.instances = dict(instances)
        self.run_id = run_id
        self.users: list[User] = []
        self.slugs: list[str] = []
        self.setup_statuses: list[str] = []
        self._ids = itertools.count()
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=200)
        self.client = httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT, limits=limits)

    async def close(self) -> None:
        await self.client.aclose()

    def phase(self, name: str) -> Phase:
        return Phase(prefix=f"chaos-{self.run_id}-{name}-")

    async def sign_up(self, count: int) -> None:
        """Create `count` users through HAProxy, a few at a time, retrying until 30 s pass."""
        gate = asyncio.Semaphore(5)

        async def one(index: int) -> User:
            name = f"chaos{self.run_id}u{index}"
            body = {"user": {"username": name, "email": f"{name}@chaos.test", "password": PASSWORD}}
            deadline = time.monotonic() + 30
            async with gate:
                while True:
                    try:
                        response = await self.client.post("/api/users", json=body)
                        self.setup_statuses.append(str(response.status_code))
                        if response.status_code == 201:
                            return User(index, response.json()["user"]["token"])
                    except httpx.TransportError as exc:
                        self.setup_statuses.append(CONN)
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"sign-up of {name} failed: {exc!r}") from exc
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"sign-up of {name} failed: {response.text}")
                    await asyncio.sleep(0.5)

        self.users = list(await asyncio.gather(*(one(i) for i in range(count))))

    async def users_until(self, phase: Phase, stop: asyncio.Event, think: float = THINK) -> None:
        """Every user loops over reads and writes until `stop`; each finishes its write."""
        await asyncio.gather(*(self._user(phase, user, stop, think) for user in self.users))

    async def poll_ready(self, phase: Phase, stop: asyncio.Event) -> None:
        await asyncio.gather(*(self._poll(phase, n, u, stop) for n, u in self.instances.items()))

    async def _user(self, phase: Phase, user: User, stop: asyncio.Event, think: float) -> None:
        rng = random.Random()
        while not stop.is_set():
            if rng.random() < WRITE_SHARE:
                await self._write(phase, user)
            else:
                await self._read(phase, user, rng)
            await asyncio.sleep(think * rng.uniform(0.5, 1.5))

    async def _send(
        self, phase: Phase, method: str, path: str, *, write: bool = False, **options: Any
    ) -> httpx.Response | None:
        """One request, recorded; None when no answer came (connection error, timeout)."""
        ident = next(self._ids)
        start = time.monotonic()
        phase.in_flight[ident] = start
        response: httpx.Response | None = None
        try:
            response = await self.client.request(method, path, **options)
            status = str(response.status_code)
        except httpx.TimeoutException:
            status = TIMEOUT
        except httpx.TransportError:
            status = CONN
        finally:
            del phase.in_flight[ident]
        phase.requests.append(Request(start, time.monotonic(), status, write))
        return response

    async def _read(self, phase: Phase, user: User, rng: random.Random) -> None:
        auth = {"Authorization": f"Token {user.token}"}
        choice = rng.random()
        if choice < 0.35:
            await self._send(phase, "GET", "/api/articles", params={"limit": 10}, headers=auth)
        elif choice < 0.65 and self.slugs:
            slug = rng.choice(self.slugs[-200:])
            await self._send(phase, "GET", f"/api/articles/{slug}", headers=auth)
        elif choice < 0.85:
            await self._send(phase, "GET", "/api/tags")
        else:
            await self._send(phase, "GET", "/api/user", headers=auth)

    async def _write(self, phase: Phase, user: User) -> None:
        write = Write(f"{phase.prefix}{user.index}-{next(self._ids)}")
        phase.writes.append(write)
        article = {
            "title": write.title,
            "description": "written by the fault suite",
            "body": f"An article of user {user.index}, sent until acknowledged.",
            "tagList": ["chaos", f"chaos{user.index % 5}"],
        }
        headers = {"Authorization": f"Token {user.token}", "Idempotency-Key": uuid.uuid4().hex}
        first = write.first = time.monotonic()
        deadline = first + WRITE_DEADLINE
        while True:
            response = await self._send(
                phase,
                "POST",
                "/api/articles",
                write=True,
                json={"article": article},
                headers=headers,
            )
            write.seconds = time.monotonic() - first
            if response is not None and response.is_success:
                write.acknowledged = True
                write.acknowledged_at = time.monotonic()
                write.outcome = "acknowledged"
                self.slugs.append(response.json()["article"]["slug"])
                return
            if response is not None and not _retryable(response.status_code):
                write.outcome = str(response.status_code)
                return
            if time.monotonic() >= deadline:
                write.outcome = "given up"
                return
            await asyncio.sleep(_pause(response))

    async def _poll(self, phase: Phase, name: str, url: str, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=3.0) as client:
            while not stop.is_set():
                at = time.monotonic()
                try:
                    response = await client.get(f"{url}/ready")
                    code, status = str(response.status_code), _status_of(response)
                except httpx.TimeoutException:
                    code, status = TIMEOUT, "-"
                except httpx.TransportError:
                    code, status = CONN, "-"
                phase.probes.append(Probe(at, name, code, status))
                await asyncio.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - at)))


def _retryable(status: int) -> bool:
    return status >= 500 or status in (409, 429)


def _pause(response: httpx.Response | None) -> float:
    """Retry-After when the answer has one (capped), else a short pause with some jitter."""
    if response is not None:
        try:
            wait = float(response.headers.get("retry-after", ""))
            return max(min(wait, RETRY_AFTER_CAP), 0.05)
        except ValueError:
            pass
    return random.uniform(0.1, 0.4)


def _status_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "-"
    return str(body.get("status", "-")) if isinstance(body, dict) else "-"
