"""Settings validation, and the error bodies for requests no route handles."""

from __future__ import annotations

import secrets

import httpx
import pytest
from pydantic import ValidationError

from conduit.core.config import DEFAULT_SECRET_KEY, Settings

_CONFIG_VARS = ("ENVIRONMENT", "SECRET_KEY", "CORS_ORIGINS", "API_PREFIX")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the process environment; start every test from a known one."""
    for name in _CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


def make_settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


# --- the secret key ------------------------------------------------------------------


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        make_settings(environment="production")


def test_production_refuses_the_default_secret_given_explicitly() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        make_settings(environment="production", secret_key=DEFAULT_SECRET_KEY)


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        make_settings(environment="production", secret_key="short-but-not-default")


def test_production_refuses_a_weak_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 31)

    with pytest.raises(ValidationError, match="SECRET_KEY"):
        make_settings()


def test_production_accepts_a_long_random_secret() -> None:
    secret = secrets.token_urlsafe(32)
    assert len(secret) >= 40

    settings = make_settings(environment="production", secret_key=secret)

    assert settings.environment == "production"
    assert settings.secret_key == secret


def test_development_allows_the_default_secret() -> None:
    assert make_settings().secret_key == DEFAULT_SECRET_KEY


# --- list-valued settings and the API prefix ----------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "https://a.example,https://b.example",
        " https://a.example , https://b.example ,",
        '["https://a.example", "https://b.example"]',
    ],
)
def test_cors_origins_accept_a_comma_list_or_json(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", raw)

    assert make_settings().cors_origins == ["https://a.example", "https://b.example"]


def test_cors_origins_default_to_none() -> None:
    assert make_settings().cors_origins == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("api/", "/api"), ("/api", "/api"), ("/api/", "/api"), ("v2/api", "/v2/api"), ("/", "")],
)
def test_api_prefix_is_normalised(raw: str, expected: str) -> None:
    assert make_settings(api_prefix=raw).api_prefix == expected


def test_api_prefix_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_PREFIX", "api/")

    assert make_settings().api_prefix == "/api"


# --- error bodies for requests no route handles -------------------------------------


async def test_unknown_route_is_a_404_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/no-such-thing")

    assert response.status_code == 404, response.text
    assert response.json()["errors"] == {"route": ["not found"]}


async def test_wrong_method_is_a_405_in_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/user", json={"user": {}})

    assert response.status_code == 405, response.text
    assert response.json()["errors"] == {"method": ["not allowed"]}


async def test_405_allow_header_lists_every_method_of_the_path(
    client: httpx.AsyncClient,
) -> None:
    """RFC 9110 15.5.6: the Allow header lists all methods the resource supports."""
    response = await client.patch("/api/user", json={"user": {}})

    assert response.status_code == 405, response.text
    allowed = {method.strip() for method in response.headers.get("Allow", "").split(",")}
    assert {"GET", "PUT"} <= allowed


async def test_malformed_json_is_a_422_on_body(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/users",
        content=b'{"user": {"username": "qzxv"',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422, response.text
    assert "body" in response.json()["errors"]
    assert "qzxv" not in response.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_non_json_body_is_a_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/api/users",
        content=b"username=alice&email=alice@example.com&password=password123",
        headers={"Content-Type": content_type},
    )

    assert response.status_code == 415, response.text
    assert "body" in response.json()["errors"]


async def test_json_with_charset_is_accepted(client: httpx.AsyncClient) -> None:
    body = b'{"user": {"username": "alice", "email": "a@example.com", "password": "password123"}}'

    response = await client.post(
        "/api/users", content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )

    assert response.status_code == 201, response.text
