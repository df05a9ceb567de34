"""Operations against real `conduit serve` processes: readiness while the database goes away
and comes back, metrics across workers."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
from alembic import command

from conduit.cli import alembic_config
from tests.faults import TcpProxy, postgres_reachable
from tests.live import start_server

# --- readiness while PostgreSQL goes away -------------------------------------------------


async def _psql(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.mark.skipif(not postgres_reachable(), reason="needs PostgreSQL on 127.0.0.1:5432")
def test_ready_turns_503_when_the_database_goes_away_and_200_when_it_returns(
    tmp_path: Path,
) -> None:
    name = f"conduit_ready_{uuid.uuid4().hex[:12]}"
    asyncio.run(_psql(f'CREATE DATABASE "{name}"'))
    command.upgrade(alembic_config(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"), "head")
    proxy = TcpProxy(("127.0.0.1", 5432))
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/{name}"
    live = start_server(
        tmp_path, database_url=url, extra_env={"READY_TIMEOUT": "1"}, args=("--no-migrate",)
    )
    try:
        assert httpx.get(f"{live.url}/ready").json() == {
            "status": "ok",
            "checks": {"database": "ok"} | ({"redis": "ok"} if live.env.get("REDIS_URL") else {}),
        }
        proxy.cut()
        down = httpx.get(f"{live.url}/ready", timeout=10)
        assert down.status_code == 503
        assert down.json()["checks"]["database"] in {"unavailable", "timeout"}
        assert httpx.get(f"{live.url}/health").status_code == 200
        proxy.restore()
        deadline = time.monotonic() + 10
        while (up := httpx.get(f"{live.url}/ready", timeout=10)).status_code != 200:
            assert time.monotonic() < deadline, up.text
            time.sleep(0.2)
        assert up.json()["checks"]["database"] == "ok"
        assert httpx.get(f"{live.url}/api/tags").status_code == 200
    finally:
        live.terminate()
        proxy.cut()
        asyncio.run(_psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    assert "Traceback" not in live.log()


# --- metrics across workers -------------------------------------------------------------


def test_metrics_add_up_across_workers(tmp_path: Path) -> None:
    live = start_server(
        tmp_path,
        args=("--workers", "2"),
        extra_env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")},
    )
    try:
        for _ in range(40):  # new connections, spread over both workers by the kernel
            with httpx.Client() as client:
                assert client.get(f"{live.url}/api/tags").status_code == 200
        text = httpx.get(f"{live.url}/metrics").text
    finally:
        live.terminate()
    line = next(
        line
        for line in text.splitlines()
        if line.startswith("conduit_http_requests_total{")
        and 'route="/api/tags"' in line
        and 'status="200"' in line
    )
    # start_server's readiness probe also asked for /api/tags, once or more.
    assert float(line.rpartition(" ")[2]) >= 40
    pids = {path.name.rpartition("_")[2] for path in (tmp_path / "metrics").glob("counter_*.db")}
    assert len(pids) == 2, pids  # both worker processes recorded requests


# --- draining on SIGTERM -----------------------------------------------------------------


def test_sigterm_fails_readiness_first_and_serves_until_the_drain_ends(tmp_path: Path) -> None:
    drain = 2.0
    live = start_server(tmp_path, extra_env={"SHUTDOWN_DRAIN": str(drain)})
    code = None
    try:
        assert httpx.get(f"{live.url}/ready").status_code == 200
        with httpx.Client(base_url=live.url) as keep_alive:  # a balancer's pooled connection
            assert keep_alive.get("/api/tags").status_code == 200
            live.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            deadline = signalled + drain
            while (ready := httpx.get(f"{live.url}/ready")).status_code == 200:
                assert time.monotonic() < deadline, "readiness never failed"
                time.sleep(0.05)
            assert ready.status_code == 503
            assert ready.json()["status"] == "draining"
            # Still serving, on new connections and on the pooled one, until the drain ends.
            assert httpx.get(f"{live.url}/api/tags").status_code == 200
            assert keep_alive.get("/api/tags").status_code == 200
            assert live.process.poll() is None
        code = live.process.wait(timeout=30)
        assert time.monotonic() - signalled >= drain - 0.5
    finally:
        if code is None:
            live.process.kill()
    assert code in {0, -15}
    assert "Traceback" not in live.log()
