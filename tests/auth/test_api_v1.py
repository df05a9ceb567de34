"""The /api/v1 mirror: every route answers there too, as the same service, and the OpenAPI
document leaves it out."""

from __future__ import annotations

import httpx

from tests.factories import PASSWORD, auth, register


async def test_routes_also_answer_under_api_v1(client: httpx.AsyncClient) -> None:
    token = await register(client, "alice")

    current = await client.get("/api/v1/user", headers=auth(token))
    profile = await client.get("/api/v1/profiles/alice")
    missing = await client.get("/api/v1/user")

    assert current.status_code == 200, current.text
    assert current.json()["user"]["username"] == "alice"
    assert profile.status_code == 200, profile.text
    assert missing.status_code == 401
    assert missing.json()["errors"] == {"token": ["is missing"]}


async def test_register_under_api_v1_is_the_same_service(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/users",
        json={"user": {"username": "bob", "email": "bob@example.com", "password": PASSWORD}},
    )
    assert response.status_code == 201, response.text

    assert (await client.get("/api/profiles/bob")).status_code == 200


async def test_openapi_document_leaves_out_api_v1(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200, response.text
    paths = response.json()["paths"]
    assert "/api/user" in paths
    assert "/api/users/login" in paths
    assert not [path for path in paths if path.startswith("/api/v1")]
