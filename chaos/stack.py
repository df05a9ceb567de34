"""The system under test: PostgreSQL and Redis of the suite's own, the schema migrated once,
two `conduit serve` instances, HAProxy in front. Started once, reused by every fault."""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from chaos.postgres import Postgres
from chaos.redis import RedisServer
from chaos.servers import CONDUIT, HAProxy, Instance, free_port

DATABASE = "conduit"
# The suite's clients all come from 127.0.0.1: the per-IP and per-user limits go out of
# their way (still counted in Redis, so a Redis outage goes through the limiter).
RAISED_LIMITS = {
    "RATE_LIMIT_ANON": "100000/minute",
    "RATE_LIMIT_USER": "100000/minute",
    "RATE_LIMIT_AUTH": "100000/minute",
}
# Argon2 at its cheapest: sign-ups would otherwise take the CPU the faults are about.
CHEAP_HASHES = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024"}


class Stack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pg: Postgres | None = None
        self.redis = RedisServer(free_port())
        self.instances: list[Instance] = []
        self.haproxy: HAProxy | None = None

    @property
    def url(self) -> str:
        assert self.haproxy is not None
        return self.haproxy.url

    @property
    def postgres(self) -> Postgres:
        assert self.pg is not None
        return self.pg

    def instance(self, name: str) -> Instance:
        return next(i for i in self.instances if i.name == name)

    @classmethod
    def start(cls) -> Stack:
        stack = cls(Path(tempfile.mkdtemp(prefix="conduit-chaos-")))
        try:
            stack._start()
        except BaseException:
            stack.close()
            raise
        return stack

    def _start(self) -> None:
        self.pg = Postgres.create(free_port(), {"max_connections": "200", "fsync": "on"})
        database_url = self.pg.create_database(DATABASE)
        self.redis.start()
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": self.redis.url,
            "ENVIRONMENT": "production",
            "SECRET_KEY": secrets.token_urlsafe(48),  # one key: either instance reads a token
            "ACCESS_TOKEN_TTL": "7200",  # the users sign up once, before the first fault
            "MAIL_EMBEDDED_WORKER": "false",
            "MAIL_DIR": str(self.workdir / "mail"),
            "UPLOAD_DIR": str(self.workdir / "uploads"),
            "REDIS_KEY_PREFIX": f"chaos-{secrets.token_hex(4)}",
            **RAISED_LIMITS,
            **CHEAP_HASHES,
        }
        migrate = subprocess.run(
            [CONDUIT, "db", "upgrade"],
            env={**os.environ, **env},
            cwd=self.workdir,
            capture_output=True,
            text=True,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"conduit db upgrade failed: {migrate.stderr.strip()}")
        self.instances = [Instance(name, free_port(), self.workdir, env) for name in ("a", "b")]
        for instance in self.instances:
            instance.start()
        self.haproxy = HAProxy(free_port(), {i.name: i.port for i in self.instances}, self.workdir)
        self.haproxy.start()
        if not self.wait_healthy():
            raise RuntimeError(f"the stack did not become healthy (logs in {self.workdir})")

    def wait_healthy(self, timeout: float = 60) -> bool:
        """Every instance runs (a dead one is started again), answers /ready with 200, and
        HAProxy holds it up."""
        assert self.haproxy is not None
        deadline = time.monotonic() + timeout
        for instance in self.instances:
            if not instance.running():
                instance.start()
        while time.monotonic() < deadline:
            if all(_ready(i) for i in self.instances):
                left = max(deadline - time.monotonic(), 1)
                return self.haproxy.wait_up([i.name for i in self.instances], left)
            time.sleep(0.2)
        return False

    def restart_instance(
        self, instance: Instance, signum: signal.Signals, settings: Mapping[str, str] | None
    ) -> None:
        instance.signal(signum)
        instance.start(settings)

    def reconfigure(self, settings: Mapping[str, str] | None) -> None:
        """Restart the instances one after the other with `settings` over their own (None:
        their own only), each held up by HAProxy again before the next one stops."""
        assert self.haproxy is not None
        for instance in self.instances:
            self.restart_instance(instance, signal.SIGTERM, settings)
            self.haproxy.wait_up([instance.name])

    def titles(self, prefix: str) -> str:
        """`title|count` for every article whose title starts with `prefix`."""
        assert not set(prefix) & set("'%_\\"), "a prefix LIKE reads literally"
        return self.postgres.sql(
            f"SELECT title, count(*) FROM articles WHERE title LIKE '{prefix}%' GROUP BY title",
            DATABASE,
        )

    def logs(self) -> list[Path]:
        return [i.log for i in self.instances]

    def close(self) -> None:
        """Stop everything that was started, each step whatever the others did; the logs
        stay in the work directory."""
        steps: list[Callable[[], object]] = [
            *(functools.partial(i.signal, signal.SIGKILL, 10) for i in self.instances),
            self.haproxy.stop if self.haproxy is not None else _nothing,
            self.redis.stop,
            self._destroy_postgres,
        ]
        for step in steps:
            try:
                step()
            except Exception as exc:  # the rest must still be stopped
                print(f"chaos: clean-up step failed: {exc!r}", file=sys.stderr)

    def _destroy_postgres(self) -> None:
        if self.pg is not None:
            if self.pg.log.exists():
                shutil.copy(self.pg.log, self.workdir / "postgres.log")
            self.pg.destroy()
            self.pg = None


def _nothing() -> None:
    return None


def _ready(instance: Instance) -> bool:
    try:
        return httpx.get(f"{instance.url}/ready", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False
