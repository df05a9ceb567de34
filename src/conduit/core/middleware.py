"""Pure ASGI middleware: the request context (id, client IP, access log, metrics, security
headers, the last-resort answer to an unhandled error) and the request-body limit.

Pure ASGI rather than `BaseHTTPMiddleware`: no extra task per request, context variables
are shared with the handlers, and bodies stream through untouched.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.core import metrics
from conduit.core.access_log import AccessLog
from conduit.core.clientip import ClientIP
from conduit.core.context import RequestContext, reset_context, set_context
from conduit.core.errors import BodyTooLarge, error_response, unhandled_response

# A client's request id is echoed into headers and logs only when it cannot read as a path.
_SANE_REQUEST_ID = re.compile(rb"(?!.*\.\.)[A-Za-z0-9._:@+=-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# HTTP versions whose request body, if any, is announced by a header (HTTP/2 and 3 frame it).
_FRAMED_BY_HEADERS = frozenset({"1.0", "1.1"})

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

RawHeaders = list[tuple[bytes, bytes]]


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


def _raw(headers: Iterable[tuple[str, str]]) -> RawHeaders:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


def with_response_headers(
    headers: Sequence[tuple[bytes, bytes]], request_id: bytes, defaults: RawHeaders
) -> RawHeaders:
    """A response's headers plus `X-Request-ID` (replacing any) and each default header the
    response does not set itself."""
    present = {name.lower() for name, _ in headers}
    if b"x-request-id" in present:
        headers = [(name, value) for name, value in headers if name.lower() != b"x-request-id"]
    result = [*headers, (b"x-request-id", request_id)]
    result.extend(header for header in defaults if header[0] not in present)
    return result


class RequestContextMiddleware:
    """Outermost: gives every request an id and a client IP, logs one line for it, records
    metrics, adds the security headers, and answers an exception nothing else handled in the
    API's error shape (`unhandled_response`): a 503 for an infrastructure fault, such as a
    database lost while a middleware used it, a 500 (logged once, with the request id) for
    anything else."""

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
        self.defaults = _raw(headers.items())
        # Static files may be cached: no `Cache-Control: no-store` on them.
        self.static_defaults = [h for h in self.defaults if h[0] != b"cache-control"]
        self.access_log = AccessLog() if access_log else None
        self.static_prefixes = static_prefixes
        self.routes = metrics.RouteLabels(mounts)
        self.api_paths = tuple(f"{mount}/" for mount in mounts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started_at = time.perf_counter()
        raw_id = forwarded_for = None
        for name, value in scope["headers"]:  # one pass; the first of each, as Headers.get
            if name == b"x-request-id":
                raw_id = value if raw_id is None else raw_id
            elif name == b"x-forwarded-for" and forwarded_for is None:
                forwarded_for = value.decode("latin-1")
        if raw_id is not None and _SANE_REQUEST_ID.fullmatch(raw_id):
            request_id = raw_id.decode("ascii")
        else:
            # 128 random bits as 32 hex digits, as `uuid4().hex` gave, without building a
            # UUID.
            request_id = os.urandom(16).hex()
            raw_id = request_id.encode("ascii")
        peer, port = scope.get("client") or ("unknown", 0)
        client = self.client_ip.resolve(peer, forwarded_for)
        if client != peer:
            scope = {**scope, "client": (client, port)}
        context = RequestContext(request_id=request_id, client_ip=client)
        token = set_context(context)
        path: str = scope["path"]
        if path.endswith("/") and path.startswith(self.api_paths):
            # Every API path answers with a trailing slash too (the official Angular client
            # posts to `/api/articles/`), routed as the path without it: never a redirect,
            # whose Location would come from the forgeable Host header.
            scope = {**scope, "path": path[:-1]}
        defaults = self.static_defaults if path.startswith(self.static_prefixes) else self.defaults
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = with_response_headers(
                    message.get("headers", ()), raw_id, defaults
                )
            await send(message)

        metrics.IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            response = unhandled_response(scope.get("method", "?"), path, exc)
            if not response_started:
                await response(scope, receive, send_with_headers)
        finally:
            metrics.IN_FLIGHT.dec()
            duration = time.perf_counter() - started_at
            method = scope.get("method", "OTHER")
            method = method if method in _METHODS else "OTHER"
            route = self.routes.label(scope)
            metrics.observe_request(method, route, status, duration)
            if self.access_log is not None:
                self.access_log.request(  # the request id: the context's, as on every line
                    method=method,
                    route=route,
                    path=path,
                    status=status,
                    duration_ms=round(duration * 1000, 2),
                    user_id=context.user_id,
                    client_ip=client,
                )
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
        declared = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value if declared is None else declared
            elif name == b"transfer-encoding":
                chunked = True
        if declared is None and not chunked and scope.get("http_version") in _FRAMED_BY_HEADERS:
            # HTTP/1.x without Content-Length or Transfer-Encoding: no body (RFC 9112, 6.3).
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope)
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
