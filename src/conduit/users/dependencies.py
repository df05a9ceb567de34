"""How routes get a `UserService` or a `ProfileService`, and a new password's hash
computed ahead of time."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from conduit.auth.dependencies import AuthServiceDep, EmailFlowsDep
from conduit.core.routing import request_session
from conduit.core.security import InvalidToken
from conduit.users.profiles import ProfileService
from conduit.users.schemas import UpdateUserRequest
from conduit.users.service import UserService

_SCHEMES = frozenset({"token", "bearer"})


async def get_user_service(
    request: Request, auth: AuthServiceDep, mail: EmailFlowsDep
) -> UserService:
    state = request.app.state
    return UserService(request_session(request), state.accounts, auth, mail, state.cache)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]


async def get_profile_service(request: Request) -> ProfileService:
    return ProfileService(request_session(request))


ProfileServiceDep = Annotated[ProfileService, Depends(get_profile_service)]


async def new_password_hash(request: Request, body: UpdateUserRequest) -> str | None:
    """The hash of the new password a `PUT /user` body sets, computed before the request's
    database transaction begins (this dependency is listed before the ones that
    authenticate). Authentication opens that transaction, and on SQLite a write request
    holds the database's write lock from its first statement to its commit: an Argon2 hash
    inside it, and the wait for a hashing thread behind queued logins, would hold every
    other writer up.

    Only a request with a genuine access token (signature and expiry checked, without the
    database) gets a hash: an anonymous caller cannot make the server hash, and an API key
    may not change the password anyway. A password below the minimum length is left to the
    service to refuse. When this returns None the service hashes itself, if it must."""
    password = body.user.password
    state = request.app.state
    if password is None or len(password) < state.settings.password_min_length:
        return None
    scheme, _, token = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() not in _SCHEMES or request.headers.get("x-api-key"):
        return None
    try:
        state.tokens.decode(token.strip())
    except InvalidToken:
        return None
    hashed: str = await state.passwords.hash(password)
    return hashed


NewPasswordHash = Annotated[str | None, Depends(new_password_hash)]
