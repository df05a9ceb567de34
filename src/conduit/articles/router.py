"""Articles, the feed, favorites and tags (RealWorld spec)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from starlette.convertors import StringConvertor, register_url_convertor

from conduit.articles.dependencies import ArticleServiceDep, ListingDep, tag_service
from conduit.articles.schemas import (
    ArticleFilter,
    CleanSlug,
    MultipleArticlesResponse,
    NewArticleRequest,
    SingleArticleResponse,
    TagsResponse,
    UpdateArticleRequest,
)
from conduit.articles.service import RESERVED_SLUGS
from conduit.auth.dependencies import CurrentPrincipal, CurrentReader, OptionalReader, needs
from conduit.auth.permissions import Scope
from conduit.core.content import JSON_BODY
from conduit.core.http_cache import (
    IF_NONE_MATCH_PARAMETER,
    IfNoneMatch,
    conditional_json,
    conditional_responses,
    if_none_match,
)
from conduit.core.openapi import error_responses, link, success
from conduit.core.pagination import PageDep
from conduit.core.policies import policy
from conduit.core.routing import DirectRoute, SessionRoute

router = APIRouter(route_class=SessionRoute)

SlugPath = Annotated[CleanSlug, Path(min_length=1, description="Article slug.")]


class SlugConvertor(StringConvertor):
    """`{slug:slug}`: a path segment other than a reserved name. As OpenAPI matches a
    concrete path (`/articles/feed`) before a templated one (`/articles/{slug}`), so does
    the router: `PUT /articles/feed` is a 405 of the feed's path, not a write to an article
    that no one could read."""

    regex = "(?!(?:" + "|".join(sorted(RESERVED_SLUGS)) + ")$)[^/]+"


register_url_convertor("slug", SlugConvertor())


def article_links(slug: str) -> dict[str, dict[str, Any]]:
    """What can be done next with the article whose slug `slug` (an expression) names."""
    return {
        "GetArticle": link("GetArticle", "Read the article.", slug=slug),
        "UpdateArticle": link("UpdateArticle", "Change the article.", slug=slug),
        "DeleteArticle": link("DeleteArticle", "Delete the article.", slug=slug),
        "FavoriteArticle": link("CreateArticleFavorite", "Favorite the article.", slug=slug),
        "UnfavoriteArticle": link("DeleteArticleFavorite", "Unfavorite the article.", slug=slug),
        "GetComments": link("GetArticleComments", "Read its comments.", slug=slug),
        "AddComment": link("CreateArticleComment", "Comment on it.", slug=slug),
    }


_ARTICLE = "$response.body#/article"
ARTICLE_LINKS = {
    **article_links(f"{_ARTICLE}/slug"),
    "GetAuthor": link(
        "GetProfileByUsername", "The author's profile.", username=f"{_ARTICLE}/author/username"
    ),
}


def _cached(description: str, **links: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The answers of a conditional GET, its 200 carrying `links`."""
    responses = conditional_responses()
    responses[200] = {**responses[200], **success(description, **links)}
    return responses


_FIRST_LISTED = {
    "GetFirstArticle": link(
        "GetArticle", "Read the first article listed.", slug="$response.body#/articles/0/slug"
    )
}


