"""Creating an admin account from the command line."""

from __future__ import annotations

from pydantic import ValidationError

from conduit.auth.permissions import Role
from conduit.auth.service import AuthService
from conduit.core.config import Settings
from conduit.core.db import Database
from conduit.core.errors import DomainError, validation_errors
from conduit.core.security import PasswordHasher, TokenCodec
from conduit.users.protection import AccountProtection
from conduit.users.schemas import UserCreate
from conduit.users.service import UserService


async def create_admin_user(settings: Settings, email: str, username: str, password: str) -> None:
    """Register the account as any user would, then make it an admin. ValueError on refusal."""
    try:
        data = UserCreate(email=email, username=username, password=password)
    except ValidationError as exc:
        raise ValueError(_describe(validation_errors(exc.errors()))) from None
    db = Database(settings)
    try:
        async with db.session() as session:
            accounts = AccountProtection(settings, PasswordHasher(settings), db)
            users = UserService(session, accounts, AuthService(session, TokenCodec(settings)))
            await users.register(data)
            await users.set_standing(data.username, Role.ADMIN, True)
    except DomainError as exc:
        raise ValueError(_describe(exc.errors)) from None
    finally:
        await db.dispose()


def _describe(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{key} {message}" for key, messages in errors.items() for message in messages)
