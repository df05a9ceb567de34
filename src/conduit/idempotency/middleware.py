"""The `Idempotency-Key` header on signed-in writes, as a pure ASGI middleware.

It covers the POST routes that declare it (`@policy(idempotent=True)`, core/policies.py:
create an article, comment on one, favorite one, follow a profile), found in the
application's route table at start-up. A request without the header, on another route, or
without valid credentials goes through untouched (the route answers as usual, 401 included).

It does what needs no database transaction: it checks the key (422 for an invalid one),
reads the body in full to fingerprint the request (SHA-256 of method, path, query and body)
and hands the request on, body unchanged, carrying a `KeyedRequest` in its scope. The route
claims, replays or refuses the key in the request's own unit of work (idempotency/service.py),
so the key is committed together with the work or not at all. Expired keys are purged now
and then, after the response.
"""

from __future__ import annotations

import hashlib
import logging
import re

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conduit.core.config import Settings
from conduit.core.context import Identify
from conduit.core.errors import error_response
from conduit.core.faults import log_failure
from conduit.core.policies import PolicyTable, policy_of, with_keyed_write
from conduit.core.routing import SessionRoute
from conduit.idempotency.service import IdempotencyService

logger = logging.getLogger("conduit.idempotency")

HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
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
        for route in routes:
            if policy_of(route).idempotent and not isinstance(route, SessionRoute):
                # Only a SessionRoute runs the key in its unit of work; another would ignore it.
                raise TypeError(f"{route!r}: an idempotent route is a SessionRoute")
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

        keyed = self.service.keyed(user_id, key, fingerprint(scope, body))
        await self.app(with_keyed_write(scope, keyed), _replay([body], False, receive), send)
        try:
            await self.service.purge_now_and_then()
        except Exception as exc:
            log_failure(logger, "could not purge expired idempotency keys", exc)


def _replay(chunks: list[bytes], more: bool, receive: Receive) -> Receive:
    """A `receive` that hands out the body already read, then carries on from `receive`."""
    pending = list(chunks)

    async def replay() -> Message:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending) or more}
        return await receive()

    return replay


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
