"""Policies live on the routes: the rate-limit class and `Idempotency-Key` coverage come from
each route's `@policy` declaration, read by the middleware from the app's route table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.responses import Response

from conduit.core.policies import DEFAULT_POLICY, PolicyTable, RoutePolicy, policy, policy_of
from conduit.core.ratelimit import RateLimitMiddleware
from conduit.idempotency.middleware import IdempotencyMiddleware
from tests.factories import auth, generated_resources, register
from tests.factories.ratelimits import AUTH_ENDPOINTS

MOUNTS = ("/api", "/api/v1")
# What the routers declare, by endpoint: a new declaration fails here until it is listed.
DECLARED = {
    "register": RoutePolicy(rate_limit="auth"),
    "login": RoutePolicy(rate_limit="auth"),
    "token": RoutePolicy(rate_limit="auth"),
    "refresh": RoutePolicy(rate_limit="auth"),
    "send_verification": RoutePolicy(rate_limit="auth"),
    "confirm_verification": RoutePolicy(rate_limit="auth"),
    "request_reset": RoutePolicy(rate_limit="auth"),
    "confirm_reset": RoutePolicy(rate_limit="auth"),
    "create_article": RoutePolicy(idempotent=True),
    "favorite": RoutePolicy(idempotent=True),
    "add_comment": RoutePolicy(idempotent=True),
    "follow": RoutePolicy(idempotent=True),
    "health": RoutePolicy(rate_limit="exempt"),
    "ready": RoutePolicy(rate_limit="exempt"),
    "metrics": RoutePolicy(rate_limit="exempt"),
}


def api_routes(app: Any) -> list[APIRoute]:
    return [r for r in app.router.routes if isinstance(r, APIRoute)]


def middleware(app: Any, kind: type) -> Any:
    layer = app.build_middleware_stack()
    while not isinstance(layer, kind):
        layer = layer.app
    return layer


def test_every_policy_is_its_routes_declaration(app: Any) -> None:
    declared = {}
    for route in api_routes(app):
        found = policy_of(route)
        if found != DEFAULT_POLICY:
            declared[route.endpoint.__name__] = found
    generated = {
        f"create_{r.name}": RoutePolicy(idempotent=True) for r in generated_resources().values()
    }
    assert declared == DECLARED | generated


def test_the_middleware_read_the_route_table(app: Any) -> None:
    table = PolicyTable.of(app.router.routes)
    auth_routes = [r for r in api_routes(app) if policy_of(r).rate_limit == "auth"]
    assert sorted(table.paths("auth")) == sorted(r.path for r in auth_routes)
    assert {r.path.removeprefix("/api/v1").removeprefix("/api") for r in auth_routes} == set(
        AUTH_ENDPOINTS
    )
    assert sorted(table.paths("exempt")) == ["/health", "/metrics", "/ready"]

    limiter = middleware(app, RateLimitMiddleware)
    assert limiter.policies == table
    idempotency = middleware(app, IdempotencyMiddleware)
    assert idempotency.covered == table.idempotent_paths
    for mount in MOUNTS:
        for path in ("/articles", "/articles/a-b/comments", "/articles/x/favorite"):
            assert table.idempotent(mount + path), path
        assert table.idempotent(mount + "/profiles/alice/follow")
        for path in ("/articles/x", "/articles/feed/x/favorite", "/user", "/articlesx"):
            assert not table.idempotent(mount + path), path


def test_only_a_post_route_is_idempotent(app: Any) -> None:
    @policy(idempotent=True)
    async def put(request: Any) -> Response:
        return Response()

    app.router.add_api_route("/api/put-only", put, methods=["PUT"])
    with pytest.raises(ValueError, match="only a POST route"):
        PolicyTable.of(app.router.routes)


@pytest.mark.settings(rate_limit_auth="1/minute", rate_limit_anon="100/minute")
async def test_a_new_route_declared_auth_is_limited_as_auth(
    app: Any, client: httpx.AsyncClient
) -> None:
    """Declared on the route, counted in the `auth` bucket: the middleware is not touched."""

    @policy(rate_limit="auth")
    async def new_login() -> Response:
        return Response(status_code=204)

    async def plain() -> Response:
        return Response(status_code=204)

    # Added before the first request: the stack, and its table, are built then.
    app.router.add_api_route("/api/new-login", new_login, methods=["POST"])
    app.router.add_api_route("/api/new-plain", plain, methods=["POST"])
    assert (await client.post("/api/new-login")).status_code == 204
    refused = await client.post("/api/new-login")
    assert refused.status_code == 429
    assert refused.headers["RateLimit-Limit"] == "1"
    plain_answer = await client.post("/api/new-plain")
    assert plain_answer.status_code == 204
    assert plain_answer.headers["RateLimit-Limit"] == "100"


async def test_exempt_routes_are_not_counted(client: httpx.AsyncClient) -> None:
    for path in ("/health", "/metrics"):
        assert "RateLimit-Limit" not in (await client.get(path)).headers
    token = await register(client, "alice")
    assert "RateLimit-Limit" in (await client.get("/api/user", headers=auth(token))).headers
