"""Who is calling: the principal behind the `Authorization` header.

`Authorization: Token <jwt>` (RealWorld) and `Authorization: Bearer <jwt>` are both
accepted. Missing credentials on a protected route answer 401 `token: is missing`;
present but unusable credentials answer 401 `token: is invalid`, on every route.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader

from conduit.core.errors import Unauthorized
from conduit.users.dependencies import UserServiceDep
from conduit.users.models import User

_SCHEMES = frozenset({"token", "bearer"})

authorization_header = APIKeyHeader(
    name="Authorization",
    scheme_name="Token",
    description="`Token <jwt>` or `Bearer <jwt>`, the token from login or registration.",
    auto_error=False,
)


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    token: str

    @property
    def user_id(self) -> int:
        return self.user.id


def _parse(header: str) -> str:
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() not in _SCHEMES or not token or " " in token:
        raise Unauthorized("token", "is invalid")
    return token


async def _optional_principal(
    users: UserServiceDep,
    header: Annotated[str | None, Depends(authorization_header)],
) -> Principal | None:
    if header is None or not header.strip():
        return None
    token = _parse(header)
    return Principal(user=await users.authenticate(token), token=token)


async def _required_principal(
    principal: Annotated[Principal | None, Depends(_optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("token", "is missing")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_required_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]


def viewer_id(principal: Principal | None) -> int | None:
    return None if principal is None else principal.user_id
