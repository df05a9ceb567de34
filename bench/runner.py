"""One benchmark run: its options, the servers it starts, its loads and their figures,
results as JSON. The order of the run is in bench/plan.py."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console

from bench import wrk as wrk_mod
from bench.samples import (
    db_backend_pids,
)
from bench.scenarios import (
    LATENCY_CONNECTIONS,
    MIXED_LABEL,
    MIXED_LOGIN_CONNECTIONS,
    MIXED_READ_KEY,
    SCENARIOS,
    Scenario,
)
from bench.seed import is_sqlite
from bench.server import (
    Server,
    ServerSpec,
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

    def main_server(self) -> ServerSpec:
        return ServerSpec(self.o.workers, self.o.server_cpu)

    def start_conduit(self, spec: ServerSpec | None = None) -> Server:
        spec = spec or self.main_server()
        port = free_port()
        cmd = conduit_command(port, spec.workers, self.o.access_log, spec.cpu)
        env = {**self._env(), **dict(spec.settings)}
        return Server(spec.name, cmd, env, port, self.workdir, "/ready")

    def start_ceiling(self) -> Server:
        port = free_port()
        env = with_root_on_path({**self._env(), "BENCH_DATABASE_URL": self.o.database_url})
        cmd = ceiling_command(port, self.o.workers, self.o.server_cpu)
        return Server("ceiling", cmd, env, port, self.workdir, "/health")

    def in_process_settings(self, extra: Sequence[tuple[str, str]] = ()) -> Settings:
        values: dict[str, Any] = {k.lower(): v for k, v in [*self.server_settings.items(), *extra]}
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

    def measure(
        self,
        server: Server,
        scenario: Scenario,
        connections: int,
        label: str,
        spec: ServerSpec | None = None,
    ) -> None:
        load = self.load(server, scenario, connections)
        title = scenario.title if spec is None else f"{scenario.title}, {spec.title()}"
        console.print(f"[bold]{label}[/]: {title}, {connections} connections", end="")
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
        self.runs[label]["title"] = title
        if spec is not None:
            self.runs[label]["server"] = spec.describe()

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

    def connections(self, scenario: Scenario) -> int:
        return scenario.connections or self.o.connections

    def run(self) -> dict[str, Any]:
        from bench.plan import run

        return run(self)


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
