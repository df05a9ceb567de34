"""Prometheus metrics. Every process records into the default registry; with several
workers, `PROMETHEUS_MULTIPROC_DIR` (set by `conduit serve --workers N`) makes the values
shared files that `/metrics` aggregates."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "conduit_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "conduit_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge(
    "conduit_http_requests_in_flight",
    "HTTP requests being served right now.",
    multiprocess_mode="livesum",
)
DB_POOL_CHECKED_OUT = Gauge(
    "conduit_db_pool_connections_checked_out",
    "Database connections in use.",
    multiprocess_mode="livesum",
)
DB_POOL_OPEN = Gauge(
    "conduit_db_pool_connections_open",
    "Database connections open (in use or idle in the pool).",
    multiprocess_mode="livesum",
)
CACHE = Counter(
    "conduit_cache_requests_total",
    "Cache lookups, by cache name and result (hit, miss, error).",
    ["cache", "result"],
)
RATE_LIMITED = Counter(
    "conduit_rate_limited_total",
    "Requests refused with 429 by the rate limiter, by limit name.",
    ["limit"],
)
STORE_ERRORS = Counter(
    "conduit_store_errors_total",
    "Failures of a shared store (Redis) that the app survived by failing open, by user.",
    ["component"],
)
IDEMPOTENCY = Counter(
    "conduit_idempotency_total",
    "Requests with an Idempotency-Key, by outcome (new, replayed, conflict, mismatch).",
    ["outcome"],
)
