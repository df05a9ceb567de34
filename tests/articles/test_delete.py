"""DELETE /api/articles/{slug}: by its author only, a soft delete that hides everything of it."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from tests.factories import (
    ARTICLE_FORBIDDEN,
    ARTICLE_NOT_FOUND,
    auth,
    create_article,
    error_body,
    favorite,
    get_article,
    list_articles,
    slugs,
    tags,
)


async def count_rows(app: Any, table: str) -> int:
    async with app.state.db.engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())  # noqa: S608


async def test_delete_by_author(client: httpx.AsyncClient, alice: str) -> None:
    created = await create_article(client, alice)

    response = await client.delete(f"/api/articles/{created['slug']}", headers=auth(alice))

    assert response.status_code == 204
    assert response.content == b""
    gone = await get_article(client, created["slug"])
    assert gone.status_code == 404
    assert error_body(gone) == ARTICLE_NOT_FOUND
    assert await list_articles(client) == {"articles": [], "articlesCount": 0}
    again = await client.delete(f"/api/articles/{created['slug']}", headers=auth(alice))
    assert again.status_code == 404
    assert error_body(again) == ARTICLE_NOT_FOUND


async def test_delete_by_another_user_is_403_and_keeps_it(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    created = await create_article(client, alice)

    response = await client.delete(f"/api/articles/{created['slug']}", headers=auth(bob))

    assert response.status_code == 403
    assert error_body(response) == ARTICLE_FORBIDDEN
    assert (await get_article(client, created["slug"])).json()["article"] == created


async def test_delete_hides_the_article_with_its_comments_favorites_and_tags(
    client: httpx.AsyncClient, app: Any, alice: str, bob: str
) -> None:
    created = await create_article(client, alice, tagList=["gone"])
    kept = await create_article(client, alice, "Kept")
    await favorite(client, bob, created["slug"])
    await favorite(client, bob, kept["slug"])
    comment = await client.post(
        f"/api/articles/{created['slug']}/comments",
        json={"comment": {"body": "nice"}},
        headers=auth(bob),
    )
    assert comment.status_code == 201

    response = await client.delete(f"/api/articles/{created['slug']}", headers=auth(alice))

    assert response.status_code == 204
    page = await list_articles(client, favorited="bob")
    assert slugs(page) == [kept["slug"]]
    assert page["articlesCount"] == 1
    assert "gone" not in await tags(client)
    # A soft delete: the rows stay, so that a moderator can restore the article.
    assert await count_rows(app, "comments") == 1
    assert await count_rows(app, "favorites") == 2
    assert await count_rows(app, "article_tags") == 1
    comments = await client.get(f"/api/articles/{created['slug']}/comments")
    assert comments.status_code == 404
    assert error_body(comments) == ARTICLE_NOT_FOUND
