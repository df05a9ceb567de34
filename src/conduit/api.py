"""Every domain router, mounted under the API prefix (and again under `/api/v1`)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from conduit.articles.router import router as articles_router
from conduit.comments.router import router as comments_router
from conduit.users.router import router as users_router


def build_router() -> APIRouter:
    router = APIRouter()
    router.include_router(users_router)
    router.include_router(articles_router)
    router.include_router(comments_router)
    return router


def mount_api(app: FastAPI, prefix: str) -> None:
    router = build_router()
    app.include_router(router, prefix=prefix)
    # A pinned version for clients, left out of the OpenAPI document.
    version_prefix = f"{prefix}/v1"
    app.include_router(router, prefix=version_prefix, include_in_schema=False)
