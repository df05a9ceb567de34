"""Real server processes for live tests: `conduit serve` in a subprocess, as a user runs it.

Each server gets a SQLite file under the test's tmp_path (unless `database_url` is given),
migrated by `conduit serve` itself, cheap Argon2 settings, no embedded mail worker, and
REDIS_URL from the environment (so the PostgreSQL + Redis pass of CI shares state through
Redis). `extra_env` overrides anything, e.g. {"RATE_LIMIT_ANON": "5/minute"}.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

CONDUIT = str(Path(sys.executable).with_name("conduit"))
SECRET = "live-servers-share-this-secret-key-for-tokens"


# Ports for the servers the tests start: below Linux's ephemeral range (32768-60999), where
# the kernel puts every outgoing connection's local port and every bind to port 0.
TEST_PORTS = range(20000, 32768)
_handed_out = itertools.count(random.randrange(len(TEST_PORTS)))


def free_port() -> int:
    """A port nothing listens on now, for a server started next.

    The port is released before that server binds it, so it must not be handed to anyone
    else meanwhile: each pytest-xdist worker takes its own share of `TEST_PORTS` (every
    n-th port, from its index), and goes through it in turn, so two workers never pick the
    same port and one worker picks a port again only after thousands of others. (Not a
    bind to port 0: Linux gives those odd ports only, and gives the same one back at once.)"""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    ours = TEST_PORTS[index::count]
    while True:
        port = ours[next(_handed_out) % len(ours)]
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use
        return port


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if httpx.get(f"{self.url}/api/tags", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.url} did not start:\n{self.log()}")

    def terminate(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


def start_server(
    tmp_path: Path,
    *,
    name: str = "server",
    database_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    key_prefix: str | None = None,
    args: tuple[str, ...] = (),
) -> LiveServer:
    """Start `conduit serve` and wait until it answers. Call `.terminate()` when done."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp_path / 'live.db'}",
        "ENVIRONMENT": "test",
        "SECRET_KEY": SECRET,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "1024",
        "MAIL_EMBEDDED_WORKER": "false",
        "SHUTDOWN_DRAIN": "0",  # SIGTERM stops at once unless a test drains on purpose
        "MAIL_DIR": str(tmp_path / "mail"),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "REDIS_KEY_PREFIX": key_prefix or f"test-{uuid.uuid4().hex}",
        **(extra_env or {}),
    }
    log_path = tmp_path / f"{name}-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [CONDUIT, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path, env)
    try:
        server.wait_until_up()
    except BaseException:
        server.process.kill()
        raise
    return server
