"""The benchmark suite's own pieces (bench/): the synthetic data set, the seeder (on SQLite),
the in-process SQL counter, wrk's results, the profile and the report. The load itself
(wrk against live servers) is what `python -m bench run` does; it is not run here.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.asgi import PROBES, measure_all, render
from bench.data import DataSet
from bench.profile import analyse
from bench.report import growth, render_markdown
from bench.samples import sample_values, table_counts
from bench.scales import SCALES
from bench.scenarios import SCENARIOS, latency_label
from bench.seed import PASSWORD, seed
from bench.sqlcount import count_statements
from bench.wrk import Load, parse
from conduit.core.config import Settings
from conduit.main import create_app
from tests.factories.bench import bench_settings


def _rows(data: DataSet) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for batch in data.batches():
        assert all(len(row) == len(batch.columns) for row in batch.rows)
        tables[batch.table].extend(batch.rows)
    return tables


def test_data_set_is_consistent() -> None:
    scale = SCALES["tiny"]
    tables = _rows(DataSet(scale, "a-hash"))
    users, articles = tables["users"], tables["articles"]
    assert len(users) == scale.users
    assert len(articles) == scale.articles
    assert len(tables["tags"]) == scale.tags
    for column in (1, 2):  # usernames, e-mails
        assert len({u[column] for u in users}) == scale.users
    assert {u[3] for u in users} == {"a-hash"}  # one password hash for all
    assert len({a[1] for a in articles}) == scale.articles  # unique slugs
    assert all(1 <= a[5] <= scale.users for a in articles)
    created = [a[6] for a in articles]
    assert created == sorted(created)  # newest = highest id

    follows = [(f[0], f[1]) for f in tables["follows"]]
    assert len(set(follows)) == len(follows)
    assert all(a != b for a, b in follows)
    assert 10 <= len(follows) / scale.users <= 30

    favorites = [(f[0], f[1]) for f in tables["favorites"]]
    assert len(set(favorites)) == len(favorites)
    comments = tables["comments"]
    assert [c[0] for c in comments] == list(range(1, len(comments) + 1))
    for pairs in (favorites, [(c[3], c[2]) for c in comments]):
        assert all(1 <= user <= scale.users and 1 <= a <= scale.articles for user, a in pairs)
        assert 1 <= len(pairs) / scale.articles <= 6  # ~3 per article

    article_created = {a[0]: a[6] for a in articles}
    for row in tables["favorites"]:
        assert row[3] == article_created[row[1]]  # the article's created_at, its page's order
    assert all(t[2] == article_created[t[0]] for t in tables["article_tags"])
    tagged = [(t[0], t[1]) for t in tables["article_tags"]]
    assert len(set(tagged)) == len(tagged)
    per_article: dict[int, int] = defaultdict(int)
    for article_id, _ in tagged:
        per_article[article_id] += 1
    assert max(per_article.values()) <= 5


def test_the_data_set_is_deterministic() -> None:
    first = _rows(DataSet(SCALES["tiny"], "h"))["favorites"]
    assert first == _rows(DataSet(SCALES["tiny"], "h"))["favorites"]


async def _token(settings: Settings, email: str) -> str:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            body = {"user": {"email": email, "password": PASSWORD}}
            response = await client.post("/api/users/login", json=body)
            assert response.status_code == 200, response.text
            token: str = response.json()["user"]["token"]
            return token
    finally:
        await app.state.cache.close()
        await app.state.db.dispose()


def test_a_seeded_sqlite_database_serves_the_api(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    result = seed(url, SCALES["tiny"], show_progress=False)
    assert table_counts(url) == result.rows
    assert result.rows["articles"] == SCALES["tiny"].articles

    values = sample_values(url)
    assert values["password"] == [PASSWORD]
    settings = bench_settings(url, tmp_path)
    values["token"] = [asyncio.run(_token(settings, values["email"][0]))]
    keys = ("articles", "articles_tag", "feed", "article", "comments", "tags", "favorite")
    counts = asyncio.run(count_statements(settings, [SCENARIOS[k] for k in keys], values))
    # As tests/articles/test_queries.py measures: a list is one page statement (its count
    # and the token check columns of it); the tags are served from the read cache.
    assert counts["articles_tag"] == 1
    assert counts["favorite"] is not None
    assert {k: counts[k] for k in ("articles", "feed", "article", "comments", "tags")} == {
        "articles": 1,
        "feed": 1,
        "article": 1,
        "comments": 2,
        "tags": 0,
    }


def test_wrk_results_and_command() -> None:
    output = (
        "Running 5s test @ http://127.0.0.1:1\n"
        'BENCHJSON {"requests":1000,"duration_us":5000000,"bytes":1,'
        '"errors":{"connect":0,"read":0,"write":0,"status":2,"timeout":0},'
        '"latency_ms":{"mean":3.0,"stdev":1.0,"max":9.0,"p50":2.5,"p90":4.0,'
        '"p99":8.0,"p999":8.9}}\n'
    )
    result = parse(output)
    assert result.rps == 200.0
    assert (result.p50_ms, result.p99_ms, result.failed) == (2.5, 8.0, 2)

    load = Load("http://x", "GET", "/api/articles?tag={tag}", "token", "none", 64, 5, Path("d"))
    command = load.command("wrk", "0")
    assert command[:3] == ["taskset", "-c", "0"]
    assert "--connections=64" in command
    assert command[-5:] == ["d", "GET", "/api/articles?tag={tag}", "token", "none"]


def test_profile_leaves_out_idle_threads() -> None:
    raw = "\n".join(
        [
            "process 1:x;thread (0x1);run (/v/site-packages/uvicorn/main.py:1);"
            "list_articles (/w/src/conduit/articles/router.py:31);"
            "execute (/v/site-packages/sqlalchemy/orm/session.py:9) 30",
            "process 1:x;thread (0x1);run (/v/site-packages/uvicorn/main.py:1);"
            "list_articles (/w/src/conduit/articles/router.py:31) 10",
            "process 1:x;thread (0x2);Condition.wait (threading.py:295) 500",
        ]
    )
    found = analyse(raw)
    assert found.samples == 40
    assert found.own[0] == ("execute (sqlalchemy/orm/session.py:9)", 30)
    assert dict(found.packages) == {"sqlalchemy": 30, "conduit": 10}
    assert found.conduit == [("list_articles (conduit/articles/router.py:31)", 40)]


def _run(key: str, rps: float, p50: float = 5.0, p99: float = 20.0, **extra: Any) -> dict[str, Any]:
    scenario = SCENARIOS[key]
    return {
        "label": key,
        "scenario": key,
        "title": scenario.title,
        "app": scenario.app,
        "connections": 64,
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "errors": {"status": 0},
        "cpu_us_per_request": 100.0,
        "db_cpu_us_per_request": 10.0,
        "sql_per_request": 1,
        **extra,
    }


def _results(scale: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    meta = {
        "label": "",
        "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:01:00+00:00",
        "commit": "abc",
        "machine": "x86_64, 2 CPUs",
        "load_average_before": [0, 0, 0],
        "backend": "postgresql",
        "database": "PostgreSQL 15",
        "scale": scale,
        "workers": 1,
        "server_cpu": "1",
        "wrk_cpu": "0",
        "access_log": True,
        "redis": False,
        "cache_enabled": True,
        "settings": {},
        "wrk": "wrk 4",
        "warmup_s": 1,
        "duration_s": 5,
        "connections": 64,
        "latency_connections": 16,
    }
    data = {"rows": {"articles": 10}, "seed": None}
    return {"meta": meta, "data": data, "runs": {run["label"]: run for run in runs}}


def test_report_shows_each_target_with_pass_or_miss(tmp_path: Path) -> None:
    at16 = latency_label("articles")
    runs = [
        _run("ceiling", 1000),
        _run("bare", 4000),
        _run("articles", 500),  # 50 % of the ceiling: pass
        _run("feed", 100),  # 10 %: miss
        _run("tags", 3900),  # 97 % of bare: pass
        {**_run("articles", 300, p50=10.0, p99=80.0), "label": at16, "connections": 16},
    ]
    for scale, p50 in (("small", 10.0), ("large", 30.0)):
        small_or_large = _results(scale, [{**runs[-1], "p50_ms": p50}])
        (tmp_path / f"{scale}-postgresql.json").write_text(json.dumps(small_or_large))
    assert growth(tmp_path, "postgresql")[0] == 3.0
    # `bench all`'s growth runs are of the same sweep: they win over an older full run.
    newer = _results("small", [{**runs[-1], "p50_ms": 15.0}])
    (tmp_path / "small-postgresql-growth.json").write_text(json.dumps(newer))
    assert growth(tmp_path, "postgresql")[0] == 2.0
    (tmp_path / "small-postgresql-growth.json").unlink()

    text = render_markdown(_results("medium", runs), tmp_path, [tmp_path / "x-throughput.png"])
    lines = {line.split(" | ")[0].lstrip("| "): line for line in text.splitlines()}
    assert lines["GET /api/articles signed in: throughput"].endswith("| 50% | **pass** |")
    assert lines["GET /api/articles signed in: p99 at 16 connections"].endswith("**miss** |")
    assert lines["GET /api/articles/feed: throughput"].endswith("| 10% | **miss** |")
    assert lines["GET /api/tags: throughput"].endswith("| 98% | **pass** |")
    assert lines["GET /api/articles?tag=: throughput"].endswith("| not measured | - |")
    assert "3.00x (10.0 → 30.0 ms) | **miss** |" in text
    assert "![x-throughput](x-throughput.png)" in text


def test_the_asgi_probe_drives_each_request_through_the_app(tmp_path: Path) -> None:
    """`python -m bench asgi`: every probe answers 200 in-process (figures not checked)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}"
    seed(url, SCALES["tiny"], show_progress=False)
    results = measure_all(
        url,
        access_logs=(True,),
        rate_limit=True,
        requests=3,
        warmup=1,
        repeat=2,
        log_file=str(tmp_path / "access.log"),
    )
    assert [r.probe.key for r in results] == [probe.key for probe in PROBES]
    assert all(len(r.rounds) == 2 and r.cpu_us == min(r.rounds) for r in results)
    table = render(results)
    assert "| GET /api/tags (cached) | on |" in table
    assert "| bare FastAPI route (tags body) | - |" in table
