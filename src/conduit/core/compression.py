"""Response compression: Starlette's GZip, entered only by clients that accept gzip.

Starlette's `GZipMiddleware` takes every response apart, compressed or not: for a client
that does not accept gzip it still holds the response's start to add `Vary: Accept-Encoding`
to the responses it would have compressed. Here a client that accepts gzip goes through
Starlette's middleware as before, at `GZIP_LEVEL` (default 1, where Starlette's is 9: the
higher levels cost several times the CPU for a body a little smaller, docs/performance.md),
and any other client through `_mark_vary`, which adds the same `Vary` to the same responses
with one look at their headers.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_EXCLUDED = frozenset(t.partition(";")[0].strip().lower() for t in DEFAULT_EXCLUDED_CONTENT_TYPES)


def _compressible(start: Message) -> bool:
    """Whether Starlette's GZip would compress this response for a client accepting gzip:
    not already encoded, not partial content, not a type it leaves alone."""
    if start["status"] == 206:
        return False
    media_type = ""
    for name, value in start.get("headers", ()):
        name = name.lower()
        if name == b"content-encoding":
            return False
        if name == b"content-type" and not media_type:
            media_type = value.decode("latin-1").partition(";")[0].strip().lower()
    kinds = {media_type, media_type.partition("/")[0] + "/*"}
    if media_type.startswith("application/grpc+"):
        kinds.add("application/grpc")
    return kinds.isdisjoint(_EXCLUDED)


class CompressionMiddleware:
    def __init__(self, app: ASGIApp, *, minimum_size: int, level: int) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=level)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"accept-encoding":  # the first one, as Starlette reads it
                if b"gzip" in value:
                    await self.gzip(scope, receive, send)
                    return
                break
        await self.app(scope, receive, self._mark_vary(send))

    def _mark_vary(self, send: Send) -> Send:
        """`send`, adding `Vary: Accept-Encoding` where the body could have been compressed:
        a compressible response whose first body is at least `minimum_size` or streamed."""
        held: Message | None = None

        async def send_marked(message: Message) -> None:
            nonlocal held
            kind = message["type"]
            if kind == "http.response.start" and _compressible(message):
                held = message  # until its first body says how large it is
                return
            if held is None or kind in ("http.response.early_hint", "http.response.trailers"):
                await send(message)
                return
            start, held = held, None
            if kind == "http.response.body" and (
                len(message.get("body", b"")) >= self.minimum_size
                or message.get("more_body", False)
            ):
                headers = MutableHeaders(raw=list(start.get("headers", ())))
                headers.add_vary_header("Accept-Encoding")
                start["headers"] = headers.raw
            await send(start)
            await send(message)

        return send_marked
