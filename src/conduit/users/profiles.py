"""Profiles and follows: what one user sees of another."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.db import utcnow
from conduit.core.errors import Forbidden, NotFound
from conduit.users.models import User
from conduit.users.render import profile
from conduit.users.repository import ProfileRow, UserRepository
from conduit.users.schemas import ProfileRead


def profile_read(user: User | ProfileRow, following: bool) -> ProfileRead:
    return ProfileRead.model_validate(profile(user.username, user.bio, user.image, following))


class ProfileService:
    def __init__(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)

    async def get(self, username: str, viewer_id: int | None) -> ProfileRead:
        found = await self.users.get_profile(username, viewer_id)
        if found is None:
            raise NotFound("profile")
        return profile_read(*found)

    @staticmethod
    def _checked(target: ProfileRow | None, viewer_id: int) -> ProfileRow:
        """The repository changes nothing for a missing user or for oneself: this says why."""
        if target is None:
            raise NotFound("profile")
        if target.id == viewer_id:
            raise Forbidden("profile", "cannot follow yourself")
        return target

    async def follow(self, viewer_id: int, username: str) -> ProfileRead:
        target = await self.users.follow(viewer_id, username, utcnow())
        return profile_read(self._checked(target, viewer_id), True)

    async def unfollow(self, viewer_id: int, username: str) -> ProfileRead:
        target = await self.users.unfollow(viewer_id, username)
        return profile_read(self._checked(target, viewer_id), False)
