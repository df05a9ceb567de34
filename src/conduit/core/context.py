"""What the middleware knows about the request being served, shared with the code below it.

The request-context middleware (outermost) creates one `RequestContext` per HTTP request and
puts it in a context variable; inner middleware and handlers read it, and may fill in
`user_id` once they know who is calling. Pure ASGI middleware and async dependencies run in
the same task, so the object is shared, not copied.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from starlette.datastructures import Headers

# The user id of the caller named by the request's credentials, or None (anonymous): how
# middleware that must not import a domain (rate limits, idempotency) learns who is calling.
Identify = Callable[[Headers], Awaitable[int | None]]


@dataclass(slots=True)
class RequestContext:
    request_id: str
    client_ip: str
    user_id: int | None = None
    wrote: bool = False  # a write committed (set by `Database.session` when replicas are on)


_current: ContextVar[RequestContext | None] = ContextVar("conduit_request", default=None)


def current_context() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context is not None else None


def set_context(context: RequestContext | None) -> object:
    """Install `context`; returns a token for `reset_context`."""
    return _current.set(context)


def reset_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
