"""How routes get an `ArticleService`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from conduit.articles.service import ArticleService
from conduit.core.db import SessionDep


async def get_article_service(request: Request, session: SessionDep) -> ArticleService:
    return ArticleService(session, request.app.state.cache)


ArticleServiceDep = Annotated[ArticleService, Depends(get_article_service)]
