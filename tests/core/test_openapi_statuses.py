"""Every operation of the OpenAPI document says what it answers: its success (with a schema,
or none for a 202 or 204), every status the server may answer it, and an example of each
request body. The rules iterate over the document: a route added without them fails."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema_rs
import pytest
from pydantic import BaseModel

from conduit.admin.schemas import AdminUserUpdate
from conduit.articles.schemas import NewArticleRequest, UpdateArticleRequest
from conduit.auth.schemas import (
    ApiKeyCreate,
    EmailTokenRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    TokenRequest,
)
from conduit.comments.schemas import NewCommentRequest
from conduit.core.policies import PolicyTable
from conduit.core.ratelimit import EXEMPT_PATHS, EXEMPT_PREFIXES
from conduit.users.schemas import LoginRequest, NewUserRequest, UpdateUserRequest
from tests.core.openapi_support import ERROR_SCHEMA, Operations, report
from tests.factories import PASSWORD, register

# Success without a body: "done" and "accepted for later".
NO_BODY_SUCCESS = {"202", "204"}


def test_every_success_answer_has_a_schema_or_no_body(operations: Operations) -> None:
    """Every operation documents a success. One with a body has a schema for it; one without
    ("done, nothing to say" or "accepted for later") is a 204 or a 202 documented without
    content, and a 204 never has content."""
    problems = []
    for method, path, operation in operations:
        successes = {code: r for code, r in operation["responses"].items() if code[0] == "2"}
        if not successes:
            problems.append((method, path, "no 2xx response"))
        for code, response in successes.items():
            content = response.get("content")
            if content is None:
                if code not in NO_BODY_SUCCESS:
                    problems.append((method, path, f"{code} without content"))
                continue
            if code == "204":
                problems.append((method, path, "204 with content"))
            for media_type, body in content.items():
                if not body.get("schema"):
                    problems.append((method, path, f"{code} {media_type} without schema"))
    assert not problems, report(problems)


def schema_of(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or the component it refers to."""
    ref = schema.get("$ref", "")
    found: dict[str, Any] = openapi["components"]["schemas"][ref.split("/")[-1]] if ref else schema
    return found


def request_examples(openapi: dict[str, Any], media: dict[str, Any]) -> list[Any]:
    """The examples of one media type of a request body: its own, or its schema's."""
    examples = [media["example"]] if "example" in media else []
    examples += [example["value"] for example in media.get("examples", {}).values()]
    return examples + list(schema_of(openapi, media.get("schema", {})).get("examples", ()))


def test_every_request_body_carries_valid_examples(
    openapi: dict[str, Any], operations: Operations
) -> None:
    """Each media type of each request body shows at least one example (the Pydantic
    model's `json_schema_extra` examples, forms included), and every example is valid
    against the body's schema as a JSON Schema validator (schemathesis') reads it."""
    problems = []
    bodies = 0
    for method, path, operation in operations:
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
            bodies += 1
            examples = request_examples(openapi, media)
            if not examples:
                problems.append((method, path, media_type, "no example"))
            schema = {**media["schema"], "components": openapi["components"]}
            validator = jsonschema_rs.validator_for(schema)
            problems += [
                (method, path, media_type, f"invalid example {example!r}")
                for example in examples
                if not validator.is_valid(example)
            ]
    assert bodies > 10
    assert not problems, report(problems)


def counted_by_the_rate_limiter(policies: PolicyTable, path: str) -> bool:
    exempt = path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)
    return not exempt and policies.rate_limit(path) != "exempt"


def test_every_status_a_route_may_answer_is_documented(operations: Operations, app: Any) -> None:
    """What every API operation may answer besides its own statuses: 429 (the rate limits
    count every request the limiter does not exempt; the login throttle too) and 503 (the
    database down or out of connections), both with `Retry-After`; 413 and 415 where a body
    is read; 422 where input is validated; 401 where credentials are read, even optional
    ones."""
    problems = []
    policies = PolicyTable.of(app.router.routes)
    counted = [op for op in operations if counted_by_the_rate_limiter(policies, op[1])]
    assert ("POST", "/api/users/login") in {(method, path) for method, path, _ in counted}
    assert len(counted) > 30
    for method, path, operation in counted:
        responses = operation["responses"]
        expected = {"429", "503"}
        if "requestBody" in operation:
            expected |= {"413", "415", "422"}
        if operation.get("parameters"):
            expected.add("422")
        if operation.get("security"):
            expected.add("401")
        problems += [(method, path, f"no {code}") for code in sorted(expected - set(responses))]
        for code in ("429", "503"):
            header = responses.get(code, {}).get("headers", {}).get("Retry-After", {})
            if not (header.get("required") and header.get("schema", {}).get("type") == "integer"):
                problems.append((method, path, f"{code} without a required Retry-After"))
    assert not problems, report(problems)


@pytest.mark.parametrize("path", ["/api/users/login", "/api/auth/token"])
def test_the_login_throttle_is_documented(openapi: dict[str, Any], path: str) -> None:
    throttled = openapi["paths"][path]["post"]["responses"]["429"]
    assert "failed logins" in throttled["description"]
    assert throttled["content"]["application/json"]["schema"] == ERROR_SCHEMA
    assert "Retry-After" in throttled["headers"]


@pytest.mark.parametrize(
    "model",
    [
        NewUserRequest,
        LoginRequest,
        UpdateUserRequest,
        NewArticleRequest,
        UpdateArticleRequest,
        NewCommentRequest,
        TokenRequest,
        RefreshRequest,
        EmailTokenRequest,
        PasswordResetRequest,
        PasswordResetConfirm,
        ApiKeyCreate,
        AdminUserUpdate,
    ],
)
def test_the_request_bodies_carry_examples_the_models_accept(
    openapi: dict[str, Any], model: type[BaseModel]
) -> None:
    examples = openapi["components"]["schemas"][model.__name__].get("examples")
    assert examples, model.__name__
    for example in examples:
        model.model_validate(example)


@pytest.mark.parametrize(
    ("grant_type", "status"), [(None, 200), ("", 200), ("password", 200), ("client", 422)]
)
async def test_the_token_form_takes_the_grant_types_its_schema_does(
    client: httpx.AsyncClient, openapi: dict[str, Any], grant_type: str | None, status: int
) -> None:
    """An empty form field is read as left out: the documented pattern accepts it too
    (schemathesis found it accepted while documented as refused)."""
    await register(client, "alice")
    form = {"username": "alice@example.com", "password": PASSWORD}
    if grant_type is not None:
        form["grant_type"] = grant_type
    schema = openapi["components"]["schemas"]["TokenRequest"]
    documented = jsonschema_rs.validator_for(schema).is_valid(form)

    response = await client.post("/api/auth/token", data=form)

    assert response.status_code == status, response.text
    assert documented == (status == 200)
