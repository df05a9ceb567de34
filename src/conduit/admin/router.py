"""Staff endpoints: user management (admins), restoring deleted articles (moderators too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from conduit.admin.schemas import AdminUserRead, AdminUserUpdate, UserPage
from conduit.articles.dependencies import ArticleServiceDep
from conduit.articles.schemas import CleanSlug, SingleArticleResponse
from conduit.auth.dependencies import needs, require
from conduit.auth.permissions import Permission, Scope
from conduit.auth.principal import Principal
from conduit.core.content import JSON_BODY
from conduit.core.openapi import error_responses, link, success
from conduit.core.pagination import NumberedPageDep
from conduit.core.routing import SessionRoute
from conduit.users.dependencies import UserServiceDep
from conduit.users.schemas import CleanName

router = APIRouter(
    prefix="/admin",
    tags=["Administration"],
    dependencies=[needs(Scope.ADMIN)],
    route_class=SessionRoute,
)

UserManager = Annotated[Principal, Depends(require(Permission.MANAGE_USERS))]
Restorer = Annotated[Principal, Depends(require(Permission.RESTORE_ARTICLE))]


@router.get(
    "/users",
    summary="List users",
    description="Admins only. `q` matches part of the username or e-mail.",
    operation_id="ListUsers",
    responses={
        200: success(
            "Users in the order they signed up.",
            UpdateFirstUser=link(
                "UpdateUserStanding",
                "Change the first user listed.",
                username="$response.body#/items/0/username",
            ),
        ),
        **error_responses(403),
    },
)
async def list_users(
    _: UserManager,
    users: UserServiceDep,
    page: NumberedPageDep,
    q: CleanName | None = None,
) -> UserPage:
    found, total = await users.search(q, page)
    return UserPage(
        items=[AdminUserRead.model_validate(user) for user in found],
        page=page.number,
        limit=page.limit,
        total_count=total,
    )


@router.patch(
    "/users/{username}",
    summary="Change a user's role or active flag",
    operation_id="UpdateUserStanding",
    description="Admins only. Deactivating a user ends all their sessions at once.",
    dependencies=[JSON_BODY],
    responses=error_responses(403, 404),
)
async def update_user(
    username: Annotated[CleanName, Path(min_length=1)],
    body: AdminUserUpdate,
    _: UserManager,
    users: UserServiceDep,
) -> AdminUserRead:
    user = await users.set_standing(username, body.role, body.active)
    return AdminUserRead.model_validate(user)


@router.post(
    "/articles/{slug}/restore",
    summary="Restore a deleted article",
    description="Moderators and admins.",
    operation_id="RestoreArticle",
    responses={
        200: success(
            "The article, back.",
            GetArticle=link("GetArticle", "Read it.", slug="$response.body#/article/slug"),
        ),
        **error_responses(403, 404),
    },
)
async def restore_article(
    slug: Annotated[CleanSlug, Path(min_length=1)],
    principal: Restorer,
    articles: ArticleServiceDep,
) -> SingleArticleResponse:
    return SingleArticleResponse(article=await articles.restore(principal, slug))
