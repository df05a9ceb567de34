"""The fixed CPU cost of a request, measured in-process: no sockets, no server, no load tool.

The app is created as `conduit serve` creates it (production settings, the default
middleware stack, the access log on or off) on a seeded database, and each request goes
straight through its ASGI callable with a minimal scope, `receive` and `send`, one after
the other on one event loop. The figure is CPU time (`time.process_time`, every thread of
this process) divided by the number of requests: what the middleware, routing and the
handler cost, without the HTTP server's parsing and the kernel's sockets. A bare FastAPI
route serving the same body (bench/ceiling.py's `/ceiling/tags`) is measured the same way,
for reference.

The access log goes to a real `logging.StreamHandler` on standard error, which is pointed
at `--log-file` (default /dev/null) while requests run. Rate limits are on (the default)
with limits high enough never to refuse, unless `--no-rate-limit` (as `bench run` serves).
Each figure is the best of `--repeat` rounds of `--requests` requests, after a warm-up:
the least disturbed by other processes on a shared machine.
"""

from __future__ import annotations

import asyncio
import cProfile
import gc
import io
import json
import os
import pstats
import secrets
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message

from bench.ceiling import create_ceiling_app
from bench.samples import sample_values
from bench.seed import PASSWORD
from conduit.core.config import Settings
from conduit.main import create_app

HIGH_LIMIT = "1000000000/minute"  # counted as usual, never refused


@dataclass(frozen=True, slots=True)
class Probe:
    key: str
    title: str
    path: str
    signed_in: bool = False
    bare: bool = False  # the ceiling app's bare route, not Conduit


PROBES = (
    Probe("bare", "bare FastAPI route (tags body)", "/ceiling/tags", bare=True),
    Probe("ceiling", "the ceiling app's article list (1 query)", "/ceiling/articles", bare=True),
    Probe("tags", "GET /api/tags (cached)", "/api/tags"),
    Probe("tags_user", "GET /api/tags (cached, signed in)", "/api/tags", signed_in=True),
    Probe("health", "GET /health", "/health"),
    Probe("user", "GET /api/user (signed in, 1 user query)", "/api/user", signed_in=True),
    Probe("articles", "GET /api/articles (signed in, 1 query)", "/api/articles", signed_in=True),
    Probe(
        "article", "GET /api/articles/{slug} (signed in)", "/api/articles/{slug}", signed_in=True
    ),
)


@dataclass(frozen=True, slots=True)
class Result:
    probe: Probe
    access_log: bool
    cpu_us: float  # CPU microseconds per request, best round
    rounds: tuple[float, ...]


