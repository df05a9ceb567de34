"""Pagination parameters: `limit` and `offset` (RealWorld), or `page` (1-based)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from conduit.core.params import QueryParameters

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = 2**53 - 1  # the largest integer every JSON client handles exactly
MAX_PAGE = MAX_OFFSET // MAX_LIMIT


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


class PageQuery(BaseModel):
    """`limit`, `offset` and `page` as the query string gives them."""

    limit: int = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT})."
    )
    offset: int | None = Field(None, ge=0, le=MAX_OFFSET, description="Items to skip.")
    page: int | None = Field(
        None,
        ge=1,
        le=MAX_PAGE,
        description="1-based page number; used when `offset` is absent.",
    )

    def to_page(self) -> Page:
        offset = self.offset
        if offset is None:
            offset = (self.page - 1) * self.limit if self.page is not None else 0
        return Page(limit=self.limit, offset=offset)


PageDep = Annotated[Page, Depends(QueryParameters(PageQuery, PageQuery.to_page))]


@dataclass(frozen=True, slots=True)
class NumberedPage:
    """`page` (1-based) and `limit`, for every list outside the RealWorld spec."""

    number: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.limit


async def _numbered_page(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="1-based page number.")] = 1,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
) -> NumberedPage:
    return NumberedPage(number=page, limit=limit)


NumberedPageDep = Annotated[NumberedPage, Depends(_numbered_page)]
