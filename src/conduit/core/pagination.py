"""Pagination parameters: `limit` and `offset` (RealWorld), or `page` (1-based)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_OFFSET = 2**53 - 1  # the largest integer every JSON client handles exactly
MAX_PAGE = MAX_OFFSET // MAX_LIMIT


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


async def _page(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT}).")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int | None, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = None,
    page: Annotated[
        int | None,
        Query(ge=1, le=MAX_PAGE, description="1-based page number; used when `offset` is absent."),
    ] = None,
) -> Page:
    if offset is None:
        offset = (page - 1) * limit if page is not None else 0
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(_page)]


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
