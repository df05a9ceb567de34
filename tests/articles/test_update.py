"""PUT /api/articles/{slug}: what an edit changes and keeps, and who may make it."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import (
    ARTICLE_FORBIDDEN,
    ARTICLE_NOT_FOUND,
    TIMESTAMP,
    create_article,
    error_body,
    errors,
    get_article,
    list_articles,
    update_article,
)


async def test_update_body_keeps_the_rest(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice, "Kept title", tagList=["b", "a"])

    response = await update_article(client, alice, created["slug"], body="New body")

    assert response.status_code == 200, response.text
    updated = response.json()["article"]
    assert updated["body"] == "New body"
    assert updated["slug"] == created["slug"]
    assert updated["title"] == created["title"]
    assert updated["description"] == created["description"]
    assert updated["tagList"] == ["a", "b"]
    assert updated["createdAt"] == created["createdAt"]
    assert updated["updatedAt"] != created["updatedAt"]
    assert updated["updatedAt"] > created["updatedAt"]
    assert TIMESTAMP.match(updated["updatedAt"])
    assert (await get_article(client, created["slug"])).json()["article"] == updated


async def test_update_tag_list(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice, tagList=["old", "kept"])

    replaced = await update_article(client, alice, created["slug"], tagList=["new", "kept", "new"])
    cleared = await update_article(client, alice, created["slug"], tagList=[])

    assert replaced.status_code == 200
    assert replaced.json()["article"]["tagList"] == ["kept", "new"]
    assert cleared.status_code == 200
    assert cleared.json()["article"]["tagList"] == []
    assert (await get_article(client, created["slug"])).json()["article"]["tagList"] == []
    assert await list_articles(client, tag="kept") == {"articles": [], "articlesCount": 0}


@pytest.mark.parametrize("field", ["tagList", "title", "description", "body"])
async def test_update_with_null_is_422(client: httpx.AsyncClient, alice: str, field: str) -> None:
    created = await create_article(client, alice, tagList=["keep"])

    response = await update_article(client, alice, created["slug"], **{field: None})

    assert response.status_code == 422
    assert field in errors(response)
    assert (await get_article(client, created["slug"])).json()["article"] == created


@pytest.mark.parametrize("field", ["title", "description", "body"])
async def test_update_with_blank_is_422(client: httpx.AsyncClient, alice: str, field: str) -> None:
    created = await create_article(client, alice)

    response = await update_article(client, alice, created["slug"], **{field: "  "})

    assert response.status_code == 422
    assert errors(response) == {field: ["can't be blank"]}


async def test_update_title_changes_the_slug(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice, "Old Title")

    response = await update_article(client, alice, created["slug"], title="Brand New Title")

    assert response.status_code == 200
    updated = response.json()["article"]
    assert updated["slug"] == "brand-new-title"
    assert updated["title"] == "Brand New Title"
    assert (await get_article(client, "brand-new-title")).status_code == 200
    old = await get_article(client, created["slug"])
    assert old.status_code == 404
    assert error_body(old) == ARTICLE_NOT_FOUND


async def test_update_title_to_one_taken_gets_a_distinct_slug(
    client: httpx.AsyncClient, alice: str
) -> None:
    taken = await create_article(client, alice, "Taken")
    other = await create_article(client, alice, "Other")

    response = await update_article(client, alice, other["slug"], title="Taken")

    assert response.status_code == 200
    assert response.json()["article"]["slug"] not in {taken["slug"], other["slug"]}
    assert (await get_article(client, taken["slug"])).json()["article"]["title"] == "Taken"


async def test_update_by_another_user_is_403_and_changes_nothing(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    created = await create_article(client, alice, tagList=["t"])

    response = await update_article(client, bob, created["slug"], title="Hijacked", tagList=[])

    assert response.status_code == 403
    assert error_body(response) == ARTICLE_FORBIDDEN
    assert (await get_article(client, created["slug"])).json()["article"] == created


async def test_update_unknown_slug_is_404(client: httpx.AsyncClient, alice: str) -> None:
    response = await update_article(client, alice, "no-such-article", body="x")

    assert response.status_code == 404
    assert error_body(response) == ARTICLE_NOT_FOUND
