"""Liveness, readiness and Prometheus metrics, over HTTP."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from conduit.main import create_app
from tests.conftest import make_settings
from tests.factories import auth, create_article
from tests.live import free_port


async def test_health_answers_without_dependencies(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_the_database(client: httpx.AsyncClient, settings: Any) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    expected = {"database": "ok"} | ({"redis": "ok"} if settings.redis_url else {})
    assert response.json() == {"status": "ok", "checks": expected}


async def _get(app: Any, path: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, **kwargs)


async def test_ready_is_200_degraded_when_redis_is_unreachable(database_url: str) -> None:
    # The app fails open without Redis: a balancer must not take the instance out for it.
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(make_settings(database_url, redis_url=dead_redis, ready_timeout=1.0))
    async with app.router.lifespan_context(app):
        started = time.monotonic()
        response = await _get(app, "/ready")
        elapsed = time.monotonic() - started
        liveness = await _get(app, "/health")
        scrape = await _get(app, "/metrics")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "unavailable"},
    }
    assert elapsed < 2.0
    assert liveness.status_code == 200  # liveness never looks at dependencies
    assert _sample(scrape.text, "conduit_dependency_up", dependency="redis") == 0.0
    assert _sample(scrape.text, "conduit_dependency_up", dependency="database") == 1.0


async def test_ready_is_503_when_the_database_is_unreachable() -> None:
    dead = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing"
    app = create_app(make_settings(dead, ready_timeout=1.0))
    async with app.router.lifespan_context(app):
        response = await _get(app, "/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] in {"unavailable", "timeout"}


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if series == (f"{name}{{{wanted}}}" if labels else name):
            return float(value)
    raise AssertionError(f"no sample {name}{{{wanted}}}")


async def test_metrics_count_requests_by_route_template(
    client: httpx.AsyncClient, alice: str
) -> None:
    article = await create_article(client, alice)
    before = (await client.get("/metrics")).text
    route = "/api/articles/{slug}"
    labels = {"method": "GET", "route": route, "status": "200"}
    try:
        already = _sample(before, "conduit_http_requests_total", **labels)
    except AssertionError:
        already = 0.0
    for _ in range(3):
        await client.get(f"/api/articles/{article['slug']}", headers=auth(alice))
    await client.get("/api/articles/no-such-article")
    await client.get("/completely/unknown/path")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert _sample(text, "conduit_http_requests_total", **labels) == already + 3
    assert _sample(text, "conduit_http_requests_total", method="GET", route=route, status="404")
    assert _sample(
        text, "conduit_http_requests_total", method="GET", route="unmatched", status="404"
    )
    assert article["slug"] not in text  # raw paths never become labels
    assert _sample(
        text,
        "conduit_http_request_duration_seconds_count",
        method="GET",
        route=route,
    )
    assert _sample(text, "conduit_http_requests_in_flight") >= 1  # this very request
    assert "conduit_db_pool_connections_checked_out" in text
    assert _sample(text, "conduit_db_pool_connections_open") >= 1


async def test_metrics_need_the_token_when_one_is_set(database_url: str) -> None:
    app = create_app(make_settings(database_url, metrics_token="scrape-me-please"))
    async with app.router.lifespan_context(app):
        missing = await _get(app, "/metrics")
        wrong = await _get(app, "/metrics", headers={"Authorization": "Bearer nope"})
        right = await _get(app, "/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert missing.status_code == 401
    assert missing.json()["errors"] == {"token": ["is missing or invalid"]}
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "conduit_http_requests_total" in right.text


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
async def test_operational_endpoints_are_not_under_the_api_prefix(
    client: httpx.AsyncClient, path: str
) -> None:
    assert (await client.get(f"/api{path}")).status_code == 404
