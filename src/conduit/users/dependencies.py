"""How routes get a `UserService`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from conduit.auth.dependencies import AuthServiceDep, EmailFlowsDep
from conduit.core.db import SessionDep
from conduit.users.service import UserService


async def get_user_service(
    request: Request, session: SessionDep, auth: AuthServiceDep, mail: EmailFlowsDep
) -> UserService:
    state = request.app.state
    return UserService(session, state.passwords, auth, state.accounts, mail, state.cache)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
