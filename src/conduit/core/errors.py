"""Domain errors and the one place that renders every error in the RealWorld shape.

Body: ``{"errors": {"<key>": ["<message>", ...]}}``. Nothing in an error body echoes
submitted values, and a 500 body carries no traceback or internals.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from conduit.core import faults
from conduit.core.context import current_request_id

logger = logging.getLogger("conduit.errors")

ErrorMap = Mapping[str, Sequence[str]]


class DomainError(Exception):
    """Base of every error a service or repository raises on purpose."""

    status_code: int = 400
    headers: ClassVar[Mapping[str, str] | None] = None

    def __init__(self, key: str, message: str, *, keep_changes: bool = False) -> None:
        super().__init__(f"{key}: {message}")
        self.errors: dict[str, list[str]] = {key: [message]}
        # A refusal that must still record something (e.g. revoking a session on token
        # reuse): the request's transaction is committed instead of rolled back.
        self.keep_changes = keep_changes

    @classmethod
    def many(cls, errors: ErrorMap) -> DomainError:
        error = cls("_", "_")
        error.errors = {key: list(messages) for key, messages in errors.items()}
        return error


class BadRequest(DomainError):
    status_code = 400


class NotFound(DomainError):
    status_code = 404

    def __init__(self, key: str, message: str = "not found") -> None:
        super().__init__(key, message)


class Forbidden(DomainError):
    status_code = 403

    def __init__(self, key: str, message: str = "forbidden") -> None:
        super().__init__(key, message)


class Unauthorized(DomainError):
    status_code = 401
    headers: ClassVar[Mapping[str, str]] = {
        "WWW-Authenticate": 'Token realm="conduit", Bearer realm="conduit"'
    }


class Conflict(DomainError):
    status_code = 409

    def __init__(self, key: str, message: str = "has already been taken") -> None:
        super().__init__(key, message)


class InvalidInput(DomainError):
    status_code = 422


class TooManyRequests(DomainError):
    status_code = 429

    def __init__(self, key: str, message: str, retry_after: int) -> None:
        super().__init__(key, message)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """Too busy to take the request now (e.g. too many password hashes waiting)."""

    status_code = 503

    def __init__(self, key: str, message: str, retry_after: int) -> None:
        super().__init__(key, message)
        self.retry_after = retry_after


def unavailable(fault: faults.Fault) -> ServiceUnavailable:
    """The one answer to an infrastructure fault, wherever it was met."""
    return ServiceUnavailable("database", fault.message, fault.retry_after)


class UnsupportedMediaType(DomainError):
    status_code = 415


class BodyTooLarge(StarletteHTTPException):
    """Raised while reading a request body that outgrows the limit (rendered as 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, self.message(limit), {"Connection": "close"})

    @staticmethod
    def message(limit: int) -> str:
        return f"is too large (maximum is {limit} bytes)"