# The reads come first, the hot ones in front: the router tries the routes in this order,
# one regular expression each. The order picks no other route for any request, except that
# `/articles/feed` must come before `/articles/{slug}`.
@router.get(
    "/articles",
    tags=["Articles"],
    summary="Get recent articles globally",
    description="Newest first. Filters combine. Auth is optional.",
    operation_id="GetArticles",
    response_model=MultipleArticlesResponse,
    responses=_cached("Newest first.", **_FIRST_LISTED),
)
async def list_articles(
    articles: ArticleServiceDep,
    viewer: OptionalReader,
    listing: ListingDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    where, page = listing
    body = await articles.list_json(where, viewer, page)
    return conditional_json(body, if_none_match, shared=viewer is None)


@router.get(
    "/articles/feed",
    tags=["Articles"],
    summary="Get recent articles from users you follow",
    operation_id="GetArticlesFeed",
    response_model=MultipleArticlesResponse,
    responses=_cached("Newest first.", **_FIRST_LISTED),
)
async def feed(
    articles: ArticleServiceDep,
    viewer: CurrentReader,
    page: PageDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    where = ArticleFilter(feed_of=viewer.user_id)
    body = await articles.list_json(where, viewer, page)
    return conditional_json(body, if_none_match, shared=False)


@router.get(
    "/articles/{slug:slug}",
    tags=["Articles"],
    summary="Get an article",
    operation_id="GetArticle",
    response_model=SingleArticleResponse,
    responses={**_cached("The article.", **ARTICLE_LINKS), **error_responses(404)},
)
async def get_article(
    slug: SlugPath,
    viewer: OptionalReader,
    articles: ArticleServiceDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    body = await articles.article_json(slug, viewer)
    return conditional_json(body, if_none_match, shared=viewer is None)


async def tags(request: Request) -> Response:
    """It takes only the request (the service and the header are read from it) and its
    route is a `DirectRoute`: FastAPI's dependency solving, even of none, costs more than
    this route's own work on a cache hit (a dictionary lookup). The tags' service opens
    a read-only session of its own on a miss."""
    body = await tag_service(request).tags_json()
    return conditional_json(body, if_none_match(request), shared=True, vary=False)


router.add_api_route(
    "/tags",
    tags,
    methods=["GET"],
    route_class_override=DirectRoute,
    tags=["Tags"],
    summary="Get tags",
    description="Every tag in use, most used first.",
    operation_id="GetTags",
    response_model=TagsResponse,
    responses=conditional_responses(),
    openapi_extra={"parameters": [IF_NONE_MATCH_PARAMETER]},
)


@router.post(
    "/articles",
    status_code=status.HTTP_201_CREATED,
    tags=["Articles"],
    summary="Create an article",
    operation_id="CreateArticle",
    dependencies=[JSON_BODY, needs(Scope.ARTICLES_WRITE)],
    responses={
        201: success("The new article.", **ARTICLE_LINKS),
        **error_responses(403),
    },
)
@policy(idempotent=True)
async def create_article(
    body: NewArticleRequest, principal: CurrentPrincipal, articles: ArticleServiceDep
) -> SingleArticleResponse:
    return SingleArticleResponse(article=await articles.create(principal.account, body.article))


@router.put(
    "/articles/{slug:slug}",
    tags=["Articles"],
    summary="Update an article",
    description="Only the author may. A new title gives a new slug.",
    operation_id="UpdateArticle",
    dependencies=[JSON_BODY, needs(Scope.ARTICLES_WRITE)],
    responses={
        200: success("The article as changed; its slug may be new.", **ARTICLE_LINKS),
        **error_responses(403, 404),
    },
)
async def update_article(
    slug: SlugPath,
    body: UpdateArticleRequest,
    principal: CurrentPrincipal,
    articles: ArticleServiceDep,
) -> SingleArticleResponse:
    article = await articles.update(principal, slug, body.article)
    return SingleArticleResponse(article=article)


@router.delete(
    "/articles/{slug:slug}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["Articles"],
    summary="Delete an article",
    description="By its author, a moderator or an admin. The slug stays reserved.",
    operation_id="DeleteArticle",
    dependencies=[needs(Scope.ARTICLES_WRITE)],
    responses={
        204: success(
            "Deleted.",
            GetArticle=link("GetArticle", "Now 404.", slug="$request.path.slug"),
            RestoreArticle=link(
                "RestoreArticle", "Staff may restore it.", slug="$request.path.slug"
            ),
        ),
        **error_responses(403, 404),
    },
)
async def delete_article(
    slug: SlugPath, principal: CurrentPrincipal, articles: ArticleServiceDep
) -> Response:
    await articles.delete(principal, slug)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/articles/{slug}/favorite",
    tags=["Favorites"],
    summary="Favorite an article",
    description="Idempotent: favoriting twice counts once.",
    operation_id="CreateArticleFavorite",
    dependencies=[needs(Scope.ARTICLES_WRITE)],
    responses={
        200: success("The article.", **ARTICLE_LINKS),
        **error_responses(403, 404),
    },
)
@policy(idempotent=True)
async def favorite(
    slug: SlugPath, principal: CurrentPrincipal, articles: ArticleServiceDep
) -> SingleArticleResponse:
    return SingleArticleResponse(article=await articles.favorite(principal.user_id, slug))


@router.delete(
    "/articles/{slug}/favorite",
    tags=["Favorites"],
    summary="Unfavorite an article",
    operation_id="DeleteArticleFavorite",
    dependencies=[needs(Scope.ARTICLES_WRITE)],
    responses={
        200: success("The article.", **ARTICLE_LINKS),
        **error_responses(403, 404),
    },
)
async def unfavorite(
    slug: SlugPath, principal: CurrentPrincipal, articles: ArticleServiceDep
) -> SingleArticleResponse:
    return SingleArticleResponse(article=await articles.unfavorite(principal.user_id, slug))
