"""Account protection: the password policy and throttled logins."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from conduit.main import create_app
from conduit.users.protection import ThrottleMemoryStorage
from tests.factories import PASSWORD, auth, error_body, register

THROTTLED = {"errors": {"credentials": ["too many failed attempts"]}}


async def sign_up(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    user = {"username": username, "email": f"{username}@example.com", "password": password}
    return await client.post("/api/users", json={"user": user})


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/users/login", json={"user": {"email": email, "password": password}}
    )


@pytest.mark.parametrize(
    "password", ["carol12345", "CAROL12345", "carol12345@example.com"], ids=["name", "case", "mail"]
)
async def test_password_may_not_be_the_username_or_email(
    client: httpx.AsyncClient, password: str
) -> None:
    response = await sign_up(client, "carol12345", password)
    assert response.status_code == 422
    assert response.json()["errors"] == {"password": ["must differ from the username and e-mail"]}


async def test_no_composition_rules(client: httpx.AsyncClient) -> None:
    # The RealWorld suites register with "password" and with 64 x "a".
    assert (await sign_up(client, "plain", "password")).status_code == 201
    assert (await sign_up(client, "long", "a" * 64)).status_code == 201
    assert (await sign_up(client, "longest", "b" * 256)).status_code == 201
    assert (await sign_up(client, "toolong", "c" * 257)).status_code == 422


async def test_update_applies_the_policy_to_the_new_password(
    client: httpx.AsyncClient, alice: str
) -> None:
    response = await client.put(
        "/api/user", json={"user": {"password": "alice"}}, headers=auth(alice)
    )
    assert response.status_code == 422
    response = await client.put(
        "/api/user",
        json={"user": {"username": "newname1", "password": "newname1"}},
        headers=auth(alice),
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"password": ["must differ from the username and e-mail"]}


@pytest.fixture
async def strict_client(settings: Any, tmp_path: Path) -> Any:
    common = tmp_path / "common.txt"
    common.write_text("letmein123\nQwertyuiop\n", encoding="utf-8")
    app = create_app(
        settings.model_copy(
            update={"common_passwords_file": str(common), "password_min_length": 10}
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_common_passwords_and_a_longer_minimum_by_setting(strict_client: Any) -> None:
    for password in ("letmein123", "qwertyuiop"):
        response = await sign_up(strict_client, "dave", password)
        assert response.json()["errors"] == {"password": ["is too common"]}
    short = await sign_up(strict_client, "dave", "123456789")
    assert short.json()["errors"] == {"password": ["is too short (minimum is 10 characters)"]}
    assert (await sign_up(strict_client, "dave", "correct horse")).status_code == 201


async def test_five_failures_throttle_the_account_even_for_the_right_password(
    client: httpx.AsyncClient,
) -> None:
    await register(client, "erin")
    for _ in range(5):
        assert (await login(client, "erin@example.com", "wrong-pass")).status_code == 401
    for password in ("wrong-pass", PASSWORD):
        response = await login(client, "erin@example.com", password)
        assert response.status_code == 429
        assert error_body(response) == THROTTLED
        assert 1 <= int(response.headers["Retry-After"]) <= 900
    # The OAuth2 token endpoint shares the count.
    form = {"username": "erin@example.com", "password": PASSWORD}
    assert (await client.post("/api/auth/token", data=form)).status_code == 429
    # Another account is not affected.
    await register(client, "frank")
    assert (await login(client, "frank@example.com", PASSWORD)).status_code == 200


async def test_unknown_accounts_are_throttled_alike(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await login(client, "ghost@example.com", "wrong-pass")).status_code == 401
    response = await login(client, "ghost@example.com", "wrong-pass")
    assert response.status_code == 429
    assert error_body(response) == THROTTLED


async def test_a_success_resets_the_count(client: httpx.AsyncClient) -> None:
    await register(client, "gina")
    for _ in range(4):
        await login(client, "gina@example.com", "wrong-pass")
    assert (await login(client, "gina@example.com", PASSWORD)).status_code == 200
    for _ in range(4):
        assert (await login(client, "gina@example.com", "wrong-pass")).status_code == 401
    assert (await login(client, "gina@example.com", PASSWORD)).status_code == 200


@pytest.fixture
async def two_instances(settings: Any) -> Any:
    """Two application instances sharing one Redis, as two servers would."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    shared = settings.model_copy(
        update={"redis_url": url, "redis_key_prefix": f"test-{uuid.uuid4().hex}"}
    )
    clients = []
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(2):
            app = create_app(shared)
            await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=app)
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://test")
                )
            )
        yield clients


async def test_throttling_is_shared_through_redis(two_instances: Any) -> None:
    first, second = two_instances
    await register(first, "hana")
    for _ in range(5):
        assert (await login(first, "hana@example.com", "wrong-pass")).status_code == 401
    response = await login(second, "hana@example.com", PASSWORD)
    assert response.status_code == 429
    assert error_body(response) == THROTTLED


async def test_throttling_fails_open_when_redis_is_down(settings: Any) -> None:
    app = create_app(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await register(client, "ivan")
            for _ in range(6):
                assert (await login(client, "ivan@example.com", "wrong-pass")).status_code == 401
            assert (await login(client, "ivan@example.com", PASSWORD)).status_code == 200


async def test_a_success_while_old_failures_expire_breaks_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A login succeeds (its count is cleared) while the in-process store's expiry task is
    half-way through the keys: the task finishes, and the count starts again from zero."""
    storage = ThrottleMemoryStorage()
    for key in ("a", "b"):
        assert await storage.acquire_entry(key, limit=5, expiry=60)
    assert storage.timer is not None
    await storage.timer  # the expiry run scheduled by the first failure

    real_to_thread = asyncio.to_thread

    async def clear_b_meanwhile(func: Any, /, *args: Any) -> Any:
        monkeypatch.setattr(asyncio, "to_thread", real_to_thread)
        await storage.clear("b")  # while the task holds key "a"
        return await real_to_thread(func, *args)

    monkeypatch.setattr(asyncio, "to_thread", clear_b_meanwhile)
    assert await storage.acquire_entry("c", limit=5, expiry=60)  # schedules the next run
    await storage.timer  # raised KeyError with limits' own `clear`

    assert await storage.get_moving_window("b", limit=5, expiry=60) == (
        pytest.approx(time.time(), abs=5),
        0,
    )
    assert (await storage.get_moving_window("a", limit=5, expiry=60))[1] == 1
