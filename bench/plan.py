"""The order of one benchmark run, and what its results file says about it.

Seed; start the ceiling app, load it (64 and 16 connections, and its bare route), stop it;
start `conduit serve` as production would, log the signed-in users in through the API,
count each endpoint's SQL statements in-process, load every endpoint (reads first, writes
last, each write followed by its latency row), the latency runs at 16 connections, the
logins beside reads; stop it. Then each row that needs a server of its own (the mixed
workload on 1 and on 2 workers, the tags with the read cache off):
start that server, load it, stop it, so that two servers never share the server's core.
Each load is preceded by a warm-up with the same script, whose figures are dropped.
"""

from __future__ import annotations

import asyncio
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import wrk as wrk_mod
from bench.runner import Bench, console  # runner imports this module only when it runs
from bench.samples import sample_values, server_version, sign_in, table_counts, write_data_file
from bench.scales import SCALES
from bench.scenarios import (
    BARE,
    CEILING,
    CONDUIT,
    LATENCY_CONNECTIONS,
    LATENCY_KEYS,
    MIXED,
    MIXED_READ_KEY,
    MIXED_WORKERS,
    SCENARIOS,
    Scenario,
    latency_label,
    mixed_label,
)
from bench.seed import is_sqlite, prepare_database, seed
from bench.server import Server, ServerSpec, all_cpus
from conduit.core.config import Settings


def run(bench: Bench) -> dict[str, Any]:
    started = datetime.now(UTC)
    seeded: dict[str, Any] | None = None
    if bench.o.seed:
        result = seed(bench.o.database_url, SCALES[bench.o.scale])
        seeded = {"seconds": round(result.seconds, 1)}
    else:
        prepare_database(bench.o.database_url)  # the data as it is, the schema at head
    rows = table_counts(bench.o.database_url)
    values = sample_values(bench.o.database_url)
    write_data_file(bench.data_file, values)  # no tokens yet: the ceiling needs none
    load_avg = os.getloadavg()

    ceiling = bench.start_ceiling()
    try:
        for scenario in bench.selected([CEILING, BARE]):
            bench.measure(ceiling, scenario, bench.o.connections, scenario.key)
        if CEILING in bench.selected([CEILING]):
            bench.measure(ceiling, CEILING, LATENCY_CONNECTIONS, latency_label("ceiling"))
    finally:
        ceiling.stop()

    selected = bench.selected(CONDUIT)
    main = bench.start_conduit()
    sql: dict[str, int | None] = {}
    try:
        console.print(f"logging {bench.o.signed_in_users} users in through the API")
        # A login verifies the password before it takes SQLite's write lock, so even
        # there a few can run at once.
        sign_in(main.url, values, bench.o.signed_in_users)
        write_data_file(bench.data_file, values)
        sql = count(bench, selected, values)
        on_main_server(bench, main, [s for s in selected if not s.settings])
    except BaseException:
        console.print(main.tail())
        raise
    finally:
        main.stop()
    for spec, scenario, label in own_server_rows(bench, selected):
        server = bench.start_conduit(spec)
        try:
            bench.measure(server, scenario, bench.connections(scenario), label, spec)
        except BaseException:
            console.print(server.tail())
            raise
        finally:
            server.stop()
    sql.update({"ceiling": 1, "bare": 0})
    for run in bench.runs.values():
        run["sql_per_request"] = sql.get(run["scenario"])
    return {
        "meta": _meta(bench, started, load_avg),
        "data": {"scale": bench.o.scale, "rows": rows, "seed": seeded},
        "runs": bench.runs,
    }


def count(
    bench: Bench, scenarios: Sequence[Scenario], values: dict[str, list[str]]
) -> dict[str, Any]:
    """SQL statements per request, each scenario on the settings of its own server."""
    sql: dict[str, int | None] = {}
    for extra in dict.fromkeys(s.settings for s in scenarios):
        group = [s for s in scenarios if s.settings == extra]
        sql.update(asyncio.run(_count(bench.in_process_settings(extra), group, values)))
    return sql


def on_main_server(bench: Bench, server: Server, scenarios: Sequence[Scenario]) -> None:
    """Reads first, then their latency rows and the logins beside reads; the writes
    last, each followed by its latency row."""
    keys = {s.key for s in scenarios}
    for scenario in scenarios:
        if not scenario.writes:
            bench.measure(server, scenario, bench.connections(scenario), scenario.key)
    for key in LATENCY_KEYS:
        if key in keys and not SCENARIOS[key].writes:
            bench.measure(server, SCENARIOS[key], LATENCY_CONNECTIONS, latency_label(key))
    if MIXED_READ_KEY in keys and (not bench.o.only or MIXED_READ_KEY in bench.o.only):
        bench.mixed(server)
    for scenario in scenarios:
        if scenario.writes:
            bench.measure(server, scenario, bench.connections(scenario), scenario.key)
            if scenario.key in LATENCY_KEYS:
                label = latency_label(scenario.key)
                bench.measure(server, scenario, LATENCY_CONNECTIONS, label)


def mixed_selected(bench: Bench) -> bool:
    return not bench.o.only or MIXED.key in bench.o.only


def own_server_rows(
    bench: Bench, selected: Sequence[Scenario]
) -> list[tuple[ServerSpec, Scenario, str]]:
    """The rows that need a server of their own: the mixed workload on each worker count,
    and the scenarios with settings of their own."""
    rows = []
    main = bench.main_server()
    # `conduit serve` turns the read cache off on several workers without Redis (their
    # in-process caches would miss each other's writes): then it is off on 1 worker too, so
    # that the ratio of the two rows is what the second worker adds, not a cache lost.
    cache = () if bench.o.redis_url else (("CACHE_ENABLED", "false"),)
    if mixed_selected(bench):
        for workers in MIXED_WORKERS:
            cpu = main.cpu if workers == 1 else all_cpus(main.cpu, bench.o.wrk_cpu)
            rows.append((ServerSpec(workers, cpu, cache), MIXED, mixed_label(workers)))
    for scenario in selected:
        if scenario.settings:
            spec = replace(main, settings=scenario.settings)
            rows.append((spec, scenario, scenario.key))
    return rows


def _meta(bench: Bench, started: datetime, load_avg: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "label": bench.o.label,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": "sqlite" if is_sqlite(bench.o.database_url) else "postgresql",
        "database": server_version(bench.o.database_url),
        "scale": bench.o.scale,
        "only": list(bench.o.only),
        "suffix": bench.o.suffix,
        "duration_s": bench.o.duration,
        "warmup_s": bench.o.warmup,
        "connections": bench.o.connections,
        "latency_connections": LATENCY_CONNECTIONS,
        "workers": bench.o.workers,
        "server_cpu": bench.o.server_cpu,
        "wrk_cpu": bench.o.wrk_cpu,
        "access_log": bench.o.access_log,
        "redis": bool(bench.o.redis_url),
        "cache_enabled": bench.in_process_settings().cache_enabled,
        "settings": {k: v for k, v in bench.server_settings.items() if k not in _PRIVATE},
        "wrk": wrk_mod.wrk_version(bench.wrk),
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


def _git_commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    return done.stdout.strip()
