"""Logins and password changes with Argon2 off the request's transaction, rehashing on
login, and 503 when too many hashes wait. The hashing threads are held on an event, so
each test decides what is in flight; nothing is timed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from conduit.auth.models import AuthSession
from conduit.core.security import PasswordHasher
from conduit.users.models import User
from tests.conftest import make_settings
from tests.core.test_password_hashing import Gate, until
from tests.factories import PASSWORD, auth, create_article, register
from tests.factories.sessions import password_grant, set_active

# One hashing thread, and a short busy timeout: on SQLite a write that had to wait for a
# login's lock would fail (a 500) instead of waiting the default 5 s.
ONE_THREAD = {"argon2_threads": 1, "argon2_queue": 8, "sqlite_busy_timeout_ms": 200}
NEW_PASSWORD = "a-brand-new-password"


async def log_in(
    client: httpx.AsyncClient, email: str = "alice@example.com", password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/users/login", json={"user": {"email": email, "password": password}}
    )


async def stored_hash(app: Any, email: str = "alice@example.com") -> str:
    async with app.state.db.session(write=False) as session:
        found: str = (
            await session.execute(select(User.password_hash).where(User.email == email))
        ).scalar_one()
    return found


async def set_stored_hash(app: Any, value: str, email: str = "alice@example.com") -> None:
    async with app.state.db.session() as session:
        await session.execute(update(User).where(User.email == email).values(password_hash=value))


async def session_count(app: Any) -> int:
    async with app.state.db.session(write=False) as session:
        return int(
            (await session.execute(select(func.count()).select_from(AuthSession))).scalar_one()
        )


async def legacy_hash(database_url: str, password: str = PASSWORD) -> str:
    """`password` hashed with other Argon2 parameters than the suite's (m=1024, t=1)."""
    old = PasswordHasher(make_settings(database_url, argon2_memory_cost=2048, argon2_time_cost=2))
    try:
        return await old.hash(password)
    finally:
        old.close()


class HeldPool:
    """Occupies the app's only hashing thread until `release()` (or the test's end)."""

    def __init__(self, app: Any) -> None:
        self.pool = app.state.passwords.pool
        self.gate = Gate()
        self.task: asyncio.Task[Any] | None = None

    async def hold(self) -> None:
        self.task = asyncio.create_task(self.pool.run(self.gate.job()))
        await until(lambda: self.gate.started == 1)

    async def waiting(self, jobs: int) -> None:
        """Until `jobs` requests wait for the thread."""
        await until(lambda: self.pool.pending == 1 + jobs)

    async def release(self) -> None:
        self.gate.release.set()
        if self.task is not None:
            await self.task


@pytest.fixture
async def held(app: Any) -> AsyncIterator[HeldPool]:
    holder = HeldPool(app)
    try:
        yield holder
    finally:  # a failed test must not leave requests waiting (and holding locks)
        await holder.release()


@pytest.mark.settings(**ONE_THREAD)
async def test_a_login_waiting_for_its_hash_holds_no_database_lock(
    app: Any, client: httpx.AsyncClient, held: HeldPool
) -> None:
    await register(client, "alice")
    bob = await register(client, "bob")
    await held.hold()
    login = asyncio.create_task(log_in(client))
    await held.waiting(1)
    # Bob writes while Alice's password check waits: no lock of hers is in his way.
    await create_article(client, bob, "Written during a login")
    assert not login.done()
    await held.release()
    assert (await login).status_code == 200


@pytest.mark.settings(**ONE_THREAD)
async def test_a_password_change_waiting_for_its_hash_holds_no_database_lock(
    app: Any, client: httpx.AsyncClient, held: HeldPool
) -> None:
    alice = await register(client, "alice")
    bob = await register(client, "bob")
    await held.hold()
    change = asyncio.create_task(
        client.put("/api/user", json={"user": {"password": NEW_PASSWORD}}, headers=auth(alice))
    )
    await held.waiting(1)
    await create_article(client, bob, "Written during a password change")
    assert not change.done()
    await held.release()
    assert (await change).status_code == 200, (await change).text
    assert (await log_in(client, password=NEW_PASSWORD)).status_code == 200
    assert (await log_in(client)).status_code == 401


