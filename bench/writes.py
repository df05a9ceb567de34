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
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import struct
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.asgi import _login, bench_settings, scope_for, stderr_to
from bench.seed import PASSWORD
from conduit.main import create_app

BODY = "Benchmarks measure what they measure, nothing more. " * 12
KINDS = (
    "create", "create1", "create3new", "create_keyed", "favorite", "favorite_keyed",
    "comment", "follow", "update", "update_title", "delete", "login",
)  # fmt: skip


# --- the wire: a proxy that counts round trips --------------------------------------


@dataclass
class Wire:
    """The client's messages, grouped by round trip (a Sync, or a simple Query)."""

    recording: bool = False
    trips: list[list[str]] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    names: dict[bytes, str] = field(default_factory=dict)  # prepared statement -> SQL

    def message(self, kind: bytes, payload: bytes) -> None:
        if kind == b"P":
            name, _, rest = payload.partition(b"\0")
            sql = rest.partition(b"\0")[0].decode()
            self.names[name] = sql
            self.pending.append("Parse " + sql)
        elif kind == b"B":
            _portal, _, rest = payload.partition(b"\0")
            name = rest.partition(b"\0")[0]
            self.pending.append("Bind/Execute " + self.names.get(name, name.decode()))
        elif kind == b"Q":
            self.pending.append("Query " + payload.rstrip(b"\0").decode())
            self._trip()
        elif kind == b"S":
            self._trip()

    def _trip(self) -> None:
        if self.recording:
            self.trips.append(self.pending)
        self.pending = []


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


async def _client_side(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: Wire
) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while True:  # untyped messages: SSLRequest (answered by the server), StartupMessage
            head = await reader.readexactly(8)
            rest = await reader.readexactly(struct.unpack("!I", head[:4])[0] - 8)
            writer.write(head + rest)
            if struct.unpack("!I", head[4:])[0] != 80877103:
                break
        while True:
            head = await reader.readexactly(5)
            payload = await reader.readexactly(struct.unpack("!I", head[1:])[0] - 4)
            wire.message(head[:1], payload)
            writer.write(head + payload)
            await writer.drain()
    writer.close()


async def start_proxy(host: str, port: int, wire: Wire) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(_client_side(reader, up_writer, wire), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


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


# --- the requests -------------------------------------------------------------------


@dataclass
class Pools:
    token: str
    other_token: str
    email: str
    tags: list[str]
    slugs: list[str]  # live articles by others, not favorited by the user
    usernames: list[str]  # users the user does not follow
    own: list[str] = field(default_factory=list)  # the user's own articles (update, delete)
    n: int = 0


Req = tuple[str, str, list[tuple[bytes, bytes]], bytes]


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def _auth(token: str, keyed: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"authorization", f"Token {token}".encode()),
        (b"content-type", b"application/json"),
    ]
    if keyed:
        headers.append((b"idempotency-key", secrets.token_hex(16).encode()))
    return headers


def request_for(kind: str, p: Pools) -> Req:
    p.n += 1
    n, tag = p.n, secrets.token_hex(4)
    if kind.startswith("create"):
        tags = {
            "create": [p.tags[0], p.tags[1], f"new-{tag}"],
            "create_keyed": [p.tags[0], p.tags[1], f"new-{tag}"],
            "create1": [p.tags[2]],
            "create3new": [f"new-{tag}-a", f"new-{tag}-b", f"new-{tag}-c"],
        }[kind]
        title = f"Write profile {n} {tag}"
        body = {"article": {"title": title, "description": "d", "body": BODY, "tagList": tags}}
        return "POST", "/api/articles", _auth(p.token, kind == "create_keyed"), _json(body)
    if kind.startswith("favorite"):
        slug = p.slugs[n % len(p.slugs)]
        headers = _auth(p.token, kind == "favorite_keyed")
        return "POST", f"/api/articles/{slug}/favorite", headers, b""
    if kind == "comment":
        body = {"comment": {"body": f"A comment {n}"}}
        return (
            "POST",
            f"/api/articles/{p.slugs[n % len(p.slugs)]}/comments",
            _auth(p.token),
            _json(body),
        )
    if kind == "follow":
        name = p.usernames[n % len(p.usernames)]
        return "POST", f"/api/profiles/{name}/follow", _auth(p.token), b""
    if kind == "update":
        body = {"article": {"body": f"{BODY} {n}"}}
        return "PUT", f"/api/articles/{p.own[n % len(p.own)]}", _auth(p.token), _json(body)
    if kind == "update_title":
        slug = p.own.pop()
        body = {"article": {"title": f"Retitled {n} {tag}", "tagList": [p.tags[0], f"new-{tag}"]}}
        return "PUT", f"/api/articles/{slug}", _auth(p.token), _json(body)
    if kind == "delete":
        return "DELETE", f"/api/articles/{p.own.pop()}", _auth(p.token), b""
    if kind == "login":
        body = {"user": {"email": p.email, "password": PASSWORD}}
        return "POST", "/api/users/login", [(b"content-type", b"application/json")], _json(body)
    raise ValueError(kind)


