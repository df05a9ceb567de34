"""What the benchmark requests, and its targets (issues 6 and 24)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

App = Literal["conduit", "ceiling"]


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    title: str
    method: str
    path: str  # template: {slug}, {tag}, {author} are drawn at random per request
    auth: Literal["token", "none"] = "token"
    body: Literal["none", "login", "article", "comment"] = "none"
    app: App = "conduit"
    writes: bool = False
    note: str = ""
    connections: int | None = None  # instead of the run's --connections
    # Server settings of its own (KEY, VALUE): the row runs on a second server started with
    # them, after the main one has stopped, so that the two never share the server's core.
    settings: tuple[tuple[str, str], ...] = ()


CEILING = Scenario(
    "ceiling", "ceiling: the signed-in list in 1 query", "GET", "/ceiling/articles", "none",
    app="ceiling",
    note="bench/ceiling.py: the 20 newest articles with the fields of Conduit's signed-in list "
    "(tags, favorited, favoritesCount, the author's profile and following for one viewer, "
    "articlesCount) in one asyncpg query, through a Pydantic response model",
)  # fmt: skip
BARE = Scenario(
    "bare", "bare FastAPI route (tags body)", "GET", "/ceiling/tags", "none",
    app="ceiling", note="no database",
)  # fmt: skip

# Reads first, writes last: the writes add rows and invalidate the cache.
CONDUIT = [
    Scenario("articles_anon", "GET /api/articles (anonymous)", "GET", "/api/articles", "none",
             note="first page: served from the read cache"),
    Scenario("articles", "GET /api/articles (signed in)", "GET", "/api/articles",
             note="first page (20), newest first, with the total count"),
    Scenario("articles_tag", "GET /api/articles?tag=", "GET", "/api/articles?tag={tag}",
             note="tags drawn by popularity"),
    Scenario("articles_author", "GET /api/articles?author=", "GET",
             "/api/articles?author={author}", note="authors drawn by article count"),
    Scenario("feed", "GET /api/articles/feed", "GET", "/api/articles/feed",
             note="each user follows 10-30 authors, mostly prolific ones"),
    Scenario("article", "GET /api/articles/{slug} (signed in)", "GET", "/api/articles/{slug}"),
    Scenario("article_anon", "GET /api/articles/{slug} (anonymous)", "GET",
             "/api/articles/{slug}", "none",
             note="served from the read cache once a slug has been read; with 2,000 "
             "random slugs, most reads of a short run miss it"),
    Scenario("comments", "GET /api/articles/{slug}/comments", "GET",
             "/api/articles/{slug}/comments"),
    Scenario("tags", "GET /api/tags", "GET", "/api/tags", "none",
             note="served from the read cache (every tag in use, most used first)"),
    Scenario("tags_uncached", "GET /api/tags (read cache off)", "GET", "/api/tags", "none",
             settings=(("CACHE_ENABLED", "false"),),
             note="a second server started with CACHE_ENABLED=false: every request reads the "
             "tags from the database"),
    # Each login costs ~45 ms of CPU (Argon2id at the production cost) on one hashing thread
    # per worker, and at most 32 more wait for it (ARGON2_QUEUE): at 64 connections half the
    # logins would be refused with 503, so this one runs at 8.
    Scenario("login", "POST /api/users/login", "POST", "/api/users/login", "none", "login",
             writes=True,
             note="Argon2id at the production cost (m=19 MiB, t=2: about 45 ms of CPU on the "
             "2-core development machine) on one hashing thread at a lower CPU priority; run at "
             "8 connections, since at 64 the hashing queue overflows (503)",
             connections=8),
    Scenario("create_article", "POST /api/articles", "POST", "/api/articles", body="article",
             writes=True, note="a new title each time, 1-2 existing tags"),
    Scenario("favorite", "POST /api/articles/{slug}/favorite", "POST",
             "/api/articles/{slug}/favorite", writes=True,
             note="random user and article; favoriting twice counts once"),
    Scenario("comment", "POST /api/articles/{slug}/comments", "POST",
             "/api/articles/{slug}/comments", body="comment", writes=True,
             note="random user and article, a comment of about 100 characters"),
]  # fmt: skip
# Each request drawn at random from reads and writes (bench/wrk.lua's method MIX), run once
# on a server of 1 worker and once on a server of 2 (MIXED_WORKERS), after the writes.
MIXED = Scenario(
    "mixed", "mixed workload (90 % reads, 10 % writes)", "MIX", "-", writes=True,
    note="bench/wrk.lua's method MIX: 90 % reads (the signed-in list, an article, its "
    "comments, the tags, the feed: 18 % each) and 10 % writes (create an article, favorite, "
    "comment, follow a random user: 2.5 % each), each signed in as a random user; the 1-worker "
    "server is pinned as every row, the 2-worker one to the server's and wrk's CPUs "
    "together (wrk stays on its own), so that it has both cores but shares one with wrk; "
    "both with the read cache off, as `conduit serve` runs several workers without Redis "
    "(with --redis-url, both share Redis)",
)  # fmt: skip
MIXED_WORKERS = (1, 2)
SCENARIOS = {s.key: s for s in [CEILING, BARE, *CONDUIT, MIXED]}

LATENCY_CONNECTIONS = 16  # p99 is read at 16 connections
# Measured again at LATENCY_CONNECTIONS: reads with the reads, writes after their own row.
LATENCY_KEYS = ("ceiling", "articles", "create_article")
MIXED_LOGIN_CONNECTIONS = 8  # logging in continuously, while
MIXED_READ_KEY = "article"  # ... this is read at LATENCY_CONNECTIONS


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    goal: str
    measure: Callable[[dict[str, Any]], float | None]  # from a run's "runs" by label
    passes: Callable[[float], bool]
    unit: str  # how to show the value: "ratio", "ms", "µs" or "x"


def _rps(runs: dict[str, Any], label: str) -> float | None:
    run = runs.get(label)
    return None if run is None else float(run["rps"])


def _ratio(label: str, reference: str) -> Callable[[dict[str, Any]], float | None]:
    def measure(runs: dict[str, Any]) -> float | None:
        value, base = _rps(runs, label), _rps(runs, reference)
        return None if value is None or not base else value / base

    return measure


def _p99(label: str) -> Callable[[dict[str, Any]], float | None]:
    def measure(runs: dict[str, Any]) -> float | None:
        run = runs.get(label)
        return None if run is None else float(run["p99_ms"])

    return measure


def _cpu(label: str) -> Callable[[dict[str, Any]], float | None]:
    def measure(runs: dict[str, Any]) -> float | None:
        run = runs.get(label)
        value = None if run is None else run.get("cpu_us_per_request")
        return None if value is None else float(value)

    return measure


def latency_label(key: str) -> str:
    return f"{key}@{LATENCY_CONNECTIONS}"


def mixed_label(workers: int) -> str:
    return f"{MIXED.key}-{workers}w"


MIXED_LABEL = f"{MIXED_READ_KEY}+login"

# Labels: a scenario's key at the run's connection count; `key@16` at 16 connections;
# `article+login` for the article reads during the login load; `mixed-1w` and `mixed-2w`
# for the mixed workload on 1 and 2 workers.
TARGETS = [
    Target("GET /api/articles signed in: throughput", ">= 40 % of the ceiling",
           _ratio("articles", "ceiling"), lambda v: v >= 0.40, "ratio"),
    Target("GET /api/articles signed in: p99 at 16 connections", "< 50 ms",
           _p99(latency_label("articles")), lambda v: v < 50, "ms"),
    Target("GET /api/articles/feed: throughput", ">= 30 % of the ceiling",
           _ratio("feed", "ceiling"), lambda v: v >= 0.30, "ratio"),
    Target("GET /api/articles?tag=: throughput", ">= 30 % of the ceiling",
           _ratio("articles_tag", "ceiling"), lambda v: v >= 0.30, "ratio"),
    Target("GET /api/articles/{slug} signed in: throughput", ">= 50 % of the ceiling",
           _ratio("article", "ceiling"), lambda v: v >= 0.50, "ratio"),
    Target("GET /api/tags: throughput", ">= 80 % of a bare FastAPI route",
           _ratio("tags", "bare"), lambda v: v >= 0.80, "ratio"),
    Target("GET /api/articles/{slug} p99 while 8 connections log in", "< 50 ms",
           _p99(MIXED_LABEL), lambda v: v < 50, "ms"),
    Target("POST /api/articles: throughput", ">= 25 % of the ceiling",
           _ratio("create_article", "ceiling"), lambda v: v >= 0.25, "ratio"),
    Target("POST /api/articles: server CPU per request", "<= 1,500 µs",
           _cpu("create_article"), lambda v: v <= 1500, "µs"),
    Target("POST /api/articles: p99 at 16 connections", "< 50 ms",
           _p99(latency_label("create_article")), lambda v: v < 50, "ms"),
    Target("POST /api/articles/{slug}/favorite: throughput", ">= 40 % of the ceiling",
           _ratio("favorite", "ceiling"), lambda v: v >= 0.40, "ratio"),
    Target("POST /api/articles/{slug}/comments: throughput", ">= 40 % of the ceiling",
           _ratio("comment", "ceiling"), lambda v: v >= 0.40, "ratio"),
    Target("GET /api/tags, read cache off: server CPU per request", "<= 400 µs",
           _cpu("tags_uncached"), lambda v: v <= 400, "µs"),
    Target("mixed workload: throughput, 2 workers / 1 worker", ">= 1.6x",
           _ratio(mixed_label(2), mixed_label(1)), lambda v: v >= 1.6, "x"),
]  # fmt: skip

GROWTH_GOAL = "< 2x"
GROWTH_LIMIT = 2.0
GROWTH_SUFFIX = "-growth"  # results of the small- and large-scale runs made for this target
GROWTH_KEYS = ("articles",)  # what those runs load
GROWTH_NAME = "GET /api/articles p50 (signed in, 16 connections), large / small scale"
