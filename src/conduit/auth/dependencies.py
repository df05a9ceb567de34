"""Who is calling: the principal behind the `Authorization` header.

`Authorization: Token <jwt>` (RealWorld) and `Authorization: Bearer <jwt>` are both
accepted. Missing credentials on a protected route answer 401 `token: is missing`;
present but unusable credentials (forged, expired, of an ended session or a deactivated
user) answer 401 `token: is invalid`, on every route.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.credentials import API_KEY, AUTHORIZATION, read_credentials
from conduit.auth.email import EmailFlows, ResetRequests
from conduit.auth.permissions import Permission, Scope
from conduit.auth.principal import Principal
from conduit.auth.service import AuthService
from conduit.core.errors import Forbidden, Unauthorized
from conduit.core.openapi import reads_credentials
from conduit.core.routing import request_session

authorization_header = APIKeyHeader(
    name=AUTHORIZATION,
    scheme_name="Token",
    description="`Token <jwt>` or `Bearer <jwt>`, the token from login or registration.",
    auto_error=False,
)
api_key_header = APIKeyHeader(
    name=API_KEY,
    scheme_name="ApiKey",
    description="An API key from POST /api/api-keys; acts as its owner within its scopes.",
    auto_error=False,
)
# Documents the OAuth2 password flow so that Swagger UI's "Authorize" button can log in.
# The header itself is read by `authorization_header` above.
oauth2_password = OAuth2PasswordBearer(
    tokenUrl="/api/auth/token", scheme_name="OAuth2", auto_error=False
)

# What the document shows for a route that reads the caller: any one of the schemes, in
# this order, and the schemes themselves among its components.
_SCHEMES_DOCUMENTED = (authorization_header, api_key_header, oauth2_password)
SECURITY: list[dict[str, list[str]]] = [{scheme.scheme_name: []} for scheme in _SCHEMES_DOCUMENTED]


def security_schemes() -> dict[str, Any]:
    return {
        scheme.scheme_name: scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for scheme in _SCHEMES_DOCUMENTED
    }


def _auth_service(request: Request) -> AuthService:
    state = request.app.state
    return AuthService(request_session(request), state.tokens, state.activity)


async def get_auth_service(request: Request) -> AuthService:
    return _auth_service(request)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


def get_email_flows(request: Request, auth: AuthServiceDep) -> EmailFlows:
    state = request.app.state
    return EmailFlows(request_session(request), state.settings, auth, state.accounts)


EmailFlowsDep = Annotated[EmailFlows, Depends(get_email_flows)]


def get_reset_requests(request: Request) -> ResetRequests:
    """Reset requests run after the response, in a database session of their own."""
    state = request.app.state

    def flows(session: AsyncSession) -> EmailFlows:
        auth = AuthService(session, state.tokens)
        return EmailFlows(session, state.settings, auth, state.accounts)

    return ResetRequests(state.db, flows)


ResetRequestsDep = Annotated[ResetRequests, Depends(get_reset_requests)]


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """(access token, API key) from the headers (`auth.credentials`), at most one of them;
    401 for unusable ones. The headers are read here, not through the schemes above as
    dependencies of their own: FastAPI solves each dependency anew on every request, and
    this runs on almost every request. The schemes are still what the OpenAPI document
    shows (see `SECURITY`)."""
    credentials = read_credentials(request.headers)
    if credentials.invalid is not None:
        raise Unauthorized(*credentials.invalid)
    return credentials.token, credentials.key


@reads_credentials(SECURITY, optional=True)
async def _optional_principal(request: Request) -> Principal | None:
    """The caller, if credentials came."""
    token, api_key = _credentials(request)
    if api_key:
        return await _auth_service(request).authenticate_key(api_key)
    if token is None:
        return None
    return await _auth_service(request).authenticate(token)


@reads_credentials(SECURITY, optional=False)
async def _required_principal(
    principal: Annotated[Principal | None, Depends(_optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("token", "is missing")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_required_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]


@reads_credentials(SECURITY, optional=True)
async def _optional_reader(request: Request) -> Principal | None:
    """The caller of a read that confirms an access token's session in its own statement
    (`Principal.token_check`): the same answers as `OptionalPrincipal`, one round trip
    fewer. An API key is checked here."""
    token, api_key = _credentials(request)
    if api_key:
        return await _auth_service(request).authenticate_key(api_key)
    if token is None:
        return None
    return _auth_service(request).unconfirmed(token)


@reads_credentials(SECURITY, optional=False)
async def _required_reader(request: Request) -> Principal:
    """`_optional_reader` called, not depended on: one level of FastAPI's solver fewer."""
    principal = await _optional_reader(request)
    if principal is None:
        raise Unauthorized("token", "is missing")
    return principal


# For the reads that confirm the caller's token in their own statement.
CurrentReader = Annotated[Principal, Depends(_required_reader)]
OptionalReader = Annotated[Principal | None, Depends(_optional_reader)]


def viewer_id(principal: Principal | None) -> int | None:
    return None if principal is None else principal.user_id


def needs(scope: Scope) -> Any:
    """A route dependency: an API key must hold `scope` (403 otherwise); sessions pass."""

    async def check(principal: CurrentPrincipal) -> None:
        if principal.scopes is not None and scope not in principal.scopes:
            raise Forbidden("scope", f"requires {scope.value}")

    return Depends(check)


async def _session_principal(principal: CurrentPrincipal) -> Principal:
    if principal.session_id is None:
        raise Forbidden("api_key", "cannot manage API keys or sessions")
    return principal


# For managing keys and sessions: a signed-in session, never an API key.
SessionPrincipal = Annotated[Principal, Depends(_session_principal)]


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: the caller, who must hold `permission` (403 otherwise)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise Forbidden("role", "forbidden")
        return principal

    return check
