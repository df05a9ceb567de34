"""Application settings, read from the environment and an optional `.env` file."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The value shipped in examples and used when nothing is configured. Production refuses it.
DEFAULT_SECRET_KEY = "insecure-development-key-change-me-in-production"  # noqa: S105
MIN_SECRET_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


def parse_list(value: Any) -> Any:
    """Accept a JSON list or a comma-separated string for list-valued settings."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    # A refused setting is reported without the values read: they hold SECRET_KEY, the
    # database and SMTP passwords, and startup errors end up in logs.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    environment: Environment = Environment.DEVELOPMENT
    database_url: str = "sqlite+aiosqlite:///./conduit.db"
    secret_key: str = DEFAULT_SECRET_KEY
    api_prefix: str = "/api"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    access_token_ttl: int = Field(default=900, gt=0, le=31 * 24 * 3600)
    # A session's absolute lifetime: the refresh tokens' and the RealWorld tokens' limit.
    refresh_token_ttl: int = Field(default=30 * 24 * 3600, gt=0)
    # A session unused this long ends (docs/api.md, "Sessions and tokens").
    session_idle_ttl: int = Field(default=7 * 24 * 3600, gt=0)
    jwt_algorithm: str = "HS256"

    # Connection pool (PostgreSQL, per worker process); SQLite uses the driver's defaults.
    # No overflow by default: under steady load above the pool's size, overflow connections
    # are opened and closed again on every request (a PostgreSQL backend each time). A
    # request waits for a pooled connection instead, up to `db_pool_timeout` (then 503).
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    # PostgreSQL's plan_cache_mode for this application's connections. Its statements are
    # prepared once per connection (asyncpg), and their plans do not depend on the values
    # (index walks bounded by a page): a generic plan spares the planner on every execution,
    # where "auto" kept re-planning them (docs/performance.md).
    db_plan_cache_mode: Literal["auto", "force_generic_plan", "force_custom_plan"] = (
        "force_generic_plan"
    )
    # PostgreSQL's statement_timeout and lock_timeout on the application's connections, in
    # seconds (0: none). A request should never wait inside the database longer than its
    # client waits for the answer (30 s is the usual client and proxy timeout), and a lock
    # held for seconds is a stuck writer to answer 503 for, not a queue to join.
    db_statement_timeout: float = Field(default=30.0, ge=0)
    db_lock_timeout: float = Field(default=5.0, ge=0)
    # Behind pgbouncer in transaction pooling: no prepared-statement cache, unique statement
    # names, no startup parameters (set them per role or database instead: docs/replicas.md).
    db_pgbouncer: bool = False
    db_echo: bool = False
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    # Read replicas (PostgreSQL): the reads of GET and HEAD routes go to one that is up and
    # lags the primary by at most `replica_max_lag` seconds (docs/replicas.md).
    database_replica_url: Annotated[list[str], NoDecode] = Field(default_factory=list)
    replica_max_lag: float = Field(default=5.0, gt=0)

    # Redis: shared state for several instances (login throttling); in-process without it.
    redis_url: str | None = None
    redis_key_prefix: str = "conduit"

    # Uploads: a local directory behind a small storage interface.
    upload_dir: str = "./uploads"
    upload_max_bytes: int = Field(default=2 * 1024 * 1024, ge=1)

    # Account protection.
    password_min_length: int = Field(default=8, ge=8, le=256)
    common_passwords_file: str | None = None  # one password per line; refused at sign-up
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window: int = Field(default=900, ge=1)  # seconds

    # Mail: SMTP when SMTP_HOST is set, otherwise .eml files in MAIL_DIR.
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: bool = False  # STARTTLS
    mail_from: str = "Conduit <no-reply@conduit.invalid>"
    mail_dir: str = "./mail"
    frontend_url: str = "http://localhost:3000"  # the only source of links in mail
    email_verification_ttl: int = Field(default=86400, gt=0)  # seconds
    password_reset_ttl: int = Field(default=1800, gt=0)  # seconds
    mail_retry_base: float = Field(default=5.0, gt=0)  # seconds, doubled per attempt, max 600
    mail_max_attempts: int = Field(default=10, ge=1)
    mail_embedded_worker: bool = True  # deliver the outbox inside the API process

    # Observability.
    log_level: str = "INFO"
    log_json: bool | None = None  # None: JSON lines in production, console output otherwise
    access_log: bool = True  # one line per request
    # FastAPI's native OpenTelemetry, on the global providers; off, no request asks whether
    # a provider is configured (three environment lookups and a few calls).
    otel_enabled: bool = False
    metrics_token: SecretStr | None = None  # when set, /metrics needs `Bearer <token>`
    ready_timeout: float = Field(default=2.0, gt=0)  # seconds per readiness check

    # Protective middleware.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)  # uploads have UPLOAD_MAX_BYTES
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)  # IPs/CIDRs
    gzip_min_bytes: int = Field(default=1024, ge=0)
    gzip_level: int = Field(default=1, ge=1, le=9)  # zlib's; docs/performance.md

    # Rate limits, in the `limits` library's notation ("30/minute", "5/second;100/hour").
    rate_limit_enabled: bool = True
    rate_limit_anon: str = "300/minute"  # per client IP, anonymous requests
    rate_limit_user: str = "1200/minute"  # per user, signed-in requests
    rate_limit_auth: str = "30/minute"  # per client IP, on sign-up, login, refresh, reset

    # Cache of hot public reads (Redis when REDIS_URL is set, in-process otherwise).
    cache_enabled: bool = True
    cache_ttl: int = Field(default=60, ge=1)  # seconds; invalidation is explicit, TTL bounds it

    # Seconds between two folds of the article count deltas into the counts, in each
    # process (articles/counters.py); 0: no background fold (reads are exact either way,
    # but sum ever more pending deltas).
    counts_fold_interval: float = Field(default=1.0, ge=0)

    # Idempotency-Key replay window.
    idempotency_ttl: int = Field(default=24 * 3600, ge=1)  # seconds

    # Graceful shutdown: how long in-flight requests may run after SIGTERM.
    shutdown_timeout: int = Field(default=30, ge=0)
    # After SIGTERM, seconds `/ready` fails while requests are still served, before the
    # server stops (core/draining.py): longer than a balancer needs to take the instance out.
    shutdown_drain: float = Field(default=5.0, ge=0)

    # Freeze what is alive after start-up out of the garbage collector's reach (gc.freeze),
    # so that a full collection walks only what requests created (see conduit.main).
    gc_freeze: bool = True
    # The collector's first-generation threshold (allocations less deallocations of
    # container objects between two young collections). Python's 700 is reached many times
    # a second by the transient objects of requests in flight, and each collection walks
    # (and promotes) what those requests hold (docs/performance.md). At 10,000 the collector
    # still runs, a few times a minute. 0 leaves the interpreter's own threshold.
    gc_threshold: int = Field(default=10_000, ge=0)

    # Argon2id parameters: OWASP's password storage cheat sheet's first configuration
    # (19 MiB, 2 passes, 1 lane; its cost is in docs/performance.md). Hashes made with other
    # parameters still verify, and are rehashed on the next successful login.
    # The test suite lowers them: cheaper hashing, same algorithm.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_cost: int = Field(default=19456, ge=8)  # KiB
    argon2_parallelism: int = Field(default=1, ge=1)
    # Hashing runs on a few threads of its own per process, at a lower CPU priority (a higher
    # nice value, Linux only; 0 leaves it alone) so that the event loop wins the core. Beyond
    # `argon2_threads` hashes in progress, up to `argon2_queue` wait; more answer 503 with
    # Retry-After, so that a burst of logins cannot build an unbounded wait. The default
    # queue drains well within a client's usual 30 s timeout, and lets a burst of sign-ups
    # (tests/concurrency/test_registration.py) queue rather than fail.
    argon2_threads: int = Field(default=1, ge=1, le=64)
    argon2_queue: int = Field(default=128, ge=0)
    argon2_nice: int = Field(default=10, ge=0, le=19)

    @field_validator("cors_origins", "trusted_proxies", "database_replica_url", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        return parse_list(value)

    @field_validator("rate_limit_anon", "rate_limit_user", "rate_limit_auth")
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError("must look like '30/minute' or '5/second;100/hour'") from None
        return value

    @field_validator("frontend_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("api_prefix")
    @classmethod
    def _normalise_prefix(cls, value: str) -> str:
        value = "/" + value.strip("/")
        return "" if value == "/" else value

    @model_validator(mode="after")
    def _refuse_weak_secret_in_production(self) -> Settings:
        if self.environment is Environment.PRODUCTION and (
            self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_LENGTH
        ):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_LENGTH} characters in production"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
