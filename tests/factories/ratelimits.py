"""Rate limits: the auth endpoints, the 429 answer and the limiter's metrics."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY

# The routes of the rate-limit class "auth" (declared `@policy(rate_limit="auth")`), without
# their mount (/api or /api/v1): sign-up, the logins, tokens and the e-mail flows.
AUTH_ENDPOINTS = (
    "/users",
    "/users/login",
    "/auth/token",
    "/auth/refresh",
    "/auth/verify-email",
    "/auth/verify-email/confirm",
    "/auth/password-reset",
    "/auth/password-reset/confirm",
)
TOO_MANY = {"errors": {"rate_limit": ["too many requests"]}}


def metric(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def assert_refused(response: httpx.Response, limit: int) -> None:
    """A 429 of the rate limiter that says which `limit` ran out, and when to come back."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["errors"] == TOO_MANY["errors"]
    assert set(body) <= {"errors", "request_id"}
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(response.headers["RateLimit-Reset"]) <= 60
