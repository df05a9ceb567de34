"""How routes get an `ArticleService`, and the article list's query string."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from conduit.articles.schemas import ArticleFilter, ArticleListQuery
from conduit.articles.service import ArticleService, TagService
from conduit.core.pagination import Page
from conduit.core.params import QueryParameters
from conduit.core.routing import request_session


async def get_article_service(request: Request) -> ArticleService:
    return ArticleService(request_session(request), request.app.state.cache)


ArticleServiceDep = Annotated[ArticleService, Depends(get_article_service)]


def tag_service(request: Request) -> TagService:
    """The tags' service, one per application (it holds only the database and the cache):
    called by its route itself, not through `Depends` (see the route)."""
    service: TagService = request.app.state.tags
    return service


# The list's filters and page, read in one step (core/params.py).
ListingDep = Annotated[
    tuple[ArticleFilter, Page],
    Depends(QueryParameters(ArticleListQuery, ArticleListQuery.listing)),
]
