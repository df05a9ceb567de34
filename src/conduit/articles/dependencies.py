"""How routes get an `ArticleService`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from conduit.articles.service import ArticleService
from conduit.core.db import SessionDep


def get_article_service(session: SessionDep) -> ArticleService:
    return ArticleService(session)


ArticleServiceDep = Annotated[ArticleService, Depends(get_article_service)]
