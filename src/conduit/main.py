"""The application factory."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig

from conduit import __version__
from conduit.api import mount_domains
from conduit.articles.service import TagService
from conduit.articles.worker import fold_counts_forever
from conduit.auth.activity import SessionActivity
from conduit.auth.identity import IdentityResolver
from conduit.core.cache import create_cache
from conduit.core.clientip import ClientIP
from conduit.core.compression import CompressionMiddleware
from conduit.core.config import Environment, Settings, get_settings
from conduit.core.db import Database
from conduit.core.docs import install_docs
from conduit.core.draining import Drain
from conduit.core.errors import install_error_handlers
from conduit.core.logging import configure_logging
from conduit.core.mail import transport_for
from conduit.core.middleware import BodyLimitMiddleware, RequestContextMiddleware, security_headers
from conduit.core.ratelimit import RATE_LIMIT_HEADERS, install_rate_limiting
from conduit.core.redis import create_redis
from conduit.core.replicas import MarkWriters, Replicas
from conduit.core.security import PasswordHasher, TokenCodec
from conduit.idempotency.middleware import install_idempotency
from conduit.outbox.service import OutboxDeliverer
from conduit.users.protection import AccountProtection

logger = logging.getLogger("conduit")
CLOSE_TIMEOUT = 5.0  # seconds for each pool to close at shutdown

DESCRIPTION = """
The [RealWorld](https://realworld-docs.netlify.app/) "Conduit" publishing API, served to
spec 2.0.0 under `/api` (and `/api/v1`).

Authenticate with `Authorization: Token <jwt>` or `Authorization: Bearer <jwt>`, using the
token returned by registration or login, or `X-API-Key: <key>`. Every error has the shape
`{"errors": {"<field or resource>": ["<message>"]}, "request_id": "..."}`; quote the
`request_id` (also in the `X-Request-ID` header) when reporting a problem.
"""

# FastAPI's native OpenTelemetry off (OTEL_ENABLED=false, the default): no tracing, metrics
# or logs, and no per-request look for a configured provider.
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


async def _close_quietly(name: str, closing: Coroutine[Any, Any, None]) -> None:
    """Close a pool without letting an unreachable peer hold up the shutdown."""
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            await closing
    except Exception as exc:  # a dead peer or a timeout: the process is leaving anyway
        logger.warning("closing %s failed: %s", name, type(exc).__name__)


def _freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, routes, models, compiled schemas)
    out of the garbage collector's reach (Python's `gc.freeze`). A full collection then
    walks only what requests created since, so its pause, which stalls every request in
    flight, stays short (docs/performance.md).
    Frozen objects are still freed by reference counting; only cycles among them stay, and
    start-up builds the application once per process."""
    gc.collect()
    gc.freeze()


def _set_gc_threshold(threshold: int) -> None:
    """Collect the young generation after `threshold` net container allocations instead of
    Python's 700 (GC_THRESHOLD; see Settings): the older generations keep their ratios."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(threshold, middle, oldest)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        app.state.drain.install()
        if settings.gc_freeze:
            _freeze_startup_objects()
        if settings.gc_threshold:
            _set_gc_threshold(settings.gc_threshold)
        workers: list[asyncio.Task[None]] = []
        if settings.counts_fold_interval:
            fold = fold_counts_forever(app.state.db, stop, settings.counts_fold_interval)
            workers.append(asyncio.create_task(fold))
        if settings.mail_embedded_worker:
            workers.append(asyncio.create_task(app.state.deliverer.run_forever(stop=stop)))
        if app.state.replicas is not None:
            workers.append(asyncio.create_task(app.state.replicas.run(stop)))
        try:
            yield
        finally:
            stop.set()
            for worker in workers:
                await worker
            app.state.passwords.close()  # the hashing threads
            await _close_quietly("cache", app.state.cache.close())
            await _close_quietly("database pool", app.state.db.dispose())
            if app.state.redis is not None:
                await _close_quietly("redis", app.state.redis.aclose())
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    app = FastAPI(
        title="Conduit API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # One URL per resource: no 307 to the path with(out) a trailing slash, whose
        # absolute Location would be built from the request's (forgeable) Host header.
        redirect_slashes=False,
        telemetry=None if settings.otel_enabled else NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.drain = Drain(settings.shutdown_drain)
    app.state.db = Database(settings)
    app.state.redis = create_redis(settings)
    app.state.cache = create_cache(settings, app.state.redis)  # one Redis pool for all
    app.state.tags = TagService(app.state.db, app.state.cache)
    app.state.passwords = PasswordHasher(settings)
    app.state.tokens = TokenCodec(settings)  # remembers the tokens it verified
    app.state.activity = SessionActivity(app.state.db, app.state.tokens.idle_ttl)
    app.state.accounts = AccountProtection(
        settings, app.state.passwords, app.state.db, app.state.redis
    )
    app.state.deliverer = OutboxDeliverer(app.state.db, transport_for(settings), settings)

    identity = IdentityResolver(app.state.db, app.state.tokens)
    app.state.replicas = None
    if settings.database_replica_url and not settings.is_sqlite:
        app.state.replicas = Replicas(
            app.state.db, settings, app.state.redis, identity.token_user_id
        )
        app.state.db.router = app.state.replicas

    install_error_handlers(app)
    install_docs(app)
    install_middleware(app, settings, identity)
    mount_domains(app, settings.api_prefix)
    return app


def install_middleware(app: FastAPI, settings: Settings, identity: IdentityResolver) -> None:
    """The middleware stack, innermost first (the last one added is the outermost):
    idempotency, rate limits, GZip, the body limit, CORS, the request context."""
    install_idempotency(app, settings, identity.verified_user_id)
    install_rate_limiting(app, settings, identity.user_id)
    app.add_middleware(
        CompressionMiddleware, minimum_size=settings.gzip_min_bytes, level=settings.gzip_level
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_max_bytes=settings.upload_max_bytes,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-API-Key",
                "X-Request-ID",
                "Idempotency-Key",
                "If-None-Match",
            ],
            expose_headers=[
                "X-Request-ID",
                "ETag",
                *RATE_LIMIT_HEADERS,
                "Retry-After",
                "Idempotent-Replayed",
            ],
            # Credentials are never allowed together with a wildcard origin.
            allow_credentials="*" not in settings.cors_origins,
            max_age=600,
        )
    if app.state.replicas is not None:
        app.add_middleware(MarkWriters, replicas=app.state.replicas)
    app.add_middleware(
        RequestContextMiddleware,
        client_ip=ClientIP(settings.trusted_proxies),
        headers=security_headers(settings.environment is Environment.PRODUCTION),
        access_log=settings.access_log,
        static_prefixes=("/docs/static",),
        mounts=(settings.api_prefix, f"{settings.api_prefix}/v1"),
    )
