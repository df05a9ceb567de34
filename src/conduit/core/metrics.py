"""Prometheus metrics. Every process records into the default registry; with several
workers, `PROMETHEUS_MULTIPROC_DIR` (set by `conduit serve --workers N`) makes the values
shared files that `/metrics` aggregates.

Per request, the children of the request metrics are looked up once per (method, route,
status) and kept (`observe_request`): `labels()` validates and locks on every call.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import Scope

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
# Labelled by the replica's index in DATABASE_REPLICA_URL, never its URL (a password).
REPLICA_LAG = Gauge(
    "conduit_db_replica_lag_seconds",
    "How far each read replica's replay is behind the primary, in seconds (last poll).",
    ["replica"],
    multiprocess_mode="livemax",
)
REPLICA_UP = Gauge(
    "conduit_db_replica_up",
    "1 when the read replica answered its last poll and no read on it failed since.",
    ["replica"],
    multiprocess_mode="livemin",
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
DEPENDENCY_UP = Gauge(
    "conduit_dependency_up",
    "Whether a dependency answered the last readiness check (1) or not (0), by dependency.",
    ["dependency"],
    multiprocess_mode="livemin",
)
IDEMPOTENCY = Counter(
    "conduit_idempotency_total",
    "Requests with an Idempotency-Key, by outcome (new, replayed, conflict, mismatch).",
    ["outcome"],
)


# (method, route template, status) -> (REQUESTS child, LATENCY child). Bounded as the label
# sets are: a handful of methods, the route templates and "unmatched", the status codes.
_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    key = (method, route, status)
    children = _request_children.get(key)
    if children is None:
        children = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
        _request_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


class RouteLabels:
    """The route label of a request: its template ("/api/articles/{slug}"), never the raw
    path, so that label sets stay bounded. FastAPI reports the route as declared in its
    router, without the prefix it is mounted under, so the prefix is taken from the path
    (`mounts`, longest first)."""

    def __init__(self, mounts: tuple[str, ...] = ()) -> None:
        ordered = sorted((mount for mount in mounts if mount), key=len, reverse=True)
        self.mounts = tuple((mount, mount + "/") for mount in ordered)

    def label(self, scope: Scope) -> str:
        route = scope.get("route")
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        if not template:
            return "unmatched"
        template = str(template)
        path: str = scope["path"]
        for mount, prefix in self.mounts:
            if path.startswith(prefix) and not template.startswith(prefix):
                return mount + template
        return template
