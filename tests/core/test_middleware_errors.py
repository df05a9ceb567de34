"""The last-resort 500 (logged once with its request id, answered in the error shape with
nothing of its cause), and the OpenTelemetry instrumentation, which looks for a tracer
provider only when enabled."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conduit.core.logging import formatter as log_formatter
from tests.conftest import make_settings
from tests.factories.apps import client_for

# --- the last-resort 500 ---------------------------------------------------------------


@pytest.mark.server_error
async def test_an_unhandled_error_is_a_500_logged_once_with_its_request_id(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app, client = await client_for(make_settings(database_url))

    async def explode() -> None:
        raise RuntimeError("boom: secret internals")

    app.add_api_route("/explode", explode)
    async with client:
        response = await client.get("/explode", headers={"X-Request-ID": "crash-1"})
    assert response.status_code == 500
    assert response.json() == {"errors": {"server": ["internal error"]}, "request_id": "crash-1"}
    assert response.headers["x-request-id"] == "crash-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    crashes = [r for r in caplog.records if r.name == "conduit.errors"]
    assert len(crashes) == 1
    assert crashes[0].exc_info is not None
    line = json.loads(log_formatter(json_lines=True).format(crashes[0]))
    assert line["request_id"] == "crash-1"
    assert "RuntimeError" in line["exception"]


@pytest.mark.parametrize("enabled", [False, True])
async def test_fastapis_opentelemetry_looks_for_a_provider_only_when_enabled(
    settings: Any, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    from opentelemetry import trace

    asked: list[bool] = []
    real = trace.get_tracer_provider

    def recording() -> Any:
        asked.append(True)
        return real()

    monkeypatch.setattr(trace, "get_tracer_provider", recording)
    app, client = await client_for(settings.model_copy(update={"otel_enabled": enabled}))
    async with app.router.lifespan_context(app), client:
        assert (await client.get("/api/tags")).status_code == 200
    assert bool(asked) is enabled
