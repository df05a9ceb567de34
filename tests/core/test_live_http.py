"""The HTTP behaviour a client sees from a real `conduit serve` process: security headers
and request ids, CORS, ETag / 304, and Idempotency-Key replay and refusals."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.factories import PASSWORD
from tests.live import LiveServer, start_server

ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("live-http"), extra_env={"CORS_ORIGINS": ORIGIN})
    yield live
    live.terminate()
    assert "Traceback" not in live.log()


def _user(server: LiveServer) -> dict[str, str]:
    name = f"u{uuid.uuid4().hex[:10]}"
    user = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    response = httpx.post(f"{server.url}/api/users", json={"user": user})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Token {response.json()['user']['token']}"}


def _article(server: LiveServer, headers: dict[str, str], title: str) -> dict[str, Any]:
    body = {"article": {"title": title, "description": "d", "body": "b", "tagList": ["live"]}}
    response = httpx.post(f"{server.url}/api/articles", json=body, headers=headers)
    assert response.status_code == 201, response.text
    article: dict[str, Any] = response.json()["article"]
    return article


@pytest.mark.parametrize(("path", "status"), [("/api/tags", 200), ("/api/nowhere", 404)])
def test_security_headers_and_request_id(server: LiveServer, path: str, status: int) -> None:
    response = httpx.get(f"{server.url}{path}", headers={"X-Request-ID": "live-check-1"})
    assert response.status_code == status
    assert response.headers["x-request-id"] == "live-check-1"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "server" not in response.headers  # uvicorn's banner is off
    generated = httpx.get(f"{server.url}{path}", headers={"X-Request-ID": "bad id!"})
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])


def test_credentials_are_never_stored(server: LiveServer) -> None:
    headers = _user(server)
    response = httpx.get(f"{server.url}/api/user", headers=headers)
    assert response.headers["cache-control"] == "no-store"


def test_cors_for_the_configured_origin_only(server: LiveServer) -> None:
    allowed = httpx.get(f"{server.url}/api/tags", headers={"Origin": ORIGIN})
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    foreign = httpx.get(f"{server.url}/api/tags", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in foreign.headers
    preflight = httpx.options(
        f"{server.url}/api/articles",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 200
    assert "idempotency-key" in preflight.headers["access-control-allow-headers"].lower()


def test_etag_and_304(server: LiveServer) -> None:
    headers = _user(server)
    slug = _article(server, headers, f"ETag {uuid.uuid4().hex[:6]}")["slug"]
    for path, extra in [
        (f"/api/articles/{slug}", {}),
        ("/api/articles", {}),
        (f"/api/articles/{slug}", headers),  # signed in: private, but still validated
    ]:
        first = httpx.get(f"{server.url}{path}", headers=extra)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[^"]+"', etag)  # strong: no W/ prefix
        again = httpx.get(f"{server.url}{path}", headers={**extra, "If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
    before = httpx.get(f"{server.url}/api/articles/{slug}").headers["etag"]
    assert httpx.post(f"{server.url}/api/articles/{slug}/favorite", headers=headers).is_success
    changed = httpx.get(f"{server.url}/api/articles/{slug}", headers={"If-None-Match": before})
    assert changed.status_code == 200
    assert changed.json()["article"]["favoritesCount"] == 1
    assert changed.headers["etag"] != before


def test_idempotency_key_replay_mismatch_and_concurrency(server: LiveServer) -> None:
    headers = {**_user(server), "Idempotency-Key": "live-key-1"}
    title = f"Once {uuid.uuid4().hex[:6]}"
    body = {"article": {"title": title, "description": "d", "body": "b"}}
    first = httpx.post(f"{server.url}/api/articles", json=body, headers=headers)
    assert first.status_code == 201
    replay = httpx.post(f"{server.url}/api/articles", json=body, headers=headers)
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay.headers["idempotent-replayed"] == "true"
    other = {"article": {**body["article"], "body": "different"}}
    mismatch = httpx.post(f"{server.url}/api/articles", json=other, headers=headers)
    assert mismatch.status_code == 422
    assert mismatch.json()["errors"] == {"idempotency_key": ["was used with a different request"]}
    author = first.json()["article"]["author"]["username"]
    listed = httpx.get(f"{server.url}/api/articles", params={"author": author}).json()
    assert listed["articlesCount"] == 1

    # Eight identical requests at once: one does the work; the others are told it is in
    # progress (409) or, if it already finished, get its response replayed.
    racing = {**headers, "Idempotency-Key": "live-key-2"}
    body2 = {"article": {"title": f"Race {uuid.uuid4().hex[:6]}", "description": "d", "body": "b"}}

    def post(_: int) -> httpx.Response:
        return httpx.post(f"{server.url}/api/articles", json=body2, headers=racing, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    fresh = [
        r for r in responses if r.status_code == 201 and "idempotent-replayed" not in r.headers
    ]
    assert len(fresh) == 1
    listed = httpx.get(f"{server.url}/api/articles", params={"author": author}).json()
    assert listed["articlesCount"] == 2
