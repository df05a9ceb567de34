"""Where a write's CPU and round trips go, in-process (issue 24, step 1).

The app is created as `bench asgi` creates it (production settings, the default middleware
stack, rate limits on but never refusing) on a seeded PostgreSQL database, and each write
goes straight through its ASGI callable, one after the other on one event loop.

    python -m bench.writes sql  --database-url URL [--kind create ...]
        each write's SQL in order, as SQLAlchemy executes it (with its compiled-cache
        status: `generated` = compiled for this execution, `cached`) and as the wire
        carries it: the app talks to PostgreSQL through a small proxy that counts the
        client's round trips (one per Sync message of the extended protocol, one per simple
        Query: BEGIN, COMMIT), and the ORM flushes.
    python -m bench.writes loop --database-url URL --kind create --requests N
        N writes after the set-up (run it under callgrind: the instructions of one request
        are the difference between two runs, divided by the difference of N).
    python -m bench.writes spy --database-url URL --kind create --seconds S --out FILE
        py-spy (`--function`, raw) samples the process while it writes, from the end of
        the set-up, for S seconds; then `python -m bench.writes layers FILE` gives the
        shares of the samples by layer.

Kinds: create (2 existing tags and 1 new), create1 (1 existing tag), create3new (3 new
tags), create_keyed (create with an Idempotency-Key), favorite, favorite_keyed, comment,
follow, update (body only), update_title (title, so a new slug, and tags), delete, login.

The proxy is in bench/wire.py, the requests in bench/write_requests.py, the shares by layer
in bench/layers.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.asgi import bench_settings, stderr_to
from bench.layers import layers
from bench.wire import Wire, start_proxy
from bench.write_requests import KINDS, Pools, Req, make_pools, request_for, send
from conduit.main import create_app

# --- SQLAlchemy: statements, compiled-cache status, flushes --------------------------


@dataclass
class Statements:
    recording: bool = False
    rows: list[tuple[str, str, bool]] = field(default_factory=list)  # sql, cache, executemany
    flushes: int = 0

    def after(self, _conn: Any, _cursor: Any, sql: str, _params: Any, ctx: Any, many: bool) -> None:
        if self.recording:
            stats = ctx._get_cache_stats() if ctx is not None else "?"
            self.rows.append((sql, stats, many))

    def flushed(self, _session: Any, _ctx: Any) -> None:
        if self.recording:
            self.flushes += 1


# --- the app --------------------------------------------------------------------------


def _app(database_url: str, access_log: bool) -> Any:
    settings = bench_settings(database_url, access_log=access_log, rate_limit=True)
    return create_app(settings)


def _expect(kind: str, status: int, body: bytes) -> None:
    if status >= 400:
        raise RuntimeError(f"{kind}: {status} {body[:300]!r}")


# --- sql ------------------------------------------------------------------------------


async def _sql(database_url: str, kinds: list[str], warmup: int) -> str:
    url = make_url(database_url)
    wire = Wire()
    proxy, port = await start_proxy(url.host or "127.0.0.1", url.port or 5432, wire)
    proxied = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    app = _app(proxied, access_log=False)
    statements = Statements()
    engine = app.state.db.engine.sync_engine
    event.listen(engine, "after_cursor_execute", statements.after)
    event.listen(Session, "after_flush", statements.flushed)
    out: list[str] = []
    try:
        async with app.router.lifespan_context(app):
            pools = await make_pools(app, own=4 * (warmup + 1))
            for kind in kinds:
                for _ in range(warmup):
                    _expect(kind, *await send(app, request_for(kind, pools)))
                wire.trips, statements.rows, statements.flushes = [], [], 0
                wire.recording = statements.recording = True
                req = request_for(kind, pools)
                status, body = await send(app, req)
                await asyncio.sleep(0.05)  # anything after the response (purges, pings)
                wire.recording = statements.recording = False
                _expect(kind, status, body)
                out += _describe(kind, req, status, statements, wire)
    finally:
        event.remove(Session, "after_flush", statements.flushed)
        proxy.close()
    return "\n".join(out)


def _short_sql(sql: str, width: int = 150) -> str:
    one = " ".join(sql.split())
    return one if len(one) <= width else one[: width - 3] + "..."


def _describe(kind: str, req: Req, status: int, st: Statements, wire: Wire) -> list[str]:
    lines = [f"## {kind}: {req[0]} {req[1]} -> {status}", ""]
    lines.append(
        f"{len(st.rows)} statements through SQLAlchemy, {len(wire.trips)} round trips "
        f"on the wire, {st.flushes} ORM flushes"
    )
    lines.append("")
    lines.append("SQLAlchemy (in order; cache status; executemany):")
    for i, (sql, stats, many) in enumerate(st.rows, 1):
        lines.append(f"  {i:2}. [{stats}]{' [executemany]' if many else ''} {_short_sql(sql)}")
    lines.append("")
    lines.append("Wire (one line per round trip):")
    for i, trip in enumerate(wire.trips, 1):
        shown = "; ".join(_short_sql(m, 110) for m in trip)
        lines.append(f"  {i:2}. ({len(trip)} msg) {shown}")
    lines.append("")
    return lines


# --- loop, spy ------------------------------------------------------------------------


async def _measured_requests(app: Any, kind: str, pools: Pools, more: Callable[[int], bool]) -> int:
    done = 0
    while more(done):
        status, body = await send(app, request_for(kind, pools))
        _expect(kind, status, body)
        done += 1
    return done


async def _loop(database_url: str, kind: str, requests: int, warmup: int, access_log: bool,
                spy: tuple[float, str] | None) -> int:  # fmt: skip
    app = _app(database_url, access_log)
    own = requests + warmup if kind in ("delete", "update_title") else 4
    async with app.router.lifespan_context(app):
        pools = await make_pools(app, own=own)
        await _measured_requests(app, kind, pools, lambda done: done < warmup)
        if spy is None:
            return await _measured_requests(app, kind, pools, lambda done: done < requests)
        seconds, out = spy
        from bench.profile import find_py_spy

        proc = await asyncio.create_subprocess_exec(
            *(find_py_spy(), "record", "--pid", str(os.getpid()), "--duration", f"{seconds:g}"),
            *("--rate", "200", "--format", "raw", "--function", "--output", out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await asyncio.sleep(1.0)
        return await _measured_requests(app, kind, pools, lambda _: proc.returncode is None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.writes")
    parser.add_argument("mode", choices=("sql", "loop", "spy", "layers"))
    parser.add_argument("file", nargs="?")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument("--kind", action="append", choices=KINDS)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--out", default=os.path.join(tempfile.gettempdir(), "writes-spy.txt"))
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    if args.mode == "layers":
        with open(args.file) as f:
            print(layers(f.read()))
        return
    with stderr_to(os.devnull):
        if args.mode == "sql":
            text_out = asyncio.run(_sql(args.database_url, args.kind or list(KINDS), args.warmup))
        else:
            kind = (args.kind or ["create"])[0]
            spy = (args.seconds, args.out) if args.mode == "spy" else None
            done = asyncio.run(
                _loop(args.database_url, kind, args.requests, args.warmup, args.access_log, spy)
            )
            text_out = f"{kind}: {done} requests after {args.warmup} warm-up"
    print(text_out)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