async def send(app: Any, req: Req) -> tuple[int, bytes]:
    method, path, headers, body = req
    scope = scope_for(path, headers)
    scope["method"] = method
    status = 0
    sent: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def sink(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await app(scope, receive, sink)
    return status, b"".join(sent)


async def _pools(app: Any, own: int) -> Pools:
    db = app.state.db
    async with db.session() as s:
        users = (await s.execute(text("SELECT id, email FROM users ORDER BY id LIMIT 2"))).all()
        (uid, email), (_, other) = users
        tags = list(
            (
                await s.scalars(
                    text(
                        "SELECT t.name FROM tags t JOIN article_counts c ON c.kind = 2 AND "
                        "c.subject_id = t.id GROUP BY t.name ORDER BY sum(c.n) DESC LIMIT 3"
                    )
                )
            ).all()
        )
        slugs = list(
            (
                await s.scalars(
                    text(
                        "SELECT slug FROM articles a WHERE deleted_at IS NULL AND author_id <> :u "
                        "AND NOT EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = a.id "
                        "AND f.user_id = :u) ORDER BY id LIMIT 9000"
                    ),
                    {"u": uid},
                )
            ).all()
        )
        names = list(
            (
                await s.scalars(
                    text(
                        "SELECT username FROM users u WHERE id <> :u AND NOT EXISTS (SELECT 1 "
                        "FROM follows f WHERE f.follower_id = :u AND f.followee_id = u.id) "
                        "ORDER BY id"
                    ),
                    {"u": uid},
                )
            ).all()
        )
    pools = Pools(await _login(app, email), await _login(app, other), email, tags, slugs, names)
    for _ in range(own):
        status, body = await send(app, request_for("create1", pools))
        assert status == 201, body
        import json

        pools.own.append(json.loads(body)["article"]["slug"])
    return pools


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
            pools = await _pools(app, own=4 * (warmup + 1))
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
        pools = await _pools(app, own=own)
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


# --- layers ---------------------------------------------------------------------------

# Which layer a frame's file belongs to; the first prefix that matches wins. A sample is
# counted for the layer of its innermost frame that has one (the standard library's frames,
# asyncio's socket writes included, count for the caller).
LAYERS: list[tuple[str, str]] = [
    ("sqlalchemy/sql/compiler.py", "SQLAlchemy: compiling SQL"),
    ("sqlalchemy/sql/crud.py", "SQLAlchemy: compiling SQL"),
    ("sqlalchemy/sql/cache_key.py", "SQLAlchemy: cache keys"),
    ("sqlalchemy/sql/traversals.py", "SQLAlchemy: cache keys"),
    ("sqlalchemy/sql/", "SQLAlchemy: Core statement objects"),
    ("sqlalchemy/orm/persistence.py", "SQLAlchemy: ORM persistence (bulk insert, flush)"),
    ("sqlalchemy/orm/bulk_persistence.py", "SQLAlchemy: ORM persistence (bulk insert, flush)"),
    ("sqlalchemy/orm/unitofwork.py", "SQLAlchemy: ORM persistence (bulk insert, flush)"),
    ("sqlalchemy/orm/", "SQLAlchemy: ORM (session, execute, compile state, loading)"),
    ("sqlalchemy/engine/", "SQLAlchemy: engine (execution context, results)"),
    ("sqlalchemy/dialects/", "SQLAlchemy: asyncpg adapter"),
    ("sqlalchemy/pool/", "SQLAlchemy: pool"),
    ("sqlalchemy/", "SQLAlchemy: async bridge and util"),
    ("greenlet", "SQLAlchemy: async bridge and util"),
    ("asyncpg/", "asyncpg"),
    ("pydantic", "Pydantic"),
    ("fastapi/", "FastAPI (routing, dependencies, body)"),
    ("starlette/", "Starlette"),
    ("conduit/idempotency/", "middleware: idempotency"),
    ("conduit/core/ratelimit.py", "middleware: rate limit"),
    ("conduit/core/access_log.py", "middleware: access log"),
    ("conduit/core/logging.py", "middleware: access log"),
    ("conduit/core/scrubbing.py", "middleware: access log"),
    ("conduit/core/middleware.py", "middleware: request context, body limit, etc."),
    ("conduit/core/compression.py", "middleware: request context, body limit, etc."),
    ("conduit/core/draining.py", "middleware: request context, body limit, etc."),
    ("conduit/core/cache.py", "cache invalidation"),
    ("conduit/core/db.py", "unit of work (Database.session, SessionRoute)"),
    ("conduit/core/routing.py", "unit of work (Database.session, SessionRoute)"),
    ("conduit/core/security.py", "auth (token)"),
    ("conduit/auth/", "auth (token)"),
    ("conduit/articles/render.py", "render (our code)"),
    ("conduit/", "service, repository, router (our code)"),
    ("bench/", "the driver"),
]
# Waiting, not working: py-spy counts these as active at times.
IDLE = ("EpollSelector.select (", "_worker (concurrent/futures/thread.py")


def layer_of(where: str) -> str | None:
    for prefix, layer in LAYERS:
        if where.startswith(prefix):
            return layer
    return None


def layers(raw: str) -> str:
    from bench.profile import IDLE_LEAVES, _where

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or not frames[-1] or frames[-1].startswith((*IDLE_LEAVES, *IDLE)):
            continue
        count = int(count_text)
        total += count
        found = [layer_of(_where(f)) for f in frames]
        # asyncio's own frames (a socket write, the loop) count for their caller
        own[next((x for x in reversed(found) if x), "event loop (asyncio), other")] += count
        for x in {x for x in found if x}:
            inclusive[x] += count
        for f in frames:
            name = f.partition(" (")[0]
            if name in ("flush", "_autoflush") and "sqlalchemy/orm/session.py" in f:
                inclusive["(inclusive) Session.flush"] += count
                break
    lines = [f"{total} samples", "", "| layer | own | inclusive |", "| --- | ---: | ---: |"]
    for layer, count in own.most_common():
        lines.append(f"| {layer} | {count / total:.1%} | {inclusive[layer] / total:.1%} |")
    flush = inclusive["(inclusive) Session.flush"]
    lines.append(f"| (inclusive) Session.flush | | {flush / total:.1%} |")
    return "\n".join(lines)


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
