"""Pure ASGI middleware: the request context (id, client IP, access log, metrics, security
headers, last-resort 500) and the request-body limit.

Pure ASGI rather than `BaseHTTPMiddleware`: no extra task per request, context variables
are shared with the handlers, and bodies stream through untouched.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.core import metrics
from conduit.core.clientip import ClientIP
from conduit.core.context import RequestContext, reset_context, set_context
from conduit.core.errors import BodyTooLarge, error_response, log_unhandled, server_error

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def security_headers(production: bool) -> dict[str, str]:
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        "Content-Security-Policy": API_CSP,
        # Responses may carry credentials or per-user data: nothing is stored unless a
        # route says otherwise (cached public reads set their own Cache-Control).
        "Cache-Control": "no-store",
    }
    if production:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    return headers


def _route_label(scope: Scope, mounts: tuple[str, ...]) -> str:
    """The route template ("/api/articles/{slug}"), never the raw path: bounded label sets.
    FastAPI reports the route as declared in its router, without the prefix it is mounted
    under, so the prefix is taken from the path (`mounts`, longest first)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not template:
        return "unmatched"
    path: str = scope["path"]
    for mount in mounts:
        if mount and path.startswith(mount + "/") and not template.startswith(mount + "/"):
            return mount + str(template)
    return str(template)


class RequestContextMiddleware:
    """Outermost: gives every request an id and a client IP, logs one line for it, records
    metrics, adds the security headers, and turns an unhandled exception into a 500 in the
    API's error shape (logged once, with the request id)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        client_ip: ClientIP,
        headers: Mapping[str, str],
        access_log: bool = True,
        static_prefixes: tuple[str, ...] = (),
        mounts: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.client_ip = client_ip
        self.headers = dict(headers)
        self.access_log = access_log
        self.static_prefixes = static_prefixes
        self.mounts = tuple(sorted(mounts, key=len, reverse=True))
        self.logger = structlog.stdlib.get_logger("conduit.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        request_headers = Headers(scope=scope)
        request_id = request_headers.get("x-request-id", "")
        if not _SANE_REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        peer, port = scope.get("client") or ("unknown", 0)
        client = self.client_ip.resolve(peer, request_headers.get("x-forwarded-for"))
        if client != peer:
            scope = {**scope, "client": (client, port)}
        context = RequestContext(request_id=request_id, client_ip=client)
        token = set_context(context)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        path: str = scope["path"]
        defaults = self.headers
        if path.startswith(self.static_prefixes):
            defaults = {k: v for k, v in defaults.items() if k != "Cache-Control"}
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for name, value in defaults.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        metrics.IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            log_unhandled(scope.get("method", "?"), path, exc)
            if not response_started:
                await server_error()(scope, receive, send_with_headers)
        finally:
            metrics.IN_FLIGHT.dec()
            duration = time.perf_counter() - started_at
            method = scope.get("method", "OTHER")
            method = method if method in _METHODS else "OTHER"
            route = _route_label(scope, self.mounts)
            metrics.REQUESTS.labels(method, route, str(status)).inc()
            metrics.LATENCY.labels(method, route).observe(duration)
            if self.access_log:
                self.logger.info(
                    "request",
                    method=method,
                    route=route,
                    path=path,
                    status=status,
                    duration_ms=round(duration * 1000, 2),
                    user_id=context.user_id,
                    client_ip=client,
                )
            structlog.contextvars.clear_contextvars()
            reset_context(token)


class BodyLimitMiddleware:
    """Refuse request bodies over the limit with 413, counting bytes as they arrive, so a
    huge body is never buffered, whether it declares a Content-Length or comes chunked.
    Uploads (`POST .../uploads`) get their own, larger limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Multipart framing around the file: boundaries, part headers.
        self.upload_max_bytes = upload_max_bytes + 16 * 1024

    def _limit_for(self, scope: Scope) -> int:
        if scope.get("method") == "POST" and scope["path"].rstrip("/").endswith("/uploads"):
            return self.upload_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(limit)(scope, receive, send)
            return
        received = 0
        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            # Raised while something outside the routes was reading the body.
            if response_started:
                raise
            await self._refuse(limit)(scope, receive, send)

    @staticmethod
    def _refuse(limit: int) -> ASGIApp:
        return error_response(
            413,
            {"body": [BodyTooLarge.message(limit)]},
            {"Connection": "close"},
        )
