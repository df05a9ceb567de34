"""Profiles and follows: what one user sees of another."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.core.errors import Forbidden, NotFound
from conduit.users.models import User
from conduit.users.render import profile
from conduit.users.repository import UserRepository
from conduit.users.schemas import ProfileRead


def profile_read(user: User, following: bool) -> ProfileRead:
    return ProfileRead.model_validate(profile(user.username, user.bio, user.image, following))


class ProfileService:
    def __init__(self, session: AsyncSession) -> None:
        self.users = UserRepository(session)

    async def get(self, username: str, viewer_id: int | None) -> ProfileRead:
        found = await self.users.get_profile(username, viewer_id)
        if found is None:
            raise NotFound("profile")
        return profile_read(*found)

    async def _target(self, username: str, viewer_id: int) -> User:
        target = await self.users.get_by_username(username)
        if target is None:
            raise NotFound("profile")
        if target.id == viewer_id:
            raise Forbidden("profile", "cannot follow yourself")
        return target

    async def follow(self, viewer_id: int, username: str) -> ProfileRead:
        target = await self._target(username, viewer_id)
        await self.users.follow(viewer_id, target.id)
        return profile_read(target, True)

    async def unfollow(self, viewer_id: int, username: str) -> ProfileRead:
        target = await self._target(username, viewer_id)
        await self.users.unfollow(viewer_id, target.id)
        return profile_read(target, False)
