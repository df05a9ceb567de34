"""Every domain router, mounted under the API prefix (and again under `/api/v1`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from conduit.admin.router import router as admin_router
from conduit.articles.router import router as articles_router
from conduit.auth.dependencies import auth_is_optional
from conduit.auth.router import keys_router
from conduit.auth.router import router as auth_router
from conduit.comments.router import router as comments_router
from conduit.core.errors import AllowedMethods
from conduit.uploads.router import router as uploads_router
from conduit.users.router import router as users_router

DOMAIN_ROUTERS = (
    users_router,
    articles_router,
    comments_router,
    auth_router,
    keys_router,
    admin_router,
    uploads_router,
)


# OpenAPI's way of saying "credentials are optional": the empty requirement among the
# alternatives (FastAPI appends `openapi_extra` lists to the security it derives).
OPTIONAL_SECURITY: dict[str, Any] = {"security": [{}]}


def build_router() -> APIRouter:
    router = APIRouter()
    for domain_router in DOMAIN_ROUTERS:
        for route in domain_router.routes:
            if isinstance(route, APIRoute) and auth_is_optional(route.dependant):
                route.openapi_extra = {**(route.openapi_extra or {}), **OPTIONAL_SECURITY}
        router.include_router(domain_router)
    return router


def mount_api(app: FastAPI, prefix: str) -> None:
    router = build_router()
    prefixes = (prefix, f"{prefix}/v1")
    app.include_router(router, prefix=prefixes[0])
    # A pinned version for clients, left out of the OpenAPI document.
    app.include_router(router, prefix=prefixes[1], include_in_schema=False)
    # What a 405 lists in its Allow header.
    allowed = AllowedMethods()
    for domain_router in DOMAIN_ROUTERS:
        for route in domain_router.routes:
            if isinstance(route, APIRoute):
                for mount in prefixes:
                    allowed.add(mount + route.path, route.methods or ())
    app.state.allowed_methods = allowed
