"""Compression: for clients that do not accept gzip, the responses are exactly what
Starlette's GZipMiddleware sends (the same `Vary`); clients that accept it get gzip."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Message, Receive, Scope, Send

from conduit.core.compression import CompressionMiddleware

BIG = b"x" * 2000
# (status, headers, bodies): each body but the last is sent with more_body=True.
RESPONSES: dict[str, tuple[int, list[tuple[bytes, bytes]], list[bytes]]] = {
    "small json": (200, [(b"content-type", b"application/json")], [b"{}"]),
    "large json": (200, [(b"content-type", b"application/json; charset=utf-8")], [BIG]),
    "streamed": (200, [(b"content-type", b"text/plain")], [b"a", b"b", b""]),
    "partial": (206, [(b"content-type", b"text/plain")], [BIG]),
    "encoded": (200, [(b"content-type", b"text/plain"), (b"content-encoding", b"br")], [BIG]),
    "image": (200, [(b"content-type", b"image/png")], [BIG]),
    "grpc": (200, [(b"content-type", b"application/grpc+proto")], [BIG]),
    "vary already": (200, [(b"content-type", b"text/plain"), (b"vary", b"Origin")], [BIG]),
    "no headers": (200, [], [BIG]),
    "no body": (204, [], [b""]),
}


def _app(status: int, headers: list[tuple[bytes, bytes]], bodies: list[bytes]) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": list(headers)})
        for n, body in enumerate(bodies):
            more = n < len(bodies) - 1
            await send({"type": "http.response.body", "body": body, "more_body": more})

    return app


async def _sent(middleware: Any, accept: bytes | None) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append({**message, "headers": list(message.get("headers", []))})

    headers = [(b"accept-encoding", accept)] if accept is not None else []
    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    await middleware(scope, receive, send)
    return sent


@pytest.mark.parametrize("accept", [None, b"br, identity", b"gzip, br"])
@pytest.mark.parametrize("case", list(RESPONSES))
async def test_the_same_responses_as_starlettes_gzip(case: str, accept: bytes | None) -> None:
    app = _app(*RESPONSES[case])
    ours = await _sent(CompressionMiddleware(app, minimum_size=500, level=9), accept)
    theirs = await _sent(GZipMiddleware(app, minimum_size=500, compresslevel=9), accept)
    assert ours == theirs


async def test_the_level_is_the_one_configured() -> None:
    app = _app(*RESPONSES["large json"])
    sent = await _sent(CompressionMiddleware(app, minimum_size=500, level=1), b"gzip")
    assert (b"content-encoding", b"gzip") in sent[0]["headers"]
    assert gzip.decompress(sent[1]["body"]) == BIG
    assert sent[1]["body"][8] == 4  # gzip's XFL byte: "fastest algorithm" (level 1)
