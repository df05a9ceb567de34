"""One benchmark run: seed, the ceiling app's loads, Conduit's loads, results as JSON.

Order: seed; start the ceiling app, load it (64 and 16 connections, and its bare route),
stop it; start `conduit serve` as production would, log the signed-in users in through the
API, count each endpoint's SQL statements in-process, load every endpoint (reads first,
writes last), the latency runs at 16 connections and the mixed run, stop it. Each load is
preceded by a warm-up with the same script, whose figures are dropped.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from sqlalchemy.engine import make_url

from bench import wrk as wrk_mod
from bench.scales import SCALES
from bench.scenarios import (
    BARE,
    CEILING,
    CONDUIT,
    LATENCY_CONNECTIONS,
    LATENCY_KEYS,
    MIXED_LABEL,
    MIXED_LOGIN_CONNECTIONS,
    MIXED_READ_KEY,
    SCENARIOS,
    Scenario,
    latency_label,
)
from bench.seed import PASSWORD, asyncpg_dsn, is_sqlite, prepare_database, seed, sqlite_path
from bench.server import (
    Server,
    ceiling_command,
    conduit_command,
    cpu_by_pid,
    cpu_delta,
    free_port,
    with_root_on_path,
)
from conduit.core.config import Settings

console = Console(stderr=True)
RESULTS_DIR = Path(__file__).with_name("results")


@dataclass(slots=True)
class Options:
    scale: str
    database_url: str
    duration: float = 10.0
    warmup: float = 3.0
    connections: int = 64
    workers: int = 1
    server_cpu: str | None = "1"
    wrk_cpu: str | None = "0"
    access_log: bool = True
    redis_url: str | None = None
    seed: bool = True
    signed_in_users: int = 64
    only: Sequence[str] = ()
    settings: dict[str, str] = field(default_factory=dict)  # extra server settings
    results_dir: Path = RESULTS_DIR
    label: str = ""
    suffix: str = ""  # the results file's name: "-growth" for the growth runs of `bench all`


SAMPLE_SQL = {
    # Random live articles, tags by how often they are used, authors by how much they wrote.
    "slug": "SELECT slug FROM articles WHERE deleted_at IS NULL ORDER BY random() LIMIT 2000",
    "tag": "SELECT t.name FROM article_tags x JOIN tags t ON t.id = x.tag_id "
    "ORDER BY random() LIMIT 1000",
    "author": "SELECT u.username FROM articles a JOIN users u ON u.id = a.author_id "
    "WHERE a.deleted_at IS NULL ORDER BY random() LIMIT 1000",
    "email": "SELECT email FROM users WHERE active ORDER BY random() LIMIT 500",
}


async def _pg_query(database_url: str, sql: str) -> list[Any]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


def query(database_url: str, sql: str) -> list[Any]:
    if is_sqlite(database_url):
        with sqlite3.connect(sqlite_path(database_url)) as conn:
            return list(conn.execute(sql).fetchall())
    return asyncio.run(_pg_query(database_url, sql))


def sample_values(database_url: str) -> dict[str, list[str]]:
    values = {
        kind: [str(row[0]) for row in query(database_url, sql)] for kind, sql in SAMPLE_SQL.items()
    }
    values["password"] = [PASSWORD]
    return values


def table_counts(database_url: str) -> dict[str, int]:
    tables = ("users", "tags", "articles", "article_tags", "follows", "favorites", "comments")
    return {t: int(query(database_url, f"SELECT count(*) FROM {t}")[0][0]) for t in tables}


def db_backend_pids(database_url: str) -> set[int]:
    """PostgreSQL backends connected to the benchmark's database (their CPU is the DB's
    share of a request). Empty on SQLite, where the database runs inside the server."""
    if is_sqlite(database_url):
        return set()
    name = make_url(database_url).database
    rows = query(
        database_url,
        f"SELECT pid FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )
    return {int(row[0]) for row in rows}


async def _login(url: str, emails: Sequence[str], parallel: int = 4) -> list[str]:
    tokens: list[str] = []
    limit = asyncio.Semaphore(parallel)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one(email: str) -> None:
            async with limit:
                body = {"user": {"email": email, "password": PASSWORD}}
                response = await client.post("/api/users/login", json=body)
                response.raise_for_status()
                tokens.append(response.json()["user"]["token"])

        await asyncio.gather(*(one(email) for email in emails))
    return tokens


def write_data_file(path: Path, values: dict[str, list[str]]) -> None:
    lines = [f"{kind}\t{value}" for kind, items in values.items() for value in items]
    path.write_text("\n".join(lines) + "\n")


class Bench:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.wrk = wrk_mod.find_wrk()
        self.workdir = Path(tempfile.mkdtemp(prefix="conduit-bench-"))
        self.data_file = self.workdir / "data.tsv"
        self.runs: dict[str, dict[str, Any]] = {}
        self.secret_key = secrets.token_urlsafe(48)
        self.server_settings = self._server_settings()

    def cleanup(self) -> None:
        """Remove the working directory (the servers' logs, the tokens of the data file)."""
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- settings and servers ------------------------------------------------------------

    def _server_settings(self) -> dict[str, str]:
        """What the benchmark server runs with, on top of the defaults."""
        settings = {
            "DATABASE_URL": self.o.database_url,
            "ENVIRONMENT": "production",
            "SECRET_KEY": self.secret_key,
            "RATE_LIMIT_ENABLED": "false",  # the load generator is one client
            "ACCESS_TOKEN_TTL": "86400",  # the tokens of the signed-in users outlast the run
            "MAIL_DIR": str(self.workdir / "mail"),
            "UPLOAD_DIR": str(self.workdir / "uploads"),
        }
        if self.o.redis_url:
            settings["REDIS_URL"] = self.o.redis_url
            settings["REDIS_KEY_PREFIX"] = f"conduit-bench-{secrets.token_hex(4)}"
        settings.update(self.o.settings)
        return settings

    def _env(self) -> dict[str, str]:
        """The environment, less every Conduit setting it held, plus the server settings."""
        names = {name.upper() for name in Settings.model_fields}
        env = {k: v for k, v in os.environ.items() if k.upper() not in names}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return {**env, **self.server_settings}

    def start_conduit(self) -> Server:
        port = free_port()
        cmd = conduit_command(port, self.o.workers, self.o.access_log, self.o.server_cpu)
        return Server("conduit", cmd, self._env(), port, self.workdir, "/ready")

    def start_ceiling(self) -> Server:
        port = free_port()
        env = with_root_on_path({**self._env(), "BENCH_DATABASE_URL": self.o.database_url})
        cmd = ceiling_command(port, self.o.workers, self.o.server_cpu)
        return Server("ceiling", cmd, env, port, self.workdir, "/health")

    def in_process_settings(self) -> Settings:
        values: dict[str, Any] = {k.lower(): v for k, v in self.server_settings.items()}
        values.setdefault("redis_url", None)  # as the server: not from this environment
        values.update(access_log=False, mail_embedded_worker=False, log_level="WARNING")
        return Settings(_env_file=None, **values)

    # --- loads ---------------------------------------------------------------------------

    def load(self, server: Server, scenario: Scenario, connections: int) -> wrk_mod.Load:
        return wrk_mod.Load(
            url=server.url,
            method=scenario.method,
            path=scenario.path,
            auth=scenario.auth,
            body=scenario.body,
            connections=connections,
            seconds=self.o.duration,
            data_file=self.data_file,
        )

    def measure(self, server: Server, scenario: Scenario, connections: int, label: str) -> None:
        load = self.load(server, scenario, connections)
        console.print(f"[bold]{label}[/]: {scenario.title}, {connections} connections", end="")
        server.wait_idle()
        if self.o.warmup > 0:
            wrk_mod.run(self.wrk, replace(load, seconds=self.o.warmup), self.o.wrk_cpu)
            server.wait_idle()
        db_before = cpu_by_pid(db_backend_pids(self.o.database_url))
        cpu_before = server.cpu_seconds()
        result = wrk_mod.run(self.wrk, load, self.o.wrk_cpu)
        cpu_after = server.cpu_seconds()
        db_cpu = cpu_delta(db_before, cpu_by_pid(db_backend_pids(self.o.database_url)))
        self._record(label, scenario, connections, result, cpu_after - cpu_before, db_cpu)

    def _record(
        self,
        label: str,
        scenario: Scenario,
        connections: int,
        result: wrk_mod.WrkResult,
        cpu: float | None,
        db_cpu: float | None,
        *,
        show: bool = True,
    ) -> None:
        per = 1e6 / result.requests if result.requests else 0.0
        run = {
            "label": label,
            "scenario": scenario.key,
            "title": scenario.title,
            "app": scenario.app,
            "connections": connections,
            **result.as_dict(),
            "cpu_us_per_request": None if cpu is None else cpu * per,
            "db_cpu_us_per_request": None
            if db_cpu is None or is_sqlite(self.o.database_url)
            else db_cpu * per,
        }
        self.runs[label] = run
        if show:
            console.print(
                f" -> {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, "
                f"p99 {result.p99_ms:.1f} ms"
                + (f", [red]{result.failed} errors[/]" if result.failed else "")
            )

    def mixed(self, server: Server) -> None:
        """Reads of one article at 16 connections while 8 connections log in continuously."""
        read, login = SCENARIOS[MIXED_READ_KEY], SCENARIOS["login"]
        console.print(f"[bold]{MIXED_LABEL}[/]: {read.title} while 8 connections log in", end="")
        read_load = self.load(server, read, LATENCY_CONNECTIONS)
        login_load = replace(self.load(server, login, MIXED_LOGIN_CONNECTIONS), threads=1)
        server.wait_idle()
        if self.o.warmup > 0:
            warm = [
                wrk_mod.WrkRun(self.wrk, replace(x, seconds=self.o.warmup), self.o.wrk_cpu)
                for x in (login_load, read_load)
            ]
            for run in warm:
                run.result()
            server.wait_idle()
        logins = wrk_mod.WrkRun(self.wrk, login_load, self.o.wrk_cpu)
        reads = wrk_mod.WrkRun(self.wrk, read_load, self.o.wrk_cpu)
        read_result, login_result = reads.result(), logins.result()
        # No CPU per request here: the server's CPU went to both kinds of request at once.
        self._record(MIXED_LABEL, read, LATENCY_CONNECTIONS, read_result, None, None)
        console.print(
            f"   meanwhile logins: {login_result.rps:,.1f} req/s, p99 {login_result.p99_ms:.0f} ms"
        )
        label = "login+" + MIXED_READ_KEY
        self._record(label, login, MIXED_LOGIN_CONNECTIONS, login_result, None, None, show=False)

    # --- the whole run -------------------------------------------------------------------

    def selected(self, scenarios: Sequence[Scenario]) -> list[Scenario]:
        if not self.o.only:
            return list(scenarios)
        return [s for s in scenarios if s.key in self.o.only]

    def run(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        seeded: dict[str, Any] | None = None
        if self.o.seed:
            result = seed(self.o.database_url, SCALES[self.o.scale])
            seeded = {"seconds": round(result.seconds, 1)}
        else:
            prepare_database(self.o.database_url)  # the data as it is, the schema at head
        rows = table_counts(self.o.database_url)
        values = sample_values(self.o.database_url)
        write_data_file(self.data_file, values)  # no tokens yet: the ceiling needs none
        load_avg = os.getloadavg()

        ceiling = self.start_ceiling()
        try:
            for scenario in self.selected([CEILING, BARE]):
                self.measure(ceiling, scenario, self.o.connections, scenario.key)
            if CEILING in self.selected([CEILING]):
                self.measure(ceiling, CEILING, LATENCY_CONNECTIONS, latency_label("ceiling"))
        finally:
            ceiling.stop()

        conduit = self.start_conduit()
        sql: dict[str, int | None] = {}
        try:
            emails = values["email"][: self.o.signed_in_users]
            console.print(f"logging {len(emails)} users in through the API")
            # A login verifies the password before it takes SQLite's write lock, so even
            # there a few can run at once.
            values["token"] = asyncio.run(_login(conduit.url, emails))
            write_data_file(self.data_file, values)
            sql = asyncio.run(_count(self.in_process_settings(), self.selected(CONDUIT), values))
            for scenario in self.selected(CONDUIT):
                if scenario.writes:
                    continue
                self.measure(
                    conduit, scenario, scenario.connections or self.o.connections, scenario.key
                )
            for key in LATENCY_KEYS:
                if key != "ceiling" and key in (s.key for s in self.selected(CONDUIT)):
                    self.measure(conduit, SCENARIOS[key], LATENCY_CONNECTIONS, latency_label(key))
            if not self.o.only or MIXED_READ_KEY in self.o.only:
                self.mixed(conduit)
            for scenario in self.selected(CONDUIT):
                if scenario.writes:
                    self.measure(
                        conduit, scenario, scenario.connections or self.o.connections, scenario.key
                    )
        except BaseException:
            console.print(conduit.tail())
            raise
        finally:
            conduit.stop()
        sql.update({"ceiling": 1, "bare": 0})
        for run in self.runs.values():
            run["sql_per_request"] = sql.get(run["scenario"])
        return {
            "meta": self._meta(started, load_avg),
            "data": {"scale": self.o.scale, "rows": rows, "seed": seeded},
            "runs": self.runs,
        }

    def _meta(self, started: datetime, load_avg: tuple[float, float, float]) -> dict[str, Any]:
        return {
            "label": self.o.label,
            "started": started.isoformat(timespec="seconds"),
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "backend": "sqlite" if is_sqlite(self.o.database_url) else "postgresql",
            "database": _server_version(self.o.database_url),
            "scale": self.o.scale,
            "only": list(self.o.only),
            "suffix": self.o.suffix,
            "duration_s": self.o.duration,
            "warmup_s": self.o.warmup,
            "connections": self.o.connections,
            "latency_connections": LATENCY_CONNECTIONS,
            "workers": self.o.workers,
            "server_cpu": self.o.server_cpu,
            "wrk_cpu": self.o.wrk_cpu,
            "access_log": self.o.access_log,
            "redis": bool(self.o.redis_url),
            "cache_enabled": self.in_process_settings().cache_enabled,
            "settings": {k: v for k, v in self.server_settings.items() if k not in _PRIVATE},
            "wrk": wrk_mod.wrk_version(self.wrk),
            "python": sys.version.split()[0],
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "load_average_before": [round(x, 2) for x in load_avg],
            "commit": _git_commit(),
        }


_PRIVATE = {"SECRET_KEY", "DATABASE_URL", "MAIL_DIR", "UPLOAD_DIR", "REDIS_URL", "REDIS_KEY_PREFIX"}


async def _count(
    settings: Settings, scenarios: Sequence[Scenario], values: dict[str, list[str]]
) -> dict[str, int | None]:
    from bench.sqlcount import count_statements

    return await count_statements(settings, scenarios, values)


def _server_version(database_url: str) -> str:
    if is_sqlite(database_url):
        return f"SQLite {sqlite3.sqlite_version}"
    return (
        str(query(database_url, "SHOW server_version")[0][0]).split()[0].join(("PostgreSQL ", ""))
    )


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    return done.stdout.strip()


def save(results: dict[str, Any], results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    meta = results["meta"]
    # A partial run never overwrites a full run's results.
    suffix = meta.get("suffix") or ("-partial" if meta["only"] else "")
    path = results_dir / f"{meta['scale']}-{meta['backend']}{suffix}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path


def run_benchmark(options: Options, on_saved: Callable[[Path], None] | None = None) -> Path:
    started = time.monotonic()
    bench = Bench(options)
    results = bench.run()
    bench.cleanup()  # kept after a failure: the servers' logs are there
    path = save(results, options.results_dir)
    console.print(f"results: {path} ({time.monotonic() - started:.0f} s)")
    if on_saved is not None:
        on_saved(path)
    return path
