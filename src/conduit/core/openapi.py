"""OpenAPI helpers: what a route's operation documents from its dependencies (`document`,
called by the route classes), the error responses, and the links between operations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_flat_params
from fastapi.routing import APIRoute
from fastapi.utils import create_model_field
from pydantic import BaseModel, Field

from conduit.core.params import dependency_calls, documented_parameters


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


# --- what a route documents from its dependencies ---------------------------------------

# OpenAPI's way of saying "credentials are optional": the empty requirement among the
# alternatives.
OPTIONAL: dict[str, list[str]] = {}
_CREDENTIALS = "__conduit_credentials__"

D = TypeVar("D", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Credentials:
    security: tuple[dict[str, list[str]], ...]  # the alternative requirements
    optional: bool  # anonymous callers are answered too


def reads_credentials(security: list[dict[str, list[str]]], *, optional: bool) -> Callable[[D], D]:
    """Declare that a dependency reads the caller's credentials from the headers itself:
    FastAPI documents the security of scheme dependencies only, so the route classes
    document it from this declaration (`document`)."""
    declared = Credentials(tuple(security), optional)

    def declare(dependency: D) -> D:
        setattr(dependency, _CREDENTIALS, declared)
        return dependency

    return declare


def credentials_read(dependant: Dependant) -> list[Credentials]:
    """What the dependencies of a route that read the caller's credentials declare."""
    calls = dependency_calls(dependant)
    return [c for c in (getattr(call, _CREDENTIALS, None) for call in calls) if c is not None]


def document(route: APIRoute) -> None:
    """Document on `route` what follows from its dependencies, once, when it is made: its
    security, the parameters read in one step (core/params.py), and its error answers
    (`errors_of`; a route's own description of one of them wins)."""
    extra = dict(route.openapi_extra or {})
    if read := credentials_read(route.dependant):
        optional = all(credentials.optional for credentials in read)
        extra["security"] = [*read[0].security, *([OPTIONAL] if optional else [])]
    if parameters := documented_parameters(route.dependant):
        extra["parameters"] = parameters
    if extra:
        route.openapi_extra = extra
    own = {str(code) for code in route.responses}
    added = [code for code in errors_of(route, bool(read)) if str(code) not in own]
    route.responses = {**route.responses, **error_responses(*added)}
    # What FastAPI derives from `responses` when the route is made, for the added ones.
    route.response_fields = {
        **route.response_fields,
        **{
            code: create_model_field(
                name=f"Response_{code}_{route.unique_id}", type_=ErrorBody, mode="serialization"
            )
            for code in added
        },
    }


def errors_of(route: APIRoute, reads_credentials: bool) -> list[int]:
    """The error answers that follow from what an API route does:

    - 429 and 503 on every route: the rate limits count every API request, and every route
      reads the database (its outage, or no pooled connection free, answers 503);
    - 413 and 415 where a body is read: over `MAX_BODY_BYTES`, or not the media type taken;
    - 422 where parameters or a body are validated;
    - 401 where credentials are read, even where they are optional: bad ones are refused.
    """
    codes = [429, 503]
    if route.body_field is not None:
        codes += [413, 415]
    parameters = (route.openapi_extra or {}).get("parameters")
    if route.body_field is not None or parameters or get_flat_params(route.dependant):
        codes.append(422)
    if reads_credentials:
        codes.append(401)
    return codes


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
