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
    return {
        "slug": row.slug,
        "title": row.title,
        "description": row.description,
        "tagList": row.tag_list,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "favorited": bool(row.favorited),
        "favoritesCount": row.favorites_count,
        "author": profile(
            row.author_username, row.author_bio, row.author_image, row.author_following
        ),
    }


def article(row: ArticleView) -> dict[str, Any]:
    """The fields of `ArticleRead`, camelCase, in its order."""
    return {**listed(row), "body": row.body}


def article_read(row: ArticleView) -> ArticleRead:
    """The response model of a write, from the same fields (its timestamps parsed back
    from their text, which it renders alike)."""
    return ArticleRead.model_validate(article(row))
