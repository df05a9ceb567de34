"""Sessions: the OAuth2 token endpoint, refresh, logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Response, status
from starlette.background import BackgroundTask

from conduit.auth.dependencies import (
    AuthServiceDep,
    CurrentPrincipal,
    EmailFlowsDep,
    ResetRequestsDep,
    SessionPrincipal,
)
from conduit.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    EmailTokenRequest,
    PasswordResetConfirm,
    PasswordResetRequest,
    RefreshRequest,
    TokenRequest,
    TokenResponse,
)
from conduit.auth.service import TokenPair
from conduit.core.content import JSON_BODY
from conduit.core.db import MAX_ID
from conduit.core.openapi import body_link, error_responses, link, success
from conduit.core.pagination import NumberedPageDep
from conduit.core.policies import policy
from conduit.core.routing import SessionRoute
from conduit.users.dependencies import UserServiceDep

router = APIRouter(prefix="/auth", tags=["Sessions"], route_class=SessionRoute)
keys_router = APIRouter(prefix="/api-keys", tags=["API keys"], route_class=SessionRoute)


_REFRESH_LINKS = {
    "Refresh": body_link(
        "RefreshToken",
        "Spend the refresh token for a new pair.",
        {"refresh_token": "$response.body#/refresh_token"},
    )
}


def _token_response(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post(
    "/token",
    responses={
        200: success("A new session.", **_REFRESH_LINKS),
        **error_responses(401, 403),
    },
    summary="Log in (OAuth2 password flow)",
    operation_id="IssueToken",
    description="Form fields `username` (the e-mail) and `password`. Starts a session.",
)
@policy(rate_limit="auth")
async def token(form: Annotated[TokenRequest, Form()], users: UserServiceDep) -> TokenResponse:
    return _token_response(await users.login_pair(form.username, form.password))


@router.post(
    "/refresh",
    summary="Exchange a refresh token for a new pair",
    description=(
        "The refresh token is rotated: each one works once. Presenting a spent one revokes "
        "the whole session, its access tokens included."
    ),
    operation_id="RefreshToken",
    dependencies=[JSON_BODY],
    responses={200: success("A new pair.", **_REFRESH_LINKS), **error_responses(401)},
)
@policy(rate_limit="auth")
async def refresh(body: RefreshRequest, auth: AuthServiceDep) -> TokenResponse:
    return _token_response(await auth.refresh(body.refresh_token))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End the current session",
    operation_id="Logout",
    responses=error_responses(403),
)
async def logout(principal: SessionPrincipal, auth: AuthServiceDep) -> Response:
    assert principal.session_id is not None
    await auth.logout(principal.session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/logout-all",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="End every session of the current user",
    operation_id="LogoutAll",
    responses=error_responses(403),
)
async def logout_all(principal: SessionPrincipal, auth: AuthServiceDep) -> Response:
    await auth.logout_all(principal.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send another verification mail",
    operation_id="SendVerificationEmail",
    description="A link to confirm the current address is mailed to it.",
    response_class=Response,
    responses={202: {"description": "The mail is queued; no body."}, **error_responses(403)},
)
@policy(rate_limit="auth")
async def send_verification(principal: CurrentPrincipal, mail: EmailFlowsDep) -> Response:
    await mail.send_verification(principal.account)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/verify-email/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Confirm an e-mail address",
    operation_id="ConfirmEmail",
    description="`token` comes from the link in the verification mail; it works once.",
    dependencies=[JSON_BODY],
    responses=error_responses(400),
)
@policy(rate_limit="auth")
async def confirm_verification(body: EmailTokenRequest, mail: EmailFlowsDep) -> Response:
    await mail.confirm_verification(body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Mail a password reset link",
    operation_id="RequestPasswordReset",
    description=(
        "Answers at once, alike and in the same time whether or not the address belongs "
        "to an account; the link is queued after the answer has been sent."
    ),
    dependencies=[JSON_BODY],
    response_class=Response,
    responses={
        202: {"description": "Queued when the address has an account; no body."},
    },
)
@policy(rate_limit="auth")
async def request_reset(body: PasswordResetRequest, resets: ResetRequestsDep) -> Response:
    # Answered before anything is looked up: the same answer, in the same time, for an
    # address with an account and one without.
    task = BackgroundTask(resets.handle, body.email)
    return Response(status_code=status.HTTP_202_ACCEPTED, background=task)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Set a new password with a reset token",
    operation_id="ConfirmPasswordReset",
    description="The token works once. Every session of the account ends.",
    dependencies=[JSON_BODY],
    responses=error_responses(400),
)
@policy(rate_limit="auth")
async def confirm_reset(body: PasswordResetConfirm, mail: EmailFlowsDep) -> Response:
    await mail.confirm_reset(body.token, body.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@keys_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
    description="The key is in this response only. Only an admin's key may hold `admin`.",
    operation_id="CreateApiKey",
    dependencies=[JSON_BODY],
    responses={
        201: success(
            "The new key.",
            RevokeKey=link("RevokeApiKey", "Revoke this key.", key_id="$response.body#/id"),
        ),
        **error_responses(403),
    },
)
async def create_key(
    body: ApiKeyCreate, principal: SessionPrincipal, auth: AuthServiceDep
) -> ApiKeyCreated:
    return await auth.create_key(principal, body)


@keys_router.get(
    "",
    summary="List your API keys",
    operation_id="ListApiKeys",
    responses={
        200: success(
            "Oldest first.",
            RevokeFirstKey=link(
                "RevokeApiKey", "Revoke the first key listed.", key_id="$response.body#/items/0/id"
            ),
        ),
        **error_responses(403),
    },
)
async def list_keys(
    principal: SessionPrincipal, auth: AuthServiceDep, page: NumberedPageDep
) -> ApiKeyPage:
    items, total = await auth.list_keys(principal.user_id, page)
    return ApiKeyPage(items=items, page=page.number, limit=page.limit, total_count=total)


@keys_router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an API key",
    operation_id="RevokeApiKey",
    responses=error_responses(403, 404),
)
async def revoke_key(
    key_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: SessionPrincipal, auth: AuthServiceDep
) -> Response:
    await auth.revoke_key(principal.user_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