def error_response(
    status_code: int, errors: ErrorMap, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {"errors": {key: list(messages) for key, messages in errors.items()}}
    request_id = current_request_id()
    if request_id is not None:
        body["request_id"] = request_id
    return JSONResponse(body, status_code=status_code, headers=dict(headers or {}))


# --- request validation ---------------------------------------------------------


def _error_key(loc: Sequence[str | int]) -> str:
    """The name of the offending field: the last named element after the location."""
    if not loc:
        return "body"
    names = [part for part in loc[1:] if isinstance(part, str)]
    return names[-1] if names else str(loc[0])


def _error_message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "can't be blank"
    if kind == "json_invalid":
        return "is not valid JSON"
    if kind in {"string_too_short", "too_short"}:
        minimum = ctx.get("min_length", 1)
        value = error.get("input")
        if minimum <= 1 or (isinstance(value, str) and not value.strip()):
            return "can't be blank"
        unit = "characters" if kind == "string_too_short" else "items"
        return f"is too short (minimum is {minimum} {unit})"
    if kind in {"string_too_long", "too_long"}:
        unit = "characters" if kind == "string_too_long" else "items"
        return f"is too long (maximum is {ctx.get('max_length')} {unit})"
    if error.get("input", ...) is None:
        return "can't be null"
    if kind in {"greater_than_equal", "greater_than"}:
        return f"must be greater than or equal to {ctx.get('ge', ctx.get('gt'))}"
    if kind in {"less_than_equal", "less_than"}:
        return f"must be less than or equal to {ctx.get('le', ctx.get('lt'))}"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        expected = kind.removesuffix("_type").removesuffix("_parsing")
        names = {
            "int": "an integer",
            "bool": "a boolean",
            "list": "a list",
            "dict": "an object",
            "model_attributes": "an object",
            "model": "an object",
            "string": "a string",
            "str": "a string",
        }
        return f"must be {names.get(expected, 'valid')}"
    if kind == "extra_forbidden":
        return "is not allowed"
    if kind == "value_error" and "reason" in ctx:
        return str(ctx["reason"])
    return "is invalid"


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    rendered: dict[str, list[str]] = {}
    for error in errors:
        messages = rendered.setdefault(_error_key(error.get("loc", ())), [])
        message = _error_message(error)
        if message not in messages:
            messages.append(message)
    return rendered


# --- handlers ---------------------------------------------------------------------


def domain_error_response(exc: DomainError) -> JSONResponse:
    headers = dict(exc.headers or {})
    if isinstance(exc, TooManyRequests | ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)
    return error_response(exc.status_code, exc.errors, headers)


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, validation_errors(exc.errors()))


_HTTP_KEYS = {404: ("route", "not found"), 405: ("method", "not allowed")}


def _unparseable_body(request: Request) -> dict[str, list[str]]:
    """Starlette and FastAPI answer 400 to a body they cannot decode (bytes that are not
    UTF-8, nesting too deep, a broken multipart form). That is malformed input like any
    other, so it is a 422 naming the body, as malformed JSON is."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        return {"body": ["is not a valid form"]}
    return {"body": ["is not valid JSON"]}


class AllowedMethods:
    """Path templates and their methods, so that a 405 can list all of them (RFC 9110)."""

    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern[str], set[str]]] = []

    def add(self, path: str, methods: Iterable[str]) -> None:
        self._routes.append((compile_path(path)[0], set(methods)))

    def for_path(self, path: str) -> list[str]:
        methods: set[str] = set()
        for pattern, known in self._routes:
            if pattern.match(path):
                methods |= known
        if "GET" in methods:
            methods.add("HEAD")
        return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        return error_response(422, _unparseable_body(request))
    key, message = _HTTP_KEYS.get(exc.status_code, ("request", ""))
    if isinstance(exc, BodyTooLarge):
        key, message = "body", exc.detail
    if not message:
        try:
            message = HTTPStatus(exc.status_code).phrase.lower()
        except ValueError:
            message = "failed"
    headers = dict(exc.headers or {})
    allowed: AllowedMethods | None = getattr(request.app.state, "allowed_methods", None)
    if exc.status_code == 405 and allowed is not None:
        methods = allowed.for_path(request.url.path)
        if methods:
            headers["Allow"] = ", ".join(methods)
    return error_response(exc.status_code, {key: [message]}, headers)


def unhandled_response(method: str, path: str, exc: Exception) -> JSONResponse:
    """The answer to an exception no handler took, e.g. one raised in a middleware: a domain
    error as its handler renders it, an infrastructure fault (`faults`) as a 503 like the one
    `Database.session` raises, anything else a 500 logged once with its traceback."""
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    fault = faults.classify(exc)
    if fault is not None:
        faults.report(fault)
        return domain_error_response(unavailable(fault))
    extra = {"request_id": current_request_id()}
    logger.error("unhandled error on %s %s", method, path, exc_info=exc, extra=extra)
    return error_response(500, {"server": ["internal error"]})


async def _unhandled_error(request: Request, exc: Exception) -> JSONResponse:
    # Normally the request-context middleware catches these first; this is a fallback.
    return unhandled_response(request.method, request.url.path, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled_error)
