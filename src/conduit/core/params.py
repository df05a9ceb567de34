"""Query parameters read in one step, for the hot routes.

FastAPI validates each declared query parameter on its own, and redoes each one's
introspection on every request (docs/performance.md); the article list takes six. A
`QueryParameters` dependency reads its parameters from the
query string into one Pydantic model, validated once, and answers bad values with the same
`RequestValidationError` (location `("query", name)`) as a declared parameter would.

The model is what the OpenAPI document shows: `parameters()` gives one parameter object
per field, as FastAPI writes them, and the route classes add them to every route that
depends on one (`documented_parameters`, called by `core.openapi.document`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


class QueryParameters(Generic[M, T]):
    """A dependency: the query string's values for `model`'s fields (a repeated name: its
    last value, as FastAPI reads a declared parameter), validated as one model, then
    turned into what the route takes by `build`."""

    def __init__(self, model: type[M], build: Callable[[M], T]) -> None:
        self.model = model
        self.build = build
        self.names = tuple(field.alias or name for name, field in model.model_fields.items())

    async def __call__(self, request: Request) -> T:
        query = request.query_params
        values = {name: query[name] for name in self.names if name in query}
        try:
            parsed = self.model.model_validate(values)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in errors]
            ) from None
        return self.build(parsed)

    def parameters(self) -> list[dict[str, Any]]:
        """The OpenAPI parameter objects of the model's fields."""
        schema = self.model.model_json_schema()
        documented = []
        for name in self.names:
            field_schema = dict(schema["properties"][name])
            if field_schema.get("default", ...) is None:
                del field_schema["default"]  # FastAPI shows no `null` default
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in schema.get("required", ()),
                "schema": field_schema,
            }
            if "description" in field_schema:
                parameter["description"] = field_schema["description"]
            documented.append(parameter)
        return documented


def dependency_calls(dependant: Dependant) -> Iterator[Any]:
    """Every callable a route depends on, through its whole dependency tree."""
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from dependency_calls(dependency)


def takes_only_the_request(dependant: Dependant) -> bool:
    """Whether an endpoint takes the request and nothing else FastAPI would solve for it: no
    parameter, body, dependency or other injected object, and one argument in its
    signature (so that a kind of injection this check does not know of is not missed)."""
    call = dependant.call
    return (
        call is not None
        and dependant.request_param_name is not None
        and not dependant.path_params
        and not dependant.query_params
        and not dependant.header_params
        and not dependant.cookie_params
        and not dependant.body_params
        and not dependant.dependencies
        and dependant.websocket_param_name is None
        and dependant.http_connection_param_name is None
        and dependant.response_param_name is None
        and dependant.background_tasks_param_name is None
        and dependant.security_scopes_param_name is None
        and len(inspect.signature(call).parameters) == 1
    )


def documented_parameters(dependant: Dependant) -> list[dict[str, Any]]:
    """The parameter objects of every `QueryParameters` a route depends on."""
    documented: list[dict[str, Any]] = []
    for call in dependency_calls(dependant):
        if isinstance(call, QueryParameters):
            documented.extend(p for p in call.parameters() if p not in documented)
    return documented
