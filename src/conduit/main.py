"""The application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from conduit import __version__
from conduit.api import mount_api
from conduit.core.config import Settings, get_settings
from conduit.core.db import Database
from conduit.core.docs import install_docs
from conduit.core.errors import install_error_handlers
from conduit.core.mail import transport_for
from conduit.core.security import PasswordHasher, TokenCodec
from conduit.outbox.service import OutboxDeliverer
from conduit.users.protection import AccountProtection

DESCRIPTION = """
The [RealWorld](https://realworld-docs.netlify.app/) "Conduit" publishing API, served to
spec 2.0.0 under `/api` (and `/api/v1`).

Authenticate with `Authorization: Token <jwt>` or `Authorization: Bearer <jwt>`, using the
token returned by registration or login. Every error has the shape
`{"errors": {"<field or resource>": ["<message>"]}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker: asyncio.Task[None] | None = None
        if settings.mail_embedded_worker:
            worker = asyncio.create_task(app.state.deliverer.run_forever(stop=stop))
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                await worker
            await app.state.db.dispose()

    app = FastAPI(
        title="Conduit API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = Database(settings)
    app.state.passwords = PasswordHasher(settings)
    app.state.tokens = TokenCodec(settings)
    app.state.accounts = AccountProtection(settings)
    app.state.deliverer = OutboxDeliverer(app.state.db, transport_for(settings), settings)

    install_error_handlers(app)
    install_docs(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
            allow_credentials="*" not in settings.cors_origins,
        )
    mount_api(app, settings.api_prefix)
    return app
