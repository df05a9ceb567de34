"""Comments on articles (RealWorld spec)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from conduit.articles.schemas import CleanSlug
from conduit.auth.dependencies import CurrentPrincipal, OptionalPrincipal, needs, viewer_id
from conduit.auth.permissions import Scope
from conduit.comments.dependencies import CommentServiceDep
from conduit.comments.schemas import (
    MultipleCommentsResponse,
    NewCommentRequest,
    SingleCommentResponse,
)
from conduit.core.content import JSON_BODY
from conduit.core.db import MAX_ID
from conduit.core.openapi import error_responses, link, success
from conduit.core.policies import policy
from conduit.core.routing import SessionRoute

router = APIRouter(tags=["Comments"], route_class=SessionRoute)

SlugPath = Annotated[CleanSlug, Path(min_length=1, description="Article slug.")]
CommentId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="Comment id.")]

_SAME_ARTICLE = "$request.path.slug"


@router.get(
    "/articles/{slug}/comments",
    summary="Get comments for an article",
    description="Newest first. Auth is optional.",
    operation_id="GetArticleComments",
    response_model=MultipleCommentsResponse,
    responses={
        200: success(
            "Newest first.",
            DeleteFirstComment=link(
                "DeleteArticleComment",
                "Delete the first comment listed.",
                slug=_SAME_ARTICLE,
                id="$response.body#/comments/0/id",
            ),
        ),
        **error_responses(404),
    },
)
async def list_comments(
    slug: SlugPath, principal: OptionalPrincipal, comments: CommentServiceDep
) -> Response:
    body = await comments.list_json(slug, viewer_id(principal))
    return Response(body, media_type="application/json")


@router.post(
    "/articles/{slug}/comments",
    status_code=status.HTTP_201_CREATED,
    summary="Create a comment for an article",
    operation_id="CreateArticleComment",
    dependencies=[JSON_BODY, needs(Scope.COMMENTS_WRITE)],
    responses={
        201: success(
            "The new comment.",
            DeleteComment=link(
                "DeleteArticleComment",
                "Delete this comment.",
                slug=_SAME_ARTICLE,
                id="$response.body#/comment/id",
            ),
            GetComments=link("GetArticleComments", "The article's comments.", slug=_SAME_ARTICLE),
        ),
        **error_responses(403, 404),
    },
)
@policy(idempotent=True)
async def add_comment(
    slug: SlugPath,
    body: NewCommentRequest,
    principal: CurrentPrincipal,
    comments: CommentServiceDep,
) -> SingleCommentResponse:
    return SingleCommentResponse(comment=await comments.add(slug, principal.account, body.comment))


@router.delete(
    "/articles/{slug}/comments/{id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a comment for an article",
    description="By the comment's author, a moderator or an admin.",
    operation_id="DeleteArticleComment",
    dependencies=[needs(Scope.COMMENTS_WRITE)],
    responses=error_responses(403, 404),
)
async def delete_comment(
    slug: SlugPath,
    comment_id: CommentId,
    principal: CurrentPrincipal,
    comments: CommentServiceDep,
) -> Response:
    await comments.delete(slug, comment_id, principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
