"""Query parameters read in one step (core/params.py): the same answers and the same
OpenAPI document as parameters declared one by one."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Query

from conduit.articles.limits import TAG_MAX
from conduit.articles.schemas import ArticleListQuery, CleanTag
from conduit.core.errors import install_error_handlers
from conduit.core.pagination import MAX_LIMIT, MAX_OFFSET, MAX_PAGE, Page, PageDep, PageQuery
from conduit.core.params import QueryParameters, documented_parameters
from conduit.users.limits import USERNAME_MAX
from conduit.users.schemas import CleanName


def _declared(
    tag: Annotated[CleanTag | None, Query(description="Tag name.")] = None,
    author: Annotated[CleanName | None, Query(description="Author's username.")] = None,
    favorited: Annotated[
        CleanName | None, Query(description="Username of a user who favorited them.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page (at most {MAX_LIMIT}).")
    ] = 20,
    offset: Annotated[int | None, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = None,
    page: Annotated[
        int | None,
        Query(ge=1, le=MAX_PAGE, description="1-based page number; used when `offset` is absent."),
    ] = None,
) -> None:
    """The list's parameters as they were declared before `QueryParameters`."""


def _parameters(app: FastAPI, path: str) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = app.openapi()["paths"][path]["get"]["parameters"]
    return parameters


def test_documented_as_fastapi_documents_declared_parameters() -> None:
    app = FastAPI()
    app.get("/declared")(_declared)
    expected = _parameters(app, "/declared")
    documented = QueryParameters(ArticleListQuery, ArticleListQuery.listing).parameters()
    assert documented == expected  # the same objects, in the same order
    assert [p["name"] for p in documented] == [
        "tag",
        "author",
        "favorited",
        "limit",
        "offset",
        "page",
    ]


def test_a_route_documents_the_parameters_of_its_dependencies() -> None:
    app = FastAPI()

    @app.get("/paged")
    async def paged(page: PageDep) -> None: ...

    route = next(r for r in app.routes if getattr(r, "path", "") == "/paged")
    names = [p["name"] for p in documented_parameters(route.dependant)]  # type: ignore[attr-defined]
    assert names == list(PageQuery.model_fields)


Listing = Annotated[Any, Depends(QueryParameters(ArticleListQuery, ArticleListQuery.listing))]


@pytest.fixture
async def paged() -> Any:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/list")
    async def endpoint(got: Listing) -> dict[str, Any]:
        where, page = got
        assert isinstance(page, Page)
        return {
            "tag": where.tag,
            "favorited": where.favorited_by,
            "limit": page.limit,
            "offset": page.offset,
        }

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_values_and_defaults(paged: httpx.AsyncClient) -> None:
    assert (await paged.get("/list")).json() == {
        "tag": None,
        "favorited": None,
        "limit": 20,
        "offset": 0,
    }
    answer = await paged.get("/list", params={"tag": "dragons", "limit": "5", "page": "3"})
    assert answer.json() == {"tag": "dragons", "favorited": None, "limit": 5, "offset": 10}
    # `offset` wins over `page`; a repeated name counts by its last value, as FastAPI's own
    answer = await paged.get("/list?offset=7&page=3&limit=2&limit=4&favorited=jake")
    assert answer.json() == {"tag": None, "favorited": "jake", "limit": 4, "offset": 7}


_BAD = [
    "limit=0",
    "limit=101",
    "limit=ten",
    "limit=",
    "offset=-1&page=0",
    f"page={MAX_PAGE + 1}",
    f"tag={'x' * (TAG_MAX + 1)}",
    "author=a%00b",
    f"favorited={'y' * (USERNAME_MAX + 1)}&limit=0",
]


@pytest.mark.parametrize("query", _BAD)
async def test_bad_values_are_answered_as_declared_parameters_are(
    paged: httpx.AsyncClient, query: str
) -> None:
    declared = FastAPI()
    install_error_handlers(declared)
    declared.get("/list")(_declared)
    transport = httpx.ASGITransport(app=declared)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        expected = await client.get(f"/list?{query}")
    answer = await paged.get(f"/list?{query}")
    assert expected.status_code == answer.status_code == 422
    assert answer.json() == expected.json()


async def test_a_filter_too_long_is_counted_in_characters(paged: httpx.AsyncClient) -> None:
    answer = await paged.get(
        f"/list?tag={'x' * (TAG_MAX + 1)}&favorited={'y' * (USERNAME_MAX + 1)}"
    )
    assert answer.status_code == 422
    assert answer.json()["errors"] == {
        "tag": [f"is too long (maximum is {TAG_MAX} characters)"],
        "favorited": [f"is too long (maximum is {USERNAME_MAX} characters)"],
    }


async def test_bad_values_name_the_parameter(paged: httpx.AsyncClient) -> None:
    answer = await paged.get("/list?offset=-1&page=0&limit=ten")
    assert answer.status_code == 422
    assert answer.json() == {
        "errors": {
            "limit": ["must be an integer"],
            "offset": ["must be greater than or equal to 0"],
            "page": ["must be greater than or equal to 1"],
        }
    }
