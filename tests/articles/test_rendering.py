"""The hot reads render their JSON from the rows themselves (articles/service.py,
comments/service.py) instead of building the response models: the bytes must be exactly
those the models would give, whatever the text (quotes, backslashes, control characters,
any script, emoji), with `null`s, booleans, counts and timestamps as the contract has them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from pydantic import BaseModel
from sqlalchemy import update

from conduit.articles import render
from conduit.articles.models import Article
from conduit.articles.schemas import MultipleArticlesResponse, SingleArticleResponse
from conduit.articles.statements import ArticleView
from conduit.comments.models import Comment
from conduit.comments.schemas import MultipleCommentsResponse
from conduit.core.http_cache import json_body
from conduit.core.schemas import iso_millis
from tests.factories import auth, create_article, register

TRICKY = 'Ünïcødé "quoted" \\ back\\slash </script> \t tab \u2028 \u0007 bell 🐉 日本語'


def _same_as_model(model: type[BaseModel], body: bytes) -> None:
    assert json_body(model.model_validate_json(body)) == body


async def test_rendered_reads_are_byte_for_byte_the_response_models(
    client: httpx.AsyncClient,
) -> None:
    alice, bob = await register(client, "alice"), await register(client, "bob")
    profile = {"bio": TRICKY + "\n second line", "image": 'https://example.com/a.png?x=1&y="2"'}
    response = await client.put("/api/user", json={"user": profile}, headers=auth(alice))
    assert response.status_code == 200, response.text
    slugs = []
    for n, tags in enumerate([["zeta", "Alpha", "ähm", "b", "🐉"], [], ["solo"]]):
        article = await create_article(
            client, alice, f"{TRICKY} {n}", description=TRICKY, body=TRICKY * 3, tagList=tags
        )
        slugs.append(article["slug"])
    assert (await client.post("/api/profiles/alice/follow", headers=auth(bob))).status_code == 200
    for slug in slugs[:2]:
        response = await client.post(f"/api/articles/{slug}/favorite", headers=auth(bob))
        assert response.status_code == 200
        for text in (TRICKY, "plain"):
            body = {"comment": {"body": text}}
            response = await client.post(
                f"/api/articles/{slug}/comments", json=body, headers=auth(bob)
            )
            assert response.status_code == 201

    for token in (None, alice, bob):
        headers = auth(token) if token else {}
        for url in ("/api/articles", "/api/articles?tag=zeta", "/api/articles?limit=1"):
            response = await client.get(url, headers=headers)
            _same_as_model(MultipleArticlesResponse, response.content)
        for slug in slugs:
            response = await client.get(f"/api/articles/{slug}", headers=headers)
            _same_as_model(SingleArticleResponse, response.content)
            response = await client.get(f"/api/articles/{slug}/comments", headers=headers)
            _same_as_model(MultipleCommentsResponse, response.content)
    feed = await client.get("/api/articles/feed", headers=auth(bob))
    _same_as_model(MultipleArticlesResponse, feed.content)

    first = (await client.get("/api/articles", headers=auth(bob))).json()["articles"][-1]
    assert first["tagList"] == ["Alpha", "b", "zeta", "ähm", "🐉"]  # by code point
    assert (first["favorited"], first["favoritesCount"]) == (True, 1)
    assert first["author"] == {**profile, "username": "alice", "following": True}
    assert (await client.get(f"/api/articles/{slugs[1]}")).json()["article"]["tagList"] == []


def test_timestamps_are_utc_milliseconds_truncated() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678999, tzinfo=UTC)
    assert iso_millis(moment) == "2026-01-02T03:04:05.678Z"
    assert iso_millis(moment.replace(microsecond=0)) == "2026-01-02T03:04:05.000Z"
    east = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert iso_millis(east) == "2026-01-02T03:04:05.678Z"


async def test_stored_timestamps_read_as_utc_milliseconds_truncated(
    client: httpx.AsyncClient, app: Any
) -> None:
    """The reads have the database render the timestamps (`articles.columns.iso_text`:
    `to_char` on PostgreSQL, the stored text cut on SQLite); what it renders must be what
    `iso_millis` renders, down to the last microsecond of a year, for articles and comments."""
    token = await register(client, "alice")
    moments = [
        datetime(2026, 1, 2, 3, 4, 5, 678999, tzinfo=UTC),
        datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 7, 1, 0, 0, 0, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, 0, 1000, tzinfo=timezone(timedelta(hours=-9))),
    ]
    for n, moment in enumerate(moments):
        slug = (await create_article(client, token, f"At {n}"))["slug"]
        later = moment + timedelta(microseconds=999)
        async with app.state.db.engine.begin() as conn:
            await conn.execute(
                update(Article)
                .where(Article.slug == slug)
                .values(created_at=moment, updated_at=later)
            )
        expected = (iso_millis(moment), iso_millis(later))
        for headers in ({}, auth(token)):
            read = (await client.get(f"/api/articles/{slug}", headers=headers)).json()
            assert (read["article"]["createdAt"], read["article"]["updatedAt"]) == expected
            listed = (await client.get("/api/articles", headers=headers)).json()["articles"]
            found = next(item for item in listed if item["slug"] == slug)
            assert (found["createdAt"], found["updatedAt"]) == expected
        body = {"comment": {"body": "timed"}}
        posted = await client.post(f"/api/articles/{slug}/comments", json=body, headers=auth(token))
        async with app.state.db.engine.begin() as conn:
            await conn.execute(
                update(Comment)
                .where(Comment.id == posted.json()["comment"]["id"])
                .values(created_at=moment, updated_at=later)
            )
        comment = (await client.get(f"/api/articles/{slug}/comments")).json()["comments"][0]
        assert (comment["createdAt"], comment["updatedAt"]) == expected


def test_the_renderer_puts_each_field_of_the_row_under_its_own_key() -> None:
    """`render.listed` unpacks the row in field order: a field moved in `ArticleView` must
    not land under another field's key."""
    row = ArticleView(*(f"<{name}>" for name in ArticleView._fields))._replace(favorited=0)
    assert render.article(row) == {
        "slug": row.slug,
        "title": row.title,
        "description": row.description,
        "tagList": row.tag_list,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "favorited": False,
        "favoritesCount": row.favorites_count,
        "author": {
            "username": row.author_username,
            "bio": row.author_bio,
            "image": row.author_image,
            "following": True,
        },
        "body": row.body,
    }
