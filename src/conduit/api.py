"""Every domain's routers, mounted as the registry (conduit/domains.py) lists them: the API
under the API prefix (and again under `/api/v1`), the operational routes at the root.

The routes are added to the application's own router, each with its full path, instead of
through `include_router`, which keeps an included router as a lazy branch matched level by
level: a flat list of routes is matched once, one regex per route (docs/performance.md).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette.routing import BaseRoute

from conduit.auth.dependencies import security_schemes
from conduit.core.errors import AllowedMethods
from conduit.core.routing import DirectRoute, SessionRoute
from conduit.domains import DOMAINS, Domain


def routers_of(domain: Domain) -> tuple[APIRouter, ...]:
    """The routers the registry names for `domain`, in its order."""
    if not domain.routers:
        return ()
    module = importlib.import_module(domain.module("router"))
    routers = tuple(getattr(module, name) for name in domain.routers)
    for router in routers:
        if not isinstance(router, APIRouter):
            raise TypeError(f"{domain.module('router')}: {router!r} is not an APIRouter")
    return routers


# Under the API prefix, in matching order; and at the root.
DOMAIN_ROUTERS = tuple(r for d in DOMAINS if not d.at_root for r in routers_of(d))
ROOT_ROUTERS = tuple(r for d in DOMAINS if d.at_root for r in routers_of(d))


# What `add_api_route` takes besides the path and the endpoint: every one of them is an
# attribute of the route it came from, by the same name.
_ROUTE_SETTINGS = tuple(
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in {"self", "path", "endpoint", "route_class_override"}
)


def api_routes() -> list[APIRoute]:
    """Every domain's routes, in matching order, with their paths below the API prefix."""
    routes: list[APIRoute] = []
    for domain_router in DOMAIN_ROUTERS:
        for route in domain_router.routes:
            if not isinstance(route, SessionRoute | DirectRoute):  # a route class of ours
                raise TypeError(f"{route!r}: a domain router sets route_class=SessionRoute")
            routes.append(route)
    return routes


def _add(app: FastAPI, prefix: str, route: APIRoute, *, in_schema: bool) -> BaseRoute:
    settings = {name: getattr(route, name) for name in _ROUTE_SETTINGS}
    settings["include_in_schema"] = route.include_in_schema and in_schema
    app.router.add_api_route(
        prefix + route.path, route.endpoint, route_class_override=type(route), **settings
    )
    return app.router.routes[-1]


def _tried_first(app: FastAPI, routes: list[BaseRoute]) -> None:
    """Move `routes` to the head of the application's routes, keeping both orders.

    The router tries its routes in order until one matches. FastAPI puts `/openapi.json`
    first, and the docs and the operational routes were added before the API: every API
    request was first tried against routes that never answer it (docs/performance.md). No
    path of one group is matched by a route of the other, so the answers are the same."""
    first = set(map(id, routes))
    app.router.routes[:] = [*routes, *(r for r in app.router.routes if id(r) not in first)]


def _document_security_schemes(app: FastAPI) -> None:
    """Add the credentials' schemes to the document's components, where FastAPI would
    have put them had the routes depended on the schemes."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = security_schemes()
        return app.openapi_schema  # type: ignore[return-value]  # built just above

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented hook


def mount_domains(app: FastAPI, prefix: str) -> None:
    """Mount every domain's routes flat: the operational ones at the root, the API's under
    `prefix` and `prefix/v1`, and tried before the others. Flat, the application's route
    list is the route table the middleware read their policies from (core/policies.py)."""
    for router in ROOT_ROUTERS:
        for route in router.routes:
            if not isinstance(route, APIRoute):
                raise TypeError(f"{route!r}: a router at the root declares API routes")
            _add(app, "", route, in_schema=True)
    _document_security_schemes(app)
    routes = api_routes()
    prefixes = (prefix, f"{prefix}/v1")
    added = [_add(app, prefixes[0], route, in_schema=True) for route in routes]
    # A pinned version for clients, left out of the OpenAPI document.
    added += [_add(app, prefixes[1], route, in_schema=False) for route in routes]
    _tried_first(app, added)
    # What a 405 lists in its Allow header.
    allowed = AllowedMethods()
    for route in routes:
        for mount in prefixes:
            allowed.add(mount + route.path, route.methods or ())
    app.state.allowed_methods = allowed
