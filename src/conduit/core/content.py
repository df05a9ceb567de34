"""Request body rules shared by every endpoint that takes a body."""

from __future__ import annotations

from email.message import Message

from fastapi import Depends, Request

from conduit.core.errors import UnsupportedMediaType


def _is_json(content_type: str) -> bool:
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def _require_json(request: Request) -> None:
    """A request that carries a body must say it is JSON (415 otherwise)."""
    has_body = request.headers.get("content-length", "0") != "0" or (
        "transfer-encoding" in request.headers
    )
    if has_body and not _is_json(request.headers.get("content-type", "")):
        raise UnsupportedMediaType("body", "must be JSON (Content-Type: application/json)")


JSON_BODY = Depends(_require_json)
