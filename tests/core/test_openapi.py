"""The OpenAPI document describes every operation fully: what it does, what it answers on
success and on error, and which credentials it needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from conduit.api import DOMAIN_ROUTERS
from conduit.auth.dependencies import CurrentPrincipal
from conduit.core.schemas import NO_NUL_PATTERN, NOT_BLANK_PATTERN, clean_text, not_blank
from tests.core.openapi_support import ERROR_SCHEMA, Operations, report
from tests.factories import generated_resources

REQUIRED_PRINCIPAL = get_args(CurrentPrincipal)[1].dependency


def calls(dependant: Dependant) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from calls(dependency)


def routes_needing_a_user(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of the documented routes that answer 401 without credentials."""
    prefix = app.state.settings.api_prefix
    return {
        (method, prefix + route.path)
        for router in DOMAIN_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        if REQUIRED_PRINCIPAL in set(calls(route.dependant))
        for method in route.methods
    }


def test_every_operation_says_what_it_does(operations: Operations) -> None:
    vague = [
        (method, path)
        for method, path, operation in operations
        if not (operation.get("summary") or operation.get("description"))
    ]
    assert not vague, report(vague)


def test_error_answers_are_documented_in_the_error_shape(operations: Operations) -> None:
    problems = []
    for method, path, operation in operations:
        responses = operation["responses"]
        errors = {code: r for code, r in responses.items() if code[0] == "4"}
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        if takes_input and "422" not in errors:
            problems.append((method, path, "takes input but documents no 422"))
        if any(p["in"] == "path" for p in operation.get("parameters", ())) and "404" not in errors:
            problems.append((method, path, "addresses a resource but documents no 404"))
        if (takes_input or operation.get("security")) and not errors:
            problems.append((method, path, "no 4xx documented"))
        for code, response in errors.items():
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema != ERROR_SCHEMA:
                problems.append((method, path, f"{code} is not documented as ErrorBody"))
            if not response.get("description"):
                problems.append((method, path, f"{code} has no description"))
    assert not problems, report(problems)


def test_operations_that_need_a_user_declare_security_and_401(
    app: FastAPI, openapi: dict[str, Any], operations: Operations
) -> None:
    schemes = set(openapi["components"]["securitySchemes"])
    assert {"Token", "ApiKey", "OAuth2"} <= schemes
    needing = routes_needing_a_user(app)
    assert ("GET", "/api/user") in needing
    assert ("POST", "/api/articles") in needing
    assert ("GET", "/api/tags") not in needing
    problems = []
    for method, path, operation in operations:
        if (method, path) not in needing:
            continue
        security = operation.get("security") or []
        offered = {name for requirement in security for name in requirement}
        if not offered or not offered <= schemes:
            problems.append((method, path, f"security {security}"))
        if "401" not in operation["responses"]:
            problems.append((method, path, "no 401"))
    assert not problems, report(problems)


def test_optional_auth_is_documented_as_optional(app: FastAPI, operations: Operations) -> None:
    """An operation that answers anonymous callers too lists `{}` among its security
    alternatives; one that needs a user does not."""
    needing = routes_needing_a_user(app)
    optional = {
        (method, path)
        for method, path, operation in operations
        if {} in (operation.get("security") or [])
    }
    public = [p for p, r in generated_resources().items() if r.visibility == "public"]
    assert optional == {
        ("GET", "/api/profiles/{username}"),
        ("GET", "/api/articles"),
        ("GET", "/api/articles/{slug}"),
        ("GET", "/api/articles/{slug}/comments"),
        *(("GET", path) for p in public for path in (f"/api/{p}", f"/api/{p}/{{id}}")),
    }
    assert not optional & needing
    for method, path, operation in operations:
        if (method, path) in optional:
            assert {"Token", "ApiKey"} <= {name for alt in operation["security"] for name in alt}


def test_links_lead_to_operations_and_their_parameters(operations: Operations) -> None:
    by_id = {operation["operationId"]: operation for _, _, operation in operations}
    assert len(by_id) == len(operations)  # unique ids
    linked = set()
    problems = []
    for method, path, operation in operations:
        for code, response in operation["responses"].items():
            for name, found in response.get("links", {}).items():
                target = by_id.get(found["operationId"])
                if target is None:
                    problems.append((method, path, code, name, "no such operation"))
                    continue
                linked.add(found["operationId"])
                accepted = {p["name"] for p in target.get("parameters", ())}
                for parameter, expression in found.get("parameters", {}).items():
                    if parameter.split(".")[-1] not in accepted:
                        problems.append((method, path, code, name, f"no parameter {parameter}"))
                    if not expression.startswith(("$response.body#/", "$request.path.")):
                        problems.append((method, path, code, name, expression))
                if "requestBody" in found and "requestBody" not in target:
                    problems.append((method, path, code, name, "target takes no body"))
    assert not problems, report(problems)
    # The chains schemathesis' stateful phase follows.
    assert {
        "GetProfileByUsername",
        "Login",
        "GetArticle",
        "UpdateArticle",
        "DeleteArticle",
        "CreateArticleFavorite",
        "CreateArticleComment",
        "DeleteArticleComment",
        "RevokeApiKey",
        "RefreshToken",
    } <= linked


@pytest.mark.parametrize(
    "value", ["a", " a ", "", "   ", "\x1f\x85\u3000", "\ufeff", "a\x00", "\x00", "\n\t", "é"]
)
def test_the_text_patterns_say_what_the_validators_do(value: str) -> None:
    """The patterns the OpenAPI document gives text fields, read as JSON Schema reads them
    (ECMA-262, here by jsonschema-rs, which schemathesis uses), accept exactly what
    `clean_text` and `not_blank` accept."""

    def accepts(validator: Any) -> bool:
        try:
            validator(value)
        except ValueError:
            return False
        return True

    ecma = {
        pattern: jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
        for pattern in (NO_NUL_PATTERN, NOT_BLANK_PATTERN)
    }
    assert ecma[NO_NUL_PATTERN].is_valid(value) == accepts(clean_text)
    assert ecma[NOT_BLANK_PATTERN].is_valid(value) == accepts(not_blank)
