"""The staff (an admin and a moderator) and an article with everything that hangs on it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import add_comment, auth, create_article, make_staff


@pytest.fixture
async def admin(client: httpx.AsyncClient, app: Any) -> str:
    return await make_staff(client, app, "root", "admin")


@pytest.fixture
async def moderator(client: httpx.AsyncClient, app: Any) -> str:
    return await make_staff(client, app, "mod", "moderator")


@pytest.fixture
async def doomed(client: httpx.AsyncClient, alice: str, bob: str) -> dict[str, Any]:
    """Alice's article with a tag of its own and a shared one, followed, favorited and
    commented on by Bob; plus a second article of hers sharing one tag."""
    article = await create_article(client, alice, "Doomed", tagList=["only-here", "shared"])
    await create_article(client, alice, "Survivor", tagList=["shared"])
    slug = article["slug"]
    assert (await client.post("/api/profiles/alice/follow", headers=auth(bob))).status_code == 200
    favorite = await client.post(f"/api/articles/{slug}/favorite", headers=auth(bob))
    assert favorite.status_code == 200, favorite.text
    comment_id = (await add_comment(client, bob, slug, "nice"))["id"]
    return {"slug": slug, "comment_id": comment_id}
