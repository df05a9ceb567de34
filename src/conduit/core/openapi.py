"""OpenAPI helpers: the documented error responses, and the links between operations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """The RealWorld error shape: each key names a field or resource."""

    errors: dict[str, list[str]] = Field(
        description="Messages by field or resource name.",
        examples=[{"title": ["can't be blank"]}],
    )


_EXAMPLES: dict[int, tuple[str, dict[str, list[str]]]] = {
    400: ("A token that is unknown, used or expired", {"token": ["is invalid or expired"]}),
    401: ("Missing or invalid credentials", {"token": ["is missing"]}),
    403: ("Not allowed to change this resource", {"article": ["forbidden"]}),
    404: ("No such resource", {"article": ["not found"]}),
    409: ("Already taken", {"username": ["has already been taken"]}),
    413: (
        "The body is larger than `MAX_BODY_BYTES`",
        {"body": ["is too large (maximum is 1048576 bytes)"]},
    ),
    415: ("The body is not JSON", {"body": ["must be JSON (Content-Type: application/json)"]}),
    422: ("Malformed input", {"title": ["can't be blank"]}),
    429: (
        "Too many requests from this client (the rate limits), or too many failed logins "
        "for this e-mail address; retry after `Retry-After` seconds",
        {"rate_limit": ["too many requests"]},
    ),
    503: (
        "Unavailable for now: the database cannot be reached or has no connection free, or "
        "too many password hashes are waiting; retry after `Retry-After` seconds",
        {"server": ["is busy, try again shortly"]},
    ),
}

# The answers that tell the client when to come back.
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
RETRY_LATER = frozenset({429, 503})


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: _error_response(code) for code in codes}


def _error_response(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "model": ErrorBody,
        "description": _EXAMPLES[code][0],
        "content": {"application/json": {"example": {"errors": _EXAMPLES[code][1]}}},
    }
    if code in RETRY_LATER:
        response["headers"] = _RETRY_AFTER
    return response


def with_errors(
    responses: dict[int | str, dict[str, Any]], *codes: int
) -> dict[int | str, dict[str, Any]]:
    """`responses` with the generic error answer of each of `codes` it does not document
    itself (a route's own description of a status wins)."""
    own = {str(code) for code in responses}
    return {**responses, **error_responses(*(code for code in codes if str(code) not in own))}


# --- links: how the answer of one operation feeds the next ------------------------------


def link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to `operation_id`, its parameters given as runtime expressions
    (`$response.body#/article/slug`, `$request.path.slug`). Clients and tools such as
    schemathesis follow them: create an article, then read, change or delete *that* one."""
    found: dict[str, Any] = {"operationId": operation_id, "description": description}
    if parameters:
        found["parameters"] = parameters
    return found


def body_link(operation_id: str, description: str, request_body: Any) -> dict[str, Any]:
    """A link whose request body is built from the request or the answer (its strings
    may be runtime expressions)."""
    return {"operationId": operation_id, "description": description, "requestBody": request_body}


def success(description: str, **links: dict[str, Any]) -> dict[str, Any]:
    """The documented success answer of a route, with the links that start from it."""
    return {"description": description, "links": links}
