"""The `Idempotency-Key` header on signed-in writes, as a pure ASGI middleware.

It covers the POST routes that declare it (`@policy(idempotent=True)`, core/policies.py:
create an article, comment on one, favorite one, follow a profile), found in the
application's route table at start-up. A request without the header, on another route, or
without valid credentials goes through untouched (the route answers as usual, 401 included).

The body is read in full to fingerprint the request (SHA-256 of method, path, query and
body) and handed on to the app unchanged. The app's response is held until it is complete,
so that it is recorded (2xx) or the key released (anything else) before the client sees it:
a retry sent the moment the response arrives is replayed, never refused as a duplicate.
"""

from __future__ import annotations

import hashlib
import logging
import re

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.core import metrics
from conduit.core.config import Settings
from conduit.core.context import Identify
from conduit.core.errors import error_response
from conduit.core.faults import log_failure
from conduit.core.policies import PolicyTable
from conduit.idempotency.service import (
    CONFLICT,
    MISMATCH,
    REPLAYED,
    IdempotencyService,
    StoredResponse,
)

logger = logging.getLogger("conduit.idempotency")

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
MAX_STORED_BYTES = 1024 * 1024  # a larger response is not recorded (the key is released)
_PRINTABLE = re.compile(f"[\\x20-\\x7e]{{1,{MAX_KEY_LENGTH}}}")


def valid_key(key: str) -> bool:
    return _PRINTABLE.fullmatch(key) is not None


def fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(scope["method"].encode() + b"\n")
    digest.update(scope["path"].encode("utf-8", "surrogateescape") + b"\n")
    digest.update(scope.get("query_string", b"") + b"\n")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        service: IdempotencyService,
        identify: Identify,
        routes: list[BaseRoute],
        max_body_bytes: int,
    ) -> None:
        self.app = app
        self.service = service
        self.identify = identify
        # `routes` is the application's route list, read here: the stack is built at the
        # app's first call (its start-up), once every route is mounted.
        self.covered = PolicyTable.of(routes).idempotent_paths
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not self.covered.fullmatch(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        keys = headers.getlist(HEADER)
        if not keys:
            await self.app(scope, receive, send)
            return
        user_id = await self.identify(headers)
        if user_id is None:  # the route refuses it
            await self.app(scope, receive, send)
            return
        key = keys[0].strip(" \t")  # a field value's surrounding whitespace is not part of it
        if len(keys) > 1 or not valid_key(key):
            message = f"must be one value of 1 to {MAX_KEY_LENGTH} printable ASCII characters"
            await error_response(422, {"idempotency_key": [message]})(scope, receive, send)
            return
        await self._run(scope, receive, send, user_id, key)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, user_id: int, key: str
    ) -> None:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body
            chunk: bytes = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = bool(message.get("more_body", False))
            if size > self.max_body_bytes:  # the body limit refuses it; nothing to record
                await self.app(scope, _replay(chunks, more, receive), send)
                return
        body = b"".join(chunks)

        begun = await self.service.begin(user_id, key, fingerprint(scope, body))
        metrics.IDEMPOTENCY.labels(begun.outcome).inc()
        if begun.outcome == REPLAYED:
            assert begun.stored is not None
            await _replayed(begun.stored)(scope, receive, send)
            return
        if begun.outcome == MISMATCH:
            errors = {"idempotency_key": ["was used with a different request"]}
            await error_response(422, errors)(scope, receive, send)
            return
        if begun.outcome == CONFLICT:
            errors = {"idempotency_key": ["is in use by a request still in progress"]}
            await error_response(409, errors)(scope, receive, send)
            return
        await self._first(scope, _replay([body], False, receive), send, user_id, key, begun.claim)
        try:
            await self.service.purge_now_and_then()
        except Exception as exc:
            log_failure(logger, "could not purge expired idempotency keys", exc)

    async def _first(
        self, scope: Scope, receive: Receive, send: Send, user_id: int, key: str, claim: str
    ) -> None:
        """Run the request that holds the claim; record or release before answering."""
        start: Message | None = None
        parts: list[bytes] = []
        settled = False

        async def hold(message: Message) -> None:
            nonlocal start, settled
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            parts.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(parts)
            status: int = start["status"]
            settled = True
            try:
                if 200 <= status < 300 and len(body) <= MAX_STORED_BYTES:
                    content_type = Headers(raw=start["headers"]).get("content-type")
                    stored = StoredResponse(status, content_type, body)
                    await self.service.complete(user_id, key, claim, stored)
                else:
                    await self.service.release(user_id, key, claim)
            except Exception as exc:  # the work is done: answer anyway; the claim expires
                log_failure(logger, "could not settle an idempotency key", exc)
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        try:
            await self.app(scope, receive, hold)
        finally:
            if not settled:  # the app failed or answered nothing: let a retry run again
                try:
                    await self.service.release(user_id, key, claim)
                except Exception as exc:
                    log_failure(logger, "could not release an idempotency key", exc)


def _replay(chunks: list[bytes], more: bool, receive: Receive) -> Receive:
    """A `receive` that hands out the body already read, then carries on from `receive`."""
    pending = list(chunks)

    async def replay() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or more}
        return await receive()

    return replay


def _replayed(stored: StoredResponse) -> Response:
    headers = {"Idempotent-Replayed": "true"}
    if stored.content_type:
        headers["Content-Type"] = stored.content_type
    return Response(stored.body, status_code=stored.status_code, headers=headers)


def install_idempotency(app: FastAPI, settings: Settings, identify: Identify) -> IdempotencyService:
    """Honour `Idempotency-Key` on the app's covered writes; keys in the app's database."""
    service = IdempotencyService(app.state.db, settings)
    app.state.idempotency = service
    app.add_middleware(
        IdempotencyMiddleware,
        service=service,
        identify=identify,
        routes=app.router.routes,
        max_body_bytes=settings.max_body_bytes,
    )
    return service
