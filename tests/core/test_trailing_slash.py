"""Every API path answers with a trailing slash too, as the path without it, never with a
redirect (the official Angular client posts to `/api/articles/`)."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import auth, create_article, register


async def test_publishing_to_the_collection_with_a_trailing_slash_creates_the_article(
    client: httpx.AsyncClient, alice: str
) -> None:
    article = {"title": "Slash", "description": "d", "body": "b", "tagList": ["x"]}
    response = await client.post("/api/articles/", json={"article": article}, headers=auth(alice))

    assert response.status_code == 201, response.text
    slug = response.json()["article"]["slug"]
    read = await client.get(f"/api/articles/{slug}/")
    assert read.status_code == 200
    assert read.json()["article"]["title"] == "Slash"


@pytest.mark.parametrize("prefix", ["/api", "/api/v1"])
async def test_reads_and_writes_answer_with_and_without_the_slash(
    client: httpx.AsyncClient, alice: str, prefix: str
) -> None:
    bob = await register(client, "bob")
    slug = (await create_article(client, alice))["slug"]
    for path in ("/articles", "/tags", "/user", "/profiles/alice", f"/articles/{slug}/comments"):
        plain = await client.get(prefix + path, headers=auth(alice))
        slashed = await client.get(prefix + path + "/", headers=auth(alice))
        assert plain.status_code == slashed.status_code == 200, (path, slashed.text)
        assert slashed.json() == plain.json()
    followed = await client.post(f"{prefix}/profiles/alice/follow/", headers=auth(bob))
    assert followed.status_code == 200, followed.text
    assert followed.json()["profile"]["following"] is True
    favorited = await client.post(f"{prefix}/articles/{slug}/favorite/", headers=auth(bob))
    assert favorited.json()["article"]["favorited"] is True


async def test_no_redirect_is_ever_sent(client: httpx.AsyncClient, alice: str) -> None:
    for path in ("/api/articles/", "/api/tags/", "/api/nope/", "/api/"):
        response = await client.get(
            path, headers={**auth(alice), "Host": "evil.example"}, follow_redirects=False
        )
        assert not response.is_redirect, path
        assert "location" not in response.headers


async def test_unknown_paths_stay_404_and_methods_405_with_the_slash(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.get("/api/nope/")
    assert missing.status_code == 404
    assert missing.json()["errors"] == {"route": ["not found"]}
    wrong_method = await client.put("/api/tags/")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "GET, HEAD"


async def test_the_openapi_document_lists_each_path_once_without_the_slash(
    client: httpx.AsyncClient,
) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]

    assert "/api/articles" in paths
    assert [path for path in paths if path.endswith("/")] == []
