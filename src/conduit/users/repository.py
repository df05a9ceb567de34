"""All SQL for users and follows."""

from __future__ import annotations

from typing import NamedTuple, cast

from sqlalchemy import String, Table, bindparam, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.schemas import SignedInUser
from conduit.core.db import AnySelect
from conduit.core.errors import Conflict
from conduit.core.reads import HotRead
from conduit.core.upsert import insert_ignore
from conduit.users.models import Follow, User

_users = cast(Table, User.__table__)


class Credentials(NamedTuple):
    """What a login reads of an account before Argon2 runs: all its response needs."""

    account: SignedInUser
    password_hash: str
    active: bool


# A login's one read of the account, before Argon2 runs, in the primary's reader unit: with
# the columns its response shows, so that the write unit need not read the user again.
_SIGNED_IN_COLUMNS = ("id", "username", "email", "bio", "image", "role", "email_verified")
_CREDENTIALS = HotRead(
    select(
        *(_users.c[name] for name in _SIGNED_IN_COLUMNS), _users.c.password_hash, _users.c.active
    ).where(_users.c.email == bindparam("email", type_=String))
)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_email(self, email: str) -> User | None:
        result = await self.session.scalars(select(User).where(User.email == email))
        return result.first()

    async def credentials(self, email: str) -> Credentials | None:
        """The account with this (lower-case) e-mail, its password hash and active flag."""
        row = await _CREDENTIALS.first(self.session, {"email": email})
        return None if row is None else Credentials(SignedInUser(*row[:-2]), row[-2], row[-1])

    async def get_by_username(self, username: str) -> User | None:
        result = await self.session.scalars(select(User).where(User.username == username))
        return result.first()

    async def taken_fields(
        self, *, username: str | None, email: str | None, exclude_id: int | None = None
    ) -> list[str]:
        """Which of `username` (case-insensitive) and `email` another account already uses."""
        checks = []
        if username is not None:
            checks.append(("username", func.lower(User.username) == username.lower()))
        if email is not None:
            checks.append(("email", User.email == email))
        if not checks:
            return []
        columns = [
            exists().where(condition, User.id != (exclude_id or 0)).label(name)
            for name, condition in checks
        ]
        row = (await self.session.execute(select(*columns))).one()
        return [name for name, _ in checks if row._mapping[name]]

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.flush_unique()
        return user

    async def flush_unique(self) -> None:
        """Flush, turning a unique-constraint race into a 409 on the right field."""
        try:
            await self.session.flush()
        except IntegrityError as exc:
            field = "email" if "email" in str(exc.orig).lower() else "username"
            raise Conflict(field) from None

    def _matching(self, query: str | None) -> AnySelect:
        stmt = select(User)
        if query:
            needle = query.lower()  # e-mails are stored lower-case
            stmt = stmt.where(
                or_(
                    func.lower(User.username).contains(needle, autoescape=True),
                    User.email.contains(needle, autoescape=True),
                )
            )
        return stmt

    async def search(self, query: str | None, *, limit: int, offset: int) -> list[User]:
        """Users whose username or e-mail contains `query`, oldest account first."""
        stmt = self._matching(query).order_by(User.id).limit(limit).offset(offset)
        return list((await self.session.scalars(stmt)).all())

    async def count(self, query: str | None) -> int:
        stmt = select(func.count()).select_from(self._matching(query).subquery())
        return int((await self.session.execute(stmt)).scalar_one())

    async def get_profile(self, username: str, viewer_id: int | None) -> tuple[User, bool] | None:
        following = Follow.is_following(viewer_id, User.id).label("following")
        stmt = select(User, following).where(User.username == username)
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row.User, bool(row.following))

    async def follow(self, follower_id: int, followee_id: int) -> None:
        stmt = insert_ignore(self.session, Follow).values(
            follower_id=follower_id, followee_id=followee_id
        )
        await self.session.execute(stmt)

    async def unfollow(self, follower_id: int, followee_id: int) -> None:
        await self.session.execute(
            delete(Follow).where(
                Follow.follower_id == follower_id, Follow.followee_id == followee_id
            )
        )
