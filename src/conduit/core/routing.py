"""The route classes: a request's unit of work belongs to its route.

Each domain's `APIRouter` sets `route_class=SessionRoute`, so every route it declares runs
each request in one unit of work (`Database.session`): a session that holds no connection
until its first statement, committed once the endpoint has returned and its response is
rendered but before it is sent (a failed commit reaches the client as an error, never as a
success), rolled back when anything raises. Reads (GET, HEAD, OPTIONS) get a read-only one, on a
replica when one is configured and fit, retried once on the primary when its connection
turns out lost (`Database.read`).
A route declared `@policy(idempotent=True)` runs a request that carries a `KeyedWrite`
(core/policies.py) through it, so that its key is claimed and its response recorded in
that same unit of work.
Dependencies reach the session with `request_session(request)`, the one accessor.

Both document on their OpenAPI operation what follows from their dependencies (security,
parameters read in one step, error answers: `core.openapi.document`), once, when made.

`DirectRoute` is the one shortcut, set by name on the routes that use it (see
docs/performance.md): an async endpoint that takes only the request, has no unit of work,
and is called with the request without FastAPI's dependency solving.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any, cast

from fastapi import Request, Response
from fastapi.routing import APIRoute
from fastapi.telemetry import get_telemetry_data
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.db import Database
from conduit.core.openapi import document
from conduit.core.params import takes_only_the_request
from conduit.core.policies import keyed_write, policy_of

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_SESSION = "conduit.session"  # the scope key of a request's session

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def request_session(request: Request) -> AsyncSession:
    """The session of the request's unit of work (`SessionRoute`)."""
    session = request.scope.get(_SESSION)
    if session is None:
        raise RuntimeError(f"{request.url.path}: only a SessionRoute has a unit of work")
    return cast(AsyncSession, session)


class DocumentedRoute(APIRoute):
    """An API route whose operation documents what its dependencies imply (see the module)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **settings: Any) -> None:
        super().__init__(path, endpoint, **settings)
        document(self)


class SessionRoute(DocumentedRoute):
    """An API route whose every request runs in one unit of work (see the module)."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        idempotent = policy_of(self).idempotent

        async def in_unit_of_work(request: Request) -> Response:
            database: Database = request.app.state.db
            if request.method in SAFE_METHODS:
                return await database.read(partial(_run, handler, request), request.headers)
            keyed = keyed_write(request.scope) if idempotent else None
            async with database.session(write=True) as session:
                request.scope[_SESSION] = session
                if keyed is None:
                    return await handler(request)
                return await keyed.run(session, lambda: handler(request))

        return in_unit_of_work


async def _run(handler: Handler, request: Request, session: AsyncSession) -> Response:
    """The handler in the read unit of work `session` (which may run twice: `Database.read`)."""
    request.scope[_SESSION] = session
    return await handler(request)


class DirectRoute(DocumentedRoute):
    """A route whose async endpoint takes only the request and returns its own `Response`:
    it is called with the request, with no dependency solving and no unit of work (it opens
    what it needs itself). When FastAPI's OpenTelemetry traces the request, FastAPI's own
    handler runs, with its spans."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        endpoint = self.endpoint
        if not (takes_only_the_request(self.dependant) and inspect.iscoroutinefunction(endpoint)):
            raise TypeError(
                f"{self.path}: a DirectRoute's endpoint is async and takes only the request"
            )
        return _called_directly(endpoint, handler)


def _called_directly(endpoint: Callable[[Request], Awaitable[Any]], handler: Handler) -> Handler:
    async def called_directly(request: Request) -> Response:
        if get_telemetry_data() is not None:
            return await handler(request)
        response = await endpoint(request)
        if not isinstance(response, Response):
            name = getattr(endpoint, "__qualname__", repr(endpoint))
            raise TypeError(f"{name} takes only the request: it must return a Response")
        return response

    return called_directly
