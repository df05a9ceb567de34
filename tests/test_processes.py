"""Two real server processes on one database: sessions end everywhere at once, and login
throttling is shared through Redis when REDIS_URL is set (each process counts alone
without it)."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command

from conduit.cli import alembic_config
from tests import live
from tests.factories import PASSWORD
from tests.live import TEST_PORTS, free_port


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[str]]:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    command.upgrade(alembic_config(database_url), "head")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "SECRET_KEY": "two-processes-share-this-secret-key-for-tokens",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "MAIL_EMBEDDED_WORKER": "false",
        "MAIL_DIR": str(tmp_path / "mail"),
        "REDIS_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    urls, processes = [], []
    try:
        for _ in range(2):
            port = free_port()
            processes.append(
                subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "conduit.asgi:app",
                        "--port",
                        str(port),
                        "--no-access-log",
                    ],
                    env=env,
                    cwd=tmp_path,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            _wait_until_up(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(f"{url}/api/tags", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not start")


def test_logout_in_one_process_is_refused_by_the_other(servers: list[str]) -> None:
    first, second = servers
    user = {"username": "quinn", "email": "quinn@example.com", "password": PASSWORD}
    token = httpx.post(f"{first}/api/users", json={"user": user}).json()["user"]["token"]
    headers = {"Authorization": f"Token {token}"}
    assert httpx.get(f"{second}/api/user", headers=headers).status_code == 200
    assert httpx.post(f"{first}/api/auth/logout", headers=headers).status_code == 204
    assert httpx.get(f"{second}/api/user", headers=headers).status_code == 401


def test_login_throttling_across_processes(servers: list[str]) -> None:
    first, second = servers
    user = {"username": "rosa", "email": "rosa@example.com", "password": PASSWORD}
    assert httpx.post(f"{first}/api/users", json={"user": user}).status_code == 201
    wrong = {"user": {"email": "rosa@example.com", "password": "wrong-pass"}}
    for _ in range(5):
        assert httpx.post(f"{first}/api/users/login", json=wrong).status_code == 401
    right = {"user": {"email": "rosa@example.com", "password": PASSWORD}}
    expected = 429 if os.environ.get("REDIS_URL") else 200  # shared only through Redis
    assert httpx.post(f"{second}/api/users/login", json=right).status_code == expected
    assert httpx.post(f"{first}/api/users/login", json=right).status_code == 429


def test_free_ports_of_parallel_workers_never_meet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under pytest-xdist, the workers hand out ports from TEST_PORTS, each one free, none
    twice in a row and none that another worker hands out (two workers included: Linux
    gives a bind to port 0 odd ports only)."""
    for count in (1, 2, 3):
        monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(count))
        taken: set[int] = set()
        for index in range(count):
            monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{index}")
            # each worker is a process of its own: the same start would be the worst case
            monkeypatch.setattr(live, "_handed_out", itertools.count(0))
            ports = {free_port() for _ in range(50)}
            assert len(ports) == 50
            assert ports <= set(TEST_PORTS)
            assert not ports & taken
            taken |= ports


def test_free_port_skips_a_port_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    busy = free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", busy))
        taken.listen()
        # the next port handed out would be the busy one
        monkeypatch.setattr(live, "_handed_out", itertools.count(busy - TEST_PORTS.start))
        assert free_port() != busy


def test_a_fresh_start_prints_no_warning(tmp_path: Path) -> None:
    """`conduit serve` on an empty SQLite file migrates it and serves, and says nothing but
    its start-up lines: no warning (an SAWarning from migration 0007 once opened every log)."""
    server = live.start_server(tmp_path, name="fresh")
    try:
        assert httpx.get(f"{server.url}/api/articles/", timeout=5).status_code == 200
    finally:
        server.terminate()
    log = server.log()
    assert "Application startup complete" in log
    assert "Warning" not in log, log
