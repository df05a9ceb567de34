"""An article as the JSON shows it, from its row (`statements.ArticleView`): the one
renderer of articles, for the reads, which serialise its fields themselves, and for the
writes, whose response models are validated from them."""

from __future__ import annotations

from typing import Any

from conduit.articles.schemas import ArticleRead
from conduit.articles.statements import ArticleView
from conduit.users.render import profile


def listed(row: ArticleView) -> dict[str, Any]:
    """The fields of `ArticleListItem`, camelCase, in its order."""
    # Unpacked in ArticleView's field order, in one step: reading each field as an attribute
    # (a descriptor lookup on the type) cost more than the rest of the rendering.
    # tests/articles/test_rendering.py checks every field lands under its own key.
    (
        slug,
        title,
        description,
        created_at,
        updated_at,
        favorites_count,
        favorited,
        author_username,
        author_bio,
        author_image,
        author_following,
        tag_list,
        _body,
        _total,
        _live,
    ) = row
    return {
        "slug": slug,
        "title": title,
        "description": description,
        "tagList": tag_list,
        "createdAt": created_at,
        "updatedAt": updated_at,
        "favorited": bool(favorited),
        "favoritesCount": favorites_count,
        "author": profile(author_username, author_bio, author_image, author_following),
    }


def article(row: ArticleView) -> dict[str, Any]:
    """The fields of `ArticleRead`, camelCase, in its order."""
    return {**listed(row), "body": row.body}


def article_read(row: ArticleView) -> ArticleRead:
    """The response model of a write, from the same fields (its timestamps parsed back
    from their text, which it renders alike)."""
    return ArticleRead.model_validate(article(row))