def scope_for(path: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> dict[str, Any]:
    """An HTTP scope as uvicorn builds it for `GET path` from 127.0.0.1."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"wrk"),
            (b"accept", b"*/*"),
            *headers,
        ],
        "state": {},
    }


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class _Sink:
    """`send`: keeps the status of the last response."""

    status = 0

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]


async def call(app: ASGIApp, scope: dict[str, Any]) -> int:
    sink = _Sink()
    await app(dict(scope), _receive, sink)
    return sink.status


async def drive(app: ASGIApp, scope: dict[str, Any], requests: int) -> float:
    """CPU seconds for `requests` requests, one after the other."""
    gc.collect()
    started = time.process_time()
    for _ in range(requests):
        sink = _Sink()
        await app(dict(scope), _receive, sink)
        if sink.status != 200:
            raise RuntimeError(f"{scope['path']} answered {sink.status}")
    return time.process_time() - started


def bench_settings(database_url: str, *, access_log: bool, rate_limit: bool) -> Settings:
    """What `bench run` serves with, the access log and rate limits as asked."""
    return Settings(
        _env_file=None,
        database_url=database_url,
        environment="production",
        secret_key=secrets.token_urlsafe(48),
        access_log=access_log,
        rate_limit_enabled=rate_limit,
        rate_limit_anon=HIGH_LIMIT,
        rate_limit_user=HIGH_LIMIT,
        mail_embedded_worker=False,
        redis_url=None,
    )


@contextmanager
def stderr_to(path: str) -> Iterator[None]:
    """Point file descriptor 2 at `path` (where the log handler writes), then back."""
    sys.stderr.flush()
    saved = os.dup(2)
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.dup2(target, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(target)


async def _login(app: FastAPI, email: str) -> str:
    scope = scope_for("/api/users/login", [(b"content-type", b"application/json")])
    scope["method"] = "POST"
    body = f'{{"user": {{"email": "{email}", "password": "{PASSWORD}"}}}}'.encode()
    sent: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await app(scope, receive, send)
    token: str = json.loads(b"".join(sent))["user"]["token"]
    return token


async def _run_app(
    app: FastAPI,
    probes: Sequence[Probe],
    measure: Callable[[ASGIApp, dict[str, Any], Probe], Awaitable[None]],
    email: str | None,
    slug: str = "",
) -> None:
    async with app.router.lifespan_context(app):
        token = await _login(app, email) if email and any(p.signed_in for p in probes) else ""
        for probe in probes:
            headers = [(b"authorization", f"Token {token}".encode())] if probe.signed_in else []
            path = probe.path.format(slug=slug)
            await measure(app, scope_for(path, headers), probe)


def _sample(database_url: str) -> tuple[str, str]:
    """A user to sign in as and an article to read."""
    values = sample_values(database_url)
    return values["email"][0], values["slug"][0]


def measure_all(
    database_url: str,
    *,
    access_logs: Sequence[bool],
    rate_limit: bool,
    requests: int,
    warmup: int,
    repeat: int,
    only: Sequence[str] = (),
    log_file: str = os.devnull,
) -> list[Result]:
    probes = [p for p in PROBES if not only or p.key in only]
    email, slug = _sample(database_url) if any(p.signed_in for p in probes) else (None, "")
    results: list[Result] = []

    def timed(access_log: bool) -> Callable[[ASGIApp, dict[str, Any], Probe], Awaitable[None]]:
        async def measure(app: ASGIApp, scope: dict[str, Any], probe: Probe) -> None:
            await drive(app, scope, warmup)
            rounds = [await drive(app, scope, requests) / requests * 1e6 for _ in range(repeat)]
            results.append(Result(probe, access_log, min(rounds), tuple(rounds)))

        return measure

    with stderr_to(log_file):
        bare = [p for p in probes if p.bare]
        if bare:
            asyncio.run(_run_app(create_ceiling_app(database_url), bare, timed(False), None))
        for access_log in access_logs:
            settings = bench_settings(database_url, access_log=access_log, rate_limit=rate_limit)
            conduit = [p for p in probes if not p.bare]
            if conduit:
                asyncio.run(_run_app(create_app(settings), conduit, timed(access_log), email, slug))
    return results


def profile(
    database_url: str,
    key: str,
    *,
    access_log: bool,
    rate_limit: bool,
    requests: int,
    log_file: str = os.devnull,
    top: int = 40,
) -> str:
    """cProfile of `requests` requests of one probe: the top functions by own time."""
    probe = next(p for p in PROBES if p.key == key)
    email, slug = _sample(database_url) if probe.signed_in else (None, "")
    profiler = cProfile.Profile()

    async def measure(app: ASGIApp, scope: dict[str, Any], _: Probe) -> None:
        await drive(app, scope, 200)
        profiler.enable()
        await drive(app, scope, requests)
        profiler.disable()

    with stderr_to(log_file):
        if probe.bare:
            app = create_ceiling_app(database_url)
        else:
            settings = bench_settings(database_url, access_log=access_log, rate_limit=rate_limit)
            app = create_app(settings)
        asyncio.run(_run_app(app, [probe], measure, email, slug))
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def render(results: Sequence[Result], bare_key: str = "bare") -> str:
    """A Markdown table: CPU µs per request, and the bare route's cost as a share of it."""
    bare = next((r.cpu_us for r in results if r.probe.key == bare_key), None)
    lines = [
        "| request | access log | CPU µs/request | rounds | bare route / this |",
        "|---|---|---:|---|---:|",
    ]
    for r in results:
        share = f"{bare / r.cpu_us:.0%}" if bare else "-"
        log = "-" if r.probe.bare else ("on" if r.access_log else "off")
        rounds = " ".join(f"{x:.0f}" for x in r.rounds)
        lines.append(f"| {r.probe.title} | {log} | {r.cpu_us:.0f} | {rounds} | {share} |")
    return "\n".join(lines)
