"""Operational endpoints at the root: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import hmac
import os
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import BaseModel

from conduit.core.errors import Unauthorized
from conduit.core.openapi import error_responses
from conduit.core.policies import policy
from conduit.ops.service import ReadinessService

router = APIRouter(tags=["Operations"])


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    status: Literal["ok", "degraded", "unavailable", "draining"]
    checks: dict[str, str]


@router.get(
    "/health",
    summary="Liveness",
    operation_id="GetHealth",
    description="The process answers. Calls no dependency.",
)
@policy(rate_limit="exempt")
async def health() -> Health:
    return Health(status="ok")


@router.get(
    "/ready",
    summary="Readiness",
    operation_id="GetReadiness",
    description="Whether a load balancer should send this instance traffic. 200 while the "
    "database answers within `READY_TIMEOUT` seconds: `ok`, or `degraded` when Redis (if "
    "configured) does not answer, since the instance serves without it. 503 when the "
    "database does not answer (`unavailable`), and after SIGTERM while the instance drains "
    "(`draining`). `checks` names each dependency's state.",
    responses={
        200: {"model": Ready, "description": "The database answers (`ok` or `degraded`)"},
        503: {"model": Ready, "description": "The database is unreachable, or draining"},
    },
)
@policy(rate_limit="exempt")
async def ready(request: Request) -> JSONResponse:
    state = request.app.state
    result = await ReadinessService(state.db, state.redis, state.settings.ready_timeout).check()
    draining = state.drain.draining
    status = "draining" if draining else result.status
    body = Ready(status=status, checks=result.checks)
    return JSONResponse(
        body.model_dump(), status_code=200 if result.ready and not draining else 503
    )


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    operation_id="GetMetrics",
    description="Prometheus text format. Needs `Authorization: Bearer <METRICS_TOKEN>` "
    "when METRICS_TOKEN is set.",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
        **error_responses(401, 422),
    },
)
@policy(rate_limit="exempt")
async def metrics(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Response:
    token = request.app.state.settings.metrics_token
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}".encode()
        if not hmac.compare_digest((authorization or "").encode(), expected):
            raise Unauthorized("token", "is missing or invalid")
    return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)
