"""Conditional GET: strong ETags on JSON bodies and `If-None-Match` (RFC 9110, 8.8.3, 13.1.2).

A route renders its body once (`json_body`, the bytes FastAPI itself would send for the
response model), and `conditional_json` answers it with a strong ETag, the hash of those
exact bytes, or `304 Not Modified` when the client already holds them.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import Header, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, StringConstraints, TypeAdapter, ValidationError

# Responses that differ by caller say so: a shared cache must not hand one user's
# `favorited`/`following` to another.
VARY = "Authorization, X-API-Key"
SHARED = "no-cache"  # anyone may store it, but must revalidate before each use
PRIVATE = "private, no-cache"  # a signed-in caller's own view: never in a shared cache

# An entity-tag, weak or strong (RFC 9110, 8.8.3): `W/"..."` or `"..."`.
_ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')

IF_NONE_MATCH_MAX = 8192
_IF_NONE_MATCH_ABOUT = (
    'ETags the client holds (`"..."`, `W/"..."`, a list, or `*`): '
    "answered with 304 Not Modified when one still matches."
)
IfNoneMatch = Annotated[
    str | None, Header(max_length=IF_NONE_MATCH_MAX, description=_IF_NONE_MATCH_ABOUT)
]
_IF_NONE_MATCH = TypeAdapter(Annotated[str, StringConstraints(max_length=IF_NONE_MATCH_MAX)])


def if_none_match(request: Request) -> str | None:
    """The `If-None-Match` header as a declared `IfNoneMatch` parameter reads it (its first
    value; too long: the same 422), for a route that declares no FastAPI dependency at all
    (the cached tags), where solving one header parameter cost more than the route's own
    work. Such a route documents it with `IF_NONE_MATCH_PARAMETER`."""
    value = request.headers.get("if-none-match")
    if value is not None and len(value) > IF_NONE_MATCH_MAX:
        try:
            _IF_NONE_MATCH.validate_python(value)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise RequestValidationError(
                [{**error, "loc": ("header", "if-none-match", *error["loc"])} for error in errors]
            ) from None
    return value


# The parameter object FastAPI writes for `IfNoneMatch` (tests/core/test_etag.py compares).
IF_NONE_MATCH_PARAMETER: dict[str, Any] = {
    "name": "if-none-match",
    "in": "header",
    "required": False,
    "schema": {
        "anyOf": [{"type": "string", "maxLength": IF_NONE_MATCH_MAX}, {"type": "null"}],
        "description": _IF_NONE_MATCH_ABOUT,
        "title": "If-None-Match",
    },
    "description": _IF_NONE_MATCH_ABOUT,
}


def conditional_responses() -> dict[int | str, dict[str, Any]]:
    """What a conditional GET adds to its route's documented responses."""
    text = {"schema": {"type": "string"}}
    return {
        200: {
            "headers": {
                "ETag": {"description": "A hash of the exact body bytes.", **text},
                "Cache-Control": {
                    "description": "`no-cache` anonymous, `private, no-cache` signed in.",
                    **text,
                },
            }
        },
        304: {"description": "Not modified: an `If-None-Match` ETag still matches. No body."},
    }


def json_body(model: BaseModel) -> bytes:
    """The JSON bytes of a response model, as FastAPI's default response renders them."""
    return model.__pydantic_serializer__.to_json(model, by_alias=True)


class _ETags:
    """ETags of recent bodies, most recent last. A cached read is served as the same bytes
    again and again (the same object, from the in-process cache): their hash is then a
    lookup, as Python keeps a bytes object's `hash()`, instead of a SHA-256 of the body."""

    def __init__(self, max_bytes: int = 4 << 20, max_body: int = 256 << 10) -> None:
        self.max_bytes = max_bytes
        self.max_body = max_body
        self._tags: OrderedDict[bytes, str] = OrderedDict()
        self._bytes = 0

    def __call__(self, body: bytes) -> str:
        etag = self._tags.get(body)
        if etag is not None:
            self._tags.move_to_end(body)
            return etag
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        if len(body) <= self.max_body:
            self._tags[body] = etag
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                self._bytes -= len(self._tags.popitem(last=False)[0])
        return etag


strong_etag = _ETags()


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` matches `etag` by weak comparison (so the answer is 304)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.removeprefix("W/")
    return any(f'"{tag}"' == opaque for tag in _ENTITY_TAG.findall(if_none_match))


def conditional_json(
    body: bytes, if_none_match: str | None, *, shared: bool, vary: bool = True
) -> Response:
    """`body` as a JSON 200 with its ETag, or a bodiless 304 carrying the same headers.

    `shared`: the anonymous view (any cache may keep it); otherwise one caller's own.
    `vary`: whether the body depends on who asks (False for the same body for everyone)."""
    etag = strong_etag(body)
    headers = {"ETag": etag, "Cache-Control": SHARED if shared else PRIVATE}
    if vary:
        headers["Vary"] = VARY
    if none_match(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