@pytest.mark.settings(**ONE_THREAD)
async def test_a_password_change_without_valid_credentials_hashes_nothing(
    app: Any, client: httpx.AsyncClient, held: HeldPool
) -> None:
    await held.hold()  # any hash would wait here, and the request with it
    body = {"user": {"password": NEW_PASSWORD}}
    for headers in ({}, auth("not-a-token"), {"X-API-Key": "cdt_unknown"}):
        response = await client.put("/api/user", json=body, headers=headers)
        assert response.status_code == 401, response.text
    assert app.state.passwords.pool.pending == 1
    await held.release()


async def test_a_hash_with_old_parameters_is_renewed_on_login(
    app: Any, client: httpx.AsyncClient, database_url: str
) -> None:
    await register(client, "alice")
    legacy = await legacy_hash(database_url)
    await set_stored_hash(app, legacy)
    assert (await log_in(client, password="wrong-password")).status_code == 401
    assert await stored_hash(app) == legacy  # a failed login changes nothing
    assert (await log_in(client)).status_code == 200
    renewed = await stored_hash(app)
    assert renewed != legacy
    assert "$m=1024,t=1,p=1$" in renewed
    assert (await log_in(client)).status_code == 200
    assert await stored_hash(app) == renewed  # current parameters: left as it is


@pytest.mark.settings(**ONE_THREAD)
async def test_two_first_logins_after_a_parameter_change_both_succeed(
    app: Any, client: httpx.AsyncClient, held: HeldPool, database_url: str
) -> None:
    """Both read the old hash; the second to write finds it renewed by the first, checks
    the password against the renewed one and goes on."""
    await register(client, "alice")
    await set_stored_hash(app, await legacy_hash(database_url))
    await held.hold()
    logins = [asyncio.create_task(log_in(client)) for _ in range(2)]
    await held.waiting(2)
    await held.release()
    assert [(await login).status_code for login in logins] == [200, 200]
    assert "$m=1024,t=1,p=1$" in await stored_hash(app)


@pytest.mark.settings(**ONE_THREAD)
async def test_a_password_changed_while_the_login_was_checked_does_not_open_it(
    app: Any, client: httpx.AsyncClient, held: HeldPool
) -> None:
    await register(client, "alice")
    changed = await app.state.passwords.hash(NEW_PASSWORD)
    await held.hold()
    login = asyncio.create_task(log_in(client))  # the old password, still the right one
    await held.waiting(1)
    await set_stored_hash(app, changed)  # changed meanwhile
    await held.release()
    response = await login
    assert response.status_code == 401, response.text
    assert response.json()["errors"] == {"credentials": ["invalid"]}
    assert await session_count(app) == 1  # registration's only


@pytest.mark.settings(**ONE_THREAD)
async def test_an_account_deactivated_while_the_login_was_checked_is_refused(
    app: Any, client: httpx.AsyncClient, held: HeldPool
) -> None:
    await register(client, "alice")
    await held.hold()
    login = asyncio.create_task(log_in(client))  # the right password, an active account
    grant = asyncio.create_task(password_grant(client, "alice"))
    await held.waiting(2)
    await set_active(app, "alice", False)  # deactivated meanwhile
    await held.release()
    for response in (await login, await grant):
        assert response.status_code == 403, response.text
        assert response.json()["errors"] == {"user": ["is deactivated"]}
    assert (await session_count(app)) == 1  # registration's only


@pytest.mark.settings(argon2_threads=1, argon2_queue=0)
async def test_beyond_the_hashing_queue_logins_and_sign_ups_answer_503(
    app: Any, client: httpx.AsyncClient, held: HeldPool
) -> None:
    await register(client, "alice")
    await held.hold()
    user = {"username": "bob", "email": "bob@example.com", "password": PASSWORD}
    for response in (
        await log_in(client),
        await client.post("/api/users", json={"user": user}),
        await client.post(
            "/api/auth/token", data={"username": "alice@example.com", "password": PASSWORD}
        ),
    ):
        assert response.status_code == 503, response.text
        assert response.json()["errors"] == {"server": ["is busy, try again shortly"]}
        assert int(response.headers["Retry-After"]) >= 1
    await held.release()
    assert (await log_in(client)).status_code == 200
