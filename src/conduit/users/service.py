"""Registration, login, the current user's account, and its administration."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.email import EmailFlows
from conduit.auth.permissions import Role
from conduit.auth.schemas import SignedInUser
from conduit.auth.service import AuthService, TokenPair
from conduit.core.cache import NULL_CACHE, Cache
from conduit.core.db import utcnow
from conduit.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from conduit.core.pagination import NumberedPage
from conduit.users.models import User
from conduit.users.protection import AccountProtection, VerifiedLogin
from conduit.users.repository import UserRepository
from conduit.users.schemas import (
    UserCreate,
    UserLogin,
    UserRead,
    UserSessionRead,
    UserUpdate,
)

# The cache generation (see core/cache.py) of users' public profiles, which other domains'
# cached bodies embed (an article's `author`): bumped when a username, bio, image or the
# active flag changes.
PROFILES = "profiles"
_PUBLIC = ("username", "bio", "image")  # the fields of a profile


def user_read(user: User | SignedInUser, token: str) -> UserRead:
    return UserRead(
        email=user.email,
        token=token,
        username=user.username,
        bio=user.bio,
        image=user.image,
        email_verified=user.email_verified,
    )


def _with_session(user: User | SignedInUser, pair: TokenPair) -> UserSessionRead:
    return UserSessionRead(
        **user_read(user, pair.access_token).model_dump(), refresh_token=pair.refresh_token
    )


class UserService:
    def __init__(
        self,
        session: AsyncSession,
        accounts: AccountProtection,
        auth: AuthService,
        mail: EmailFlows | None = None,
        cache: Cache = NULL_CACHE,
    ) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.accounts = accounts
        self.auth = auth
        self.mail = mail  # None: no verification mail (seeding, the admin command)
        self.cache = cache

    async def _ensure_available(
        self, *, username: str | None, email: str | None, exclude_id: int | None = None
    ) -> None:
        taken = await self.users.taken_fields(username=username, email=email, exclude_id=exclude_id)
        if taken:
            raise Conflict.many({field: ["has already been taken"] for field in taken})

    async def register(self, data: UserCreate) -> UserSessionRead:
        self.accounts.check_password(data.password, username=data.username, email=data.email)
        # Hash first: no database lock is held while Argon2 runs, and a taken address
        # costs the same time as a free one.
        password_hash = await self.accounts.hash(data.password)
        await self._ensure_available(username=data.username, email=data.email)
        user = await self.users.add(
            User(username=data.username, email=data.email, password_hash=password_hash)
        )
        if self.mail is not None:
            await self.mail.send_verification(user)
        return _with_session(user, await self.auth.start_session(user.id, session_token=True))

    async def sign_in(
        self, email: str, password: str, *, session_token: bool = False
    ) -> tuple[User | SignedInUser, TokenPair]:
        """The account these credentials open and its new session: 401 for an unknown
        e-mail or a wrong password, 403 for a deactivated account. The password is verified
        before the request's unit of work begins (`AccountProtection.verify_login`); in it,
        the session is inserted only if the account is still active with the hash that was
        verified, and otherwise the account is loaded and checked again."""
        email = email.lower()
        verified = await self.accounts.verify_login(email, password)
        if verified.active and verified.rehashed is None:
            pair = await self.auth.start_confirmed_session(
                verified.user_id, verified.password_hash, session_token=session_token
            )
            if pair is not None:
                await self.accounts.login_succeeded(email)
                return verified.account, pair
        user = await self._recheck(email, password, verified)
        return user, await self.auth.start_session(user.id, session_token=session_token)

    async def _recheck(self, email: str, password: str, verified: VerifiedLogin) -> User:
        """The account loaded in the request's unit: a password changed since it was
        verified is verified again, a hash with other Argon2 parameters is renewed."""
        user = await self.users.get(verified.user_id)
        current = None if user is None else user.password_hash
        rehashed = await self.accounts.recheck(email, password, verified, current)
        assert user is not None  # recheck refuses a vanished account
        if not user.active:
            raise Forbidden("user", "is deactivated")
        if rehashed is not None:
            user.password_hash = rehashed
        return user

    async def login(self, data: UserLogin) -> UserSessionRead:
        user, pair = await self.sign_in(data.email, data.password, session_token=True)
        return _with_session(user, pair)

    async def login_pair(self, email: str, password: str) -> TokenPair:
        return (await self.sign_in(email, password))[1]

    async def update(
        self,
        caller: SignedInUser,
        data: UserUpdate,
        token: str,
        session_id: str | None,
        password_hash: str | None = None,
    ) -> UserRead:
        """Change the caller's own account. `session_id` is None when an API key calls: a key
        may edit the profile but never the credentials (password, e-mail), which would let
        it take the account over. A new password ends every other session of the user.
        `password_hash`: the new password's hash, when it was computed before the request's
        transaction began (see users/dependencies.py); otherwise it is computed here."""
        changes = data.model_dump(exclude_unset=True)
        if session_id is None and ("password" in changes or "email" in changes):
            raise Forbidden("api_key", "cannot change the password or e-mail")
        user = await self.users.get(caller.id)
        if user is None:  # pragma: no cover - deleted since the token check, just now
            raise Unauthorized("token", "is invalid")
        password = changes.pop("password", None)
        if password is not None:
            self.accounts.check_password(
                password,
                username=changes.get("username") or user.username,
                email=changes.get("email") or user.email,
            )
            user.password_hash = password_hash or await self.accounts.hash(password)
            assert session_id is not None
            await self.auth.logout_others(user.id, session_id)
        username = changes.get("username")
        email = changes.get("email")
        await self._ensure_available(
            username=username if username is not None and username != user.username else None,
            email=email if email is not None and email != user.email else None,
            exclude_id=user.id,
        )
        email_changed = email is not None and email != user.email
        if any(field in changes and changes[field] != getattr(user, field) for field in _PUBLIC):
            self.cache.invalidate_after_commit(self.session, PROFILES)
        for field, value in changes.items():
            setattr(user, field, value)
        if email_changed:
            user.email_verified = False
        user.updated_at = utcnow()
        await self.users.flush_unique()
        if email_changed and self.mail is not None:
            await self.mail.send_verification(user)
        return user_read(user, token)

    # --- administration -----------------------------------------------------------

    async def search(self, query: str | None, page: NumberedPage) -> tuple[list[User], int]:
        users = await self.users.search(query, limit=page.limit, offset=page.offset)
        return users, await self.users.count(query)

    async def set_standing(self, username: str, role: Role | None, active: bool | None) -> User:
        """Change a user's role or active flag; deactivation ends their sessions at once."""
        user = await self.users.get_by_username(username)
        if user is None:
            raise NotFound("user")
        if role is not None:
            user.role = role
        if active is not None and active != user.active:
            # Nothing public hides an inactive user's articles or profile today; the bump
            # keeps cached bodies right should that rule change, and costs one counter.
            self.cache.invalidate_after_commit(self.session, PROFILES)
            user.active = active
        user.updated_at = utcnow()
        await self.users.flush_unique()
        if active is False:
            await self.auth.logout_all(user.id)
        return user
