"""Users, the current user and profiles (RealWorld spec)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status

from conduit.auth.dependencies import CurrentPrincipal, OptionalPrincipal, needs, viewer_id
from conduit.auth.permissions import Scope
from conduit.core.content import JSON_BODY
from conduit.core.openapi import body_link, error_responses, link, success
from conduit.core.policies import policy
from conduit.core.routing import SessionRoute
from conduit.users.dependencies import (
    NewPasswordHash,
    ProfileServiceDep,
    UserServiceDep,
    new_password_hash,
)
from conduit.users.schemas import (
    CleanName,
    LoginRequest,
    NewUserRequest,
    ProfileResponse,
    UpdateUserRequest,
    UserResponse,
    UserSessionResponse,
)
from conduit.users.service import user_read

router = APIRouter(route_class=SessionRoute)


def profile_links(username: str) -> dict[str, dict[str, Any]]:
    """What can be done next with the user whom `username` (an expression) names."""
    return {
        "GetProfile": link("GetProfileByUsername", "Their profile.", username=username),
        "Follow": link("FollowUserByUsername", "Follow them.", username=username),
        "Unfollow": link("UnfollowUserByUsername", "Unfollow them.", username=username),
    }


_SESSION_LINKS = {
    **profile_links("$response.body#/user/username"),
    "Refresh": body_link(
        "RefreshToken",
        "Exchange the refresh token for a new pair.",
        {"refresh_token": "$response.body#/user/refreshToken"},
    ),
}
UsernamePath = Annotated[CleanName, Path(min_length=1, description="A username.")]


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    tags=["User and Authentication"],
    summary="Register a new user",
    operation_id="CreateUser",
    dependencies=[JSON_BODY],
    responses={
        201: success(
            "The new user, signed in.",
            Login=body_link(
                "Login",
                "Log in with the same e-mail and password.",
                {
                    "user": {
                        "email": "$request.body#/user/email",
                        "password": "$request.body#/user/password",
                    }
                },
            ),
            Token=body_link(
                "IssueToken",
                "The OAuth2 password flow with the same e-mail and password.",
                {
                    "username": "$request.body#/user/email",
                    "password": "$request.body#/user/password",
                },
            ),
            **_SESSION_LINKS,
        ),
        **error_responses(409),
    },
)
@policy(rate_limit="auth")
async def register(body: NewUserRequest, users: UserServiceDep) -> UserSessionResponse:
    return UserSessionResponse(user=await users.register(body.user))


@router.post(
    "/users/login",
    tags=["User and Authentication"],
    summary="Existing user login",
    operation_id="Login",
    dependencies=[JSON_BODY],
    responses={
        200: success("The user, signed in.", **_SESSION_LINKS),
        **error_responses(401, 403),
    },
)
@policy(rate_limit="auth")
async def login(body: LoginRequest, users: UserServiceDep) -> UserSessionResponse:
    return UserSessionResponse(user=await users.login(body.user))


@router.get(
    "/user",
    tags=["User and Authentication"],
    summary="Get current user",
    operation_id="GetCurrentUser",
)
async def current_user(principal: CurrentPrincipal) -> UserResponse:
    return UserResponse(user=user_read(principal.account, principal.token))


@router.put(
    "/user",
    tags=["User and Authentication"],
    summary="Update current user",
    description=(
        "Only the fields sent change. A new password ends every other session of the user. "
        "An API key (`profile:write`) may not change the password or the e-mail."
    ),
    operation_id="UpdateCurrentUser",
    # The new password is hashed before authentication opens the request's transaction.
    dependencies=[JSON_BODY, Depends(new_password_hash), needs(Scope.PROFILE_WRITE)],
    responses={
        200: success(
            "The user as changed.",
            GetProfile=link(
                "GetProfileByUsername",
                "The public profile.",
                username="$response.body#/user/username",
            ),
        ),
        **error_responses(403, 409),
    },
)
async def update_user(
    body: UpdateUserRequest,
    password_hash: NewPasswordHash,
    principal: CurrentPrincipal,
    users: UserServiceDep,
) -> UserResponse:
    updated = await users.update(
        principal.account, body.user, principal.token, principal.session_id, password_hash
    )
    return UserResponse(user=updated)


@router.get(
    "/profiles/{username}",
    tags=["Profile"],
    summary="Get a profile",
    operation_id="GetProfileByUsername",
    responses={
        200: success(
            "The profile.",
            **profile_links("$response.body#/profile/username"),
            GetArticles=link(
                "GetArticles", "Their articles.", author="$response.body#/profile/username"
            ),
        ),
        **error_responses(404),
    },
)
async def get_profile(
    username: UsernamePath, principal: OptionalPrincipal, profiles: ProfileServiceDep
) -> ProfileResponse:
    return ProfileResponse(profile=await profiles.get(username, viewer_id(principal)))


@router.post(
    "/profiles/{username}/follow",
    tags=["Profile"],
    summary="Follow a user",
    operation_id="FollowUserByUsername",
    dependencies=[needs(Scope.PROFILE_WRITE)],
    responses={
        200: success("The profile.", **profile_links("$response.body#/profile/username")),
        **error_responses(403, 404),
    },
)
@policy(idempotent=True)
async def follow(
    username: UsernamePath, principal: CurrentPrincipal, profiles: ProfileServiceDep
) -> ProfileResponse:
    return ProfileResponse(profile=await profiles.follow(principal.user_id, username))


@router.delete(
    "/profiles/{username}/follow",
    tags=["Profile"],
    summary="Unfollow a user",
    operation_id="UnfollowUserByUsername",
    dependencies=[needs(Scope.PROFILE_WRITE)],
    responses={
        200: success("The profile.", **profile_links("$response.body#/profile/username")),
        **error_responses(403, 404),
    },
)
async def unfollow(
    username: UsernamePath, principal: CurrentPrincipal, profiles: ProfileServiceDep
) -> ProfileResponse:
    return ProfileResponse(profile=await profiles.unfollow(principal.user_id, username))
