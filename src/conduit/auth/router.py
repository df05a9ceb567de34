"""Sessions: the OAuth2 token endpoint, refresh, logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from conduit.auth.dependencies import AuthServiceDep, CurrentPrincipal
from conduit.auth.schemas import RefreshRequest, TokenResponse
from conduit.auth.service import TokenPair
from conduit.core.content import JSON_BODY
from conduit.core.openapi import error_responses
from conduit.users.dependencies import UserServiceDep

router = APIRouter(prefix="/auth", tags=["Sessions"])


def _token_response(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post(
    "/token",
    summary="Log in (OAuth2 password flow)",
    description="Form fields `username` (the e-mail) and `password`. Starts a session.",
    responses=error_responses(401, 403, 422),
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], users: UserServiceDep
) -> TokenResponse:
    return _token_response(await users.login_pair(form.username, form.password))


@router.post(
    "/refresh",
    summary="Exchange a refresh token for a new pair",
    description=(
        "The refresh token is rotated: each one works once. Presenting a spent one revokes "
        "the whole session, its access tokens included."
    ),
    dependencies=[JSON_BODY],
    responses=error_responses(401, 415, 422),
)
async def refresh(body: RefreshRequest, auth: AuthServiceDep) -> TokenResponse:
    return _token_response(await auth.refresh(body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the current session",
    responses=error_responses(401),
)
async def logout(principal: CurrentPrincipal, auth: AuthServiceDep) -> Response:
    await auth.logout(principal.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End every session of the current user",
    responses=error_responses(401),
)
async def logout_all(principal: CurrentPrincipal, auth: AuthServiceDep) -> Response:
    await auth.logout_all(principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
