"""The benchmark's write rows, its rows on servers of their own and the targets of issue 24
(bench/scenarios.py, bench/plan.py, bench/report.py): figures are made up, nothing is timed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.report import render_markdown
from bench.samples import sample_values
from bench.scales import SCALES
from bench.scenarios import SCENARIOS, latency_label, mixed_label
from bench.seed import seed
from bench.server import ServerSpec, all_cpus
from bench.sqlcount import count_statements
from bench.wrk import Load
from conduit.core.config import Settings
from tests.factories.bench import bench_settings
from tests.test_bench import _results, _run, _token


def test_the_write_rows_and_the_uncached_tags_have_a_statement_count(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    seed(url, SCALES["tiny"], show_progress=False)
    values = sample_values(url)
    assert values["username"]

    def settings(**extra: object) -> Settings:
        return bench_settings(url, tmp_path, **extra)

    values["token"] = [asyncio.run(_token(settings(), values["email"][0]))]
    writes = [SCENARIOS[k] for k in ("create_article", "favorite", "comment")]
    counts = asyncio.run(count_statements(settings(), [*writes, SCENARIOS["tags"]], values))
    assert all(counts[s.key] for s in writes), counts
    assert counts["tags"] == 0  # served from the read cache
    uncached = SCENARIOS["tags_uncached"]
    assert dict(uncached.settings) == {"CACHE_ENABLED": "false"}
    off = settings(cache_enabled=False)
    assert asyncio.run(count_statements(off, [uncached], values)) == {"tags_uncached": 1}


def test_the_mixed_workload_is_wrk_lua_in_its_mix_mode() -> None:
    mixed = SCENARIOS["mixed"]
    load = Load("http://x", mixed.method, mixed.path, mixed.auth, mixed.body, 64, 5, Path("d"))
    assert load.command("wrk", None)[-5:] == ["d", "MIX", "-", "token", "none"]
    assert "MIX" in (Path(__file__).parents[1] / "bench" / "wrk.lua").read_text()


def test_a_server_of_two_workers_gets_the_servers_and_wrks_cpus() -> None:
    assert all_cpus("1", "0") == "1,0"
    assert all_cpus(None, "0") is None  # the main server is not pinned: nor is this one
    spec = ServerSpec(2, "1,0", (("CACHE_ENABLED", "false"),))
    assert spec.title() == "2 workers"
    assert spec.describe() == {"workers": 2, "cpu": "1,0", "settings": {"CACHE_ENABLED": "false"}}


def test_the_report_shows_the_targets_of_the_writes(tmp_path: Path) -> None:
    def mixed(workers: int, rps: float) -> dict[str, object]:
        server = {"workers": workers, "cpu": "1", "settings": {}}
        label = mixed_label(workers)
        return {**_run("mixed", rps), "label": label, "sql_per_request": None, "server": server}

    create16 = {
        **_run("create_article", 90, p99=60.0, sql_per_request=9),
        "label": latency_label("create_article"),
    }
    runs = [
        _run("ceiling", 1000),
        _run("create_article", 300, cpu_us_per_request=1400.0, sql_per_request=9),  # 30 %
        {**create16, "connections": 16},
        _run("favorite", 390, sql_per_request=5),  # 39 %: miss
        _run("comment", 400, sql_per_request=4, errors={"status": 3, "timeout": 1}),
        _run("tags_uncached", 900, cpu_us_per_request=450.0),
        mixed(1, 1000),
        mixed(2, 1700),
    ]
    text = render_markdown(_results("medium", runs), tmp_path, [])
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()}
    assert lines["POST /api/articles: throughput"].endswith("| 30% | **pass** |")
    assert lines["POST /api/articles: server CPU per request"].endswith("| 1,400 µs | **pass** |")
    assert lines["POST /api/articles: p99 at 16 connections"].endswith("| 60.0 ms | **miss** |")
    assert lines["POST /api/articles/{slug}/favorite: throughput"].endswith("| 39% | **miss** |")
    assert lines["POST /api/articles/{slug}/comments: throughput"].endswith("| 40% | **pass** |")
    tags = "GET /api/tags, read cache off: server CPU per request"
    assert lines[tags].endswith("| 450 µs | **miss** |")
    both = "mixed workload: throughput, 2 workers / 1 worker"
    assert lines[both].endswith("| 1.70x | **pass** |")
    results = [row.split(" | ") for row in text.splitlines() if len(row.split(" | ")) == 10]
    writes = [row for row in results if row[0].startswith("| POST /api/articles")]
    assert [row[8] for row in writes] == ["9", "9", "5", "4"]  # SQL/req
    assert "| 4 (status 3, timeout 1) |" in text
    mixed_rows = [row for row in results if row[0].startswith("| mixed workload")]
    assert [(row[3], row[8]) for row in mixed_rows] == [("-", "-")] * 2  # no ceiling, no SQL
    assert ": `conduit serve --workers 2`, pinned to CPUs 1." in text
