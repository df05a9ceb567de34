"""Where a request's CPU goes: py-spy samples the server under wrk load (the database as
seeded, nothing re-seeded), and the top frames by own time and by inclusive time are
written to bench/results/profile-<scenario>-<scale>-<backend>.md.

py-spy samples only threads that are running Python (idle waits are left out), at the
start of each function (`--function`), so the percentages are shares of the server's busy
time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from bench import wrk as wrk_mod
from bench.runner import Bench, Options, console
from bench.samples import sample_values, sign_in, write_data_file
from bench.scenarios import SCENARIOS
from bench.seed import is_sqlite

TOP = 15


def find_py_spy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError("py-spy not found: pip install -e '.[bench]'")
    return found


IDLE_LEAVES = ("Condition.wait (threading.py", "Queue.get (queue.py", "select (selectors.py")


def _where(frame: str) -> str:
    """`name (/long/path/site-packages/pkg/mod.py:12)` -> `pkg/mod.py:12`."""
    where = frame.partition(" (")[2].rstrip(")")
    for marker in ("site-packages/", "/src/", "/lib/python3.11/", "/lib/python3"):
        if marker in where:
            return where.split(marker, 1)[1]
    return where


def _short(frame: str) -> str:
    name = frame.partition(" (")[0]
    where = _where(frame)
    return f"{name} ({where})" if where else name


def _package(frame: str) -> str:
    where = _where(frame)
    top = where.split("/", 1)[0] if "/" in where else where.split(".py", 1)[0]
    return top or "?"


@dataclass(frozen=True, slots=True)
class Profile:
    samples: int  # busy samples (threads waiting for work left out)
    own: list[tuple[str, int]]  # frames by samples spent in them
    conduit: list[tuple[str, int]]  # Conduit's own functions by inclusive samples
    packages: list[tuple[str, int]]  # own samples by package (sqlalchemy, asyncpg, ...)


def busy_stacks(raw: str, idle: tuple[str, ...] = IDLE_LEAVES) -> Iterator[tuple[list[str], int]]:
    """Each stack of py-spy's raw output (its frames, outermost first, without the process
    and thread frames) with its samples, leaving out stacks whose leaf is idle: a waiting
    worker thread (Argon2's pool) that py-spy saw as active."""
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or not frames[-1] or frames[-1].startswith(idle):
            continue
        yield frames, int(count_text)


def analyse(raw: str) -> Profile:
    own: Counter[str] = Counter()
    conduit: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for frames, count in busy_stacks(raw):
        total += count
        own[_short(frames[-1])] += count
        packages[_package(frames[-1])] += count
        for frame in {_short(f) for f in frames}:
            if "(conduit/" in frame and "(conduit/cli.py" not in frame:
                conduit[frame] += count
    return Profile(total, own.most_common(TOP), conduit.most_common(TOP), packages.most_common(TOP))


def _table(rows: list[tuple[str, int]], total: int, title: str) -> list[str]:
    lines = [f"| {title} | samples | share |", "| --- | ---: | ---: |"]
    for frame, count in rows:
        lines.append(f"| `{frame}` | {count} | {count / total:.1%} |")
    return lines


def profile(options: Options, scenario_key: str, seconds: float, connections: int) -> Path:
    scenario = SCENARIOS[scenario_key]
    py_spy = find_py_spy()
    bench = Bench(options)
    values = sample_values(options.database_url)
    raw_path = bench.workdir / "profile.txt"
    server = bench.start_conduit()
    try:
        parallel = 1 if is_sqlite(options.database_url) else 4  # see Bench.run
        sign_in(server.url, values, options.signed_in_users, parallel)
        write_data_file(bench.data_file, values)
        load = bench.load(server, scenario, connections)
        wrk_mod.run(bench.wrk, replace(load, seconds=options.warmup), options.wrk_cpu)
        console.print(f"profiling {scenario.title} for {seconds:g} s at {connections} connections")
        spy = subprocess.Popen(
            [
                *(py_spy, "record", "--pid", str(server.proc.pid), "--duration", f"{seconds:g}"),
                *("--rate", "200", "--format", "raw", "--function", "--subprocesses"),
                *("--output", str(raw_path)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        result = wrk_mod.run(bench.wrk, replace(load, seconds=seconds), options.wrk_cpu)
        _, errors = spy.communicate(timeout=seconds + 60)
        if spy.returncode != 0:
            raise RuntimeError(f"py-spy failed: {errors}")
    finally:
        server.stop()
    found = analyse(raw_path.read_text())
    bench.cleanup()
    backend = "sqlite" if is_sqlite(options.database_url) else "postgresql"
    out = options.results_dir / f"profile-{scenario_key}-{options.scale}-{backend}.md"
    lines = [
        f"# Profile: {scenario.title}, {options.scale} scale, {backend}",
        "",
        f"py-spy (200 Hz, `--function`, idle threads left out) on `conduit serve --workers "
        f"{options.workers}` for {seconds:g} s under wrk at {connections} connections: "
        f"{result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms; "
        f"{found.samples} busy samples (a thread running or waiting for the CPU; threads "
        "waiting for work are left out). Shares are of the busy samples. "
        "Command: `python -m bench profile --scenario "
        f"{scenario_key} --scale {options.scale}` (on a database seeded at that scale).",
        "",
        f"## Top {TOP} frames by own time",
        "",
        *_table(found.own, found.samples, "frame (own time)"),
        "",
        "## Own time by package",
        "",
        *_table(found.packages, found.samples, "package"),
        "",
        "## Conduit's functions by inclusive time",
        "",
        *_table(found.conduit, found.samples, "function (inclusive)"),
        "",
    ]
    out.write_text("\n".join(lines))
    return out
