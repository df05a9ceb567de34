"""All SQL for users and follows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Integer, String, Table, bindparam, delete, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.schemas import SignedInUser
from conduit.core.db import AnySelect, UTCDateTime
from conduit.core.errors import Conflict
from conduit.core.reads import HotRead
from conduit.users.models import Follow, User

_users = cast(Table, User.__table__)
_follows = cast(Table, Follow.__table__)


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


class ProfileRow(NamedTuple):
    id: int
    username: str
    bio: str | None
    image: str | None


# Follow and unfollow by username, as Core statements on the tables built once per
# dialect. On PostgreSQL the change rides in a WITH clause of the statement that reads the
# profile (one round trip; nothing is written for an unknown name or for the caller
# themself); SQLite cannot put an INSERT or DELETE in a WITH clause, so it reads first.
# Parameters: username, viewer_id, now; on SQLite followee_id for the change.
_VIEWER = bindparam("viewer_id", type_=Integer)
_NOW = bindparam("now", type_=UTCDateTime)
_FOLLOW_COLUMNS = ("follower_id", "followee_id", "created_at")
_TARGET = select(_users.c.id, _users.c.username, _users.c.bio, _users.c.image).where(
    _users.c.username == bindparam("username", type_=String)
)


def _followed_pg() -> Any:
    target = _TARGET.cte("target")
    followed = (
        postgresql.insert(_follows)
        .from_select(
            _FOLLOW_COLUMNS, select(_VIEWER, target.c.id, _NOW).where(target.c.id != _VIEWER)
        )
        .on_conflict_do_nothing()
        .cte("followed")
    )
    return select(*target.c).add_cte(followed)


def _unfollowed_pg() -> Any:
    target = _TARGET.cte("target")
    unfollowed = (
        delete(_follows)
        .where(
            _follows.c.follower_id == _VIEWER,
            _follows.c.followee_id == select(target.c.id).scalar_subquery(),
        )
        .cte("unfollowed")
    )
    return select(*target.c).add_cte(unfollowed)


_FOLLOWED_PG, _UNFOLLOWED_PG = _followed_pg(), _unfollowed_pg()
_FOLLOWEE = bindparam("followee_id", type_=Integer)
_FOLLOW_SQLITE = (
    sqlite.insert(_follows)
    .values(dict(zip(_FOLLOW_COLUMNS, (_VIEWER, _FOLLOWEE, _NOW), strict=True)))
    .on_conflict_do_nothing()
)
_UNFOLLOW_SQLITE = delete(_follows).where(
    _follows.c.follower_id == _VIEWER, _follows.c.followee_id == _FOLLOWEE
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

    async def follow(self, follower_id: int, username: str, now: datetime) -> ProfileRow | None:
        """Make `follower_id` follow the user named `username` (already following: nothing
        changes; never oneself): that user's profile row, or None when there is none."""
        return await self._change(_FOLLOWED_PG, _FOLLOW_SQLITE, follower_id, username, now)

    async def unfollow(self, follower_id: int, username: str) -> ProfileRow | None:
        """Stop `follower_id` following the user named `username`: as `follow`."""
        return await self._change(_UNFOLLOWED_PG, _UNFOLLOW_SQLITE, follower_id, username, None)

    async def _change(
        self, pg: Any, lite: Any, viewer_id: int, username: str, now: datetime | None
    ) -> ProfileRow | None:
        params: dict[str, Any] = {"viewer_id": viewer_id, "username": username, "now": now}
        if self.session.get_bind().dialect.name == "postgresql":
            row = (await self.session.execute(pg, params)).first()
            return None if row is None else ProfileRow(*row)
        row = (await self.session.execute(_TARGET, params)).first()
        if row is None:
            return None
        if row.id != viewer_id:
            await self.session.execute(lite, {**params, "followee_id": row.id})
        return ProfileRow(*row)
