"""How routes get a `UserService`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from conduit.core.db import ReadSessionDep, SessionDep
from conduit.users.service import UserService


def get_user_service(request: Request, session: SessionDep) -> UserService:
    state = request.app.state
    return UserService(session, state.passwords, state.tokens)


def get_login_service(request: Request, session: ReadSessionDep) -> UserService:
    state = request.app.state
    return UserService(session, state.passwords, state.tokens)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
LoginServiceDep = Annotated[UserService, Depends(get_login_service)]
