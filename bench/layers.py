"""Shares of a raw py-spy profile by layer (SQLAlchemy, asyncpg, FastAPI, our code, ...)."""

from __future__ import annotations

from collections import Counter

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
    from bench.profile import IDLE_LEAVES, _where, busy_stacks

    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in busy_stacks(raw, (*IDLE_LEAVES, *IDLE)):
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
