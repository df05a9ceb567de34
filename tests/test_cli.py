"""The `conduit` command: migrations and demo data, on a database of its own."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from conduit.cli import app
from conduit.models import Base

runner = CliRunner()


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows} - {"alembic_version", "sqlite_sequence"}


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        value: int = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    return value


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_db_upgrade_and_downgrade(cli_database: Path) -> None:
    invoke("db", "upgrade")
    assert tables(cli_database) == set(Base.metadata.tables)
    invoke("db", "downgrade", "base")
    assert tables(cli_database) == set()


def test_seed_creates_demo_data(cli_database: Path) -> None:
    invoke("db", "upgrade")
    output = invoke("seed", "--users", "4", "--articles", "2")
    assert "seeded 4 users" in output
    assert count(cli_database, "users") == 4
    assert count(cli_database, "articles") == 8
    assert count(cli_database, "comments") > 0
    assert count(cli_database, "favorites") > 0
    assert count(cli_database, "follows") > 0


def article_counts(path: Path) -> dict[int, int]:
    """The maintained counts' totals by kind (0 all, 1 by author, 2 by tag, 3 favorited):
    the folded counts and the deltas not folded yet."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT kind, sum(n) FROM (SELECT kind, n FROM article_counts"
            " UNION ALL SELECT kind, n FROM article_count_deltas) GROUP BY kind"
        ).fetchall()
    return dict(rows)


def test_db_recount_rebuilds_the_article_counts(cli_database: Path) -> None:
    invoke("db", "upgrade")
    invoke("seed", "--users", "3", "--articles", "2")
    kept = article_counts(cli_database)
    assert kept[0] == kept[1] == count(cli_database, "articles") == 6
    assert kept[2] == count(cli_database, "article_tags")
    assert kept[3] == count(cli_database, "favorites")
    with sqlite3.connect(cli_database) as conn:
        conn.execute("UPDATE article_counts SET n = n + 7")
        conn.execute("UPDATE article_count_deltas SET n = n + 7")

    assert "article counts rebuilt" in invoke("db", "recount")
    assert article_counts(cli_database) == kept


def test_help_lists_the_commands() -> None:
    output = invoke("--help")
    for name in ("serve", "db", "seed"):
        assert name in output


def test_worker_delivers_queued_mail_and_stops_on_sigterm(
    cli_database: Path, tmp_path: Path
) -> None:
    invoke("db", "upgrade")
    with sqlite3.connect(cli_database) as conn:
        conn.execute(
            "INSERT INTO outbox (recipient, subject, body, created_at, next_attempt_at, attempts)"
            " VALUES ('a@example.com', 'Hi', 'Hello', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00', 0)"
        )
    mail_dir = tmp_path / "mail"
    env = {**os.environ, "MAIL_DIR": str(mail_dir), "SMTP_HOST": ""}
    worker = subprocess.Popen(
        [sys.executable, "-m", "conduit.cli", "worker", "--interval", "0.2"], env=env
    )
    try:
        deadline = time.monotonic() + 20
        while not list(mail_dir.glob("*.eml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [p.name for p in mail_dir.glob("*.eml")] == ["1.eml"]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    with sqlite3.connect(cli_database) as conn:
        assert conn.execute("SELECT sent_at IS NOT NULL FROM outbox").fetchone() == (1,)
