"""E-mail flows: address verification and password reset.

Tokens are `secrets.token_urlsafe(32)`, stored only as their SHA-256, single-use, and
expire. Each is bound to the address it was sent to: once the user's address changes,
the token is void. Links are built from `FRONTEND_URL` alone, never from the request.
The mail is queued in the request's transaction (the outbox) and sent after it commits.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from conduit.auth.models import EmailToken
from conduit.auth.repository import AuthRepository
from conduit.auth.schemas import SignedInUser
from conduit.auth.service import AuthService
from conduit.core.config import Settings
from conduit.core.db import Database, utcnow
from conduit.core.errors import BadRequest
from conduit.core.mail import MailMessage
from conduit.outbox.service import Outbox
from conduit.users.models import User
from conduit.users.protection import AccountProtection

logger = logging.getLogger("conduit.auth")

VERIFY = "verify"
RESET = "reset"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _invalid_token() -> BadRequest:
    return BadRequest("token", "is invalid or expired")


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class EmailFlows:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        auth: AuthService,
        accounts: AccountProtection,
    ) -> None:
        self.repo = AuthRepository(session)
        self.outbox = Outbox(session)
        self.settings = settings
        self.auth = auth
        self.accounts = accounts

    async def _issue(self, user: User | SignedInUser, purpose: str, ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await self.repo.add_email_token(
            EmailToken(
                token_hash=_hash(token),
                user_id=user.id,
                purpose=purpose,
                email=user.email,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        )
        return token

    async def _mail_link(
        self,
        user: User | SignedInUser,
        purpose: str,
        ttl: int,
        path: str,
        subject: str,
        why: str,
        note: str,
    ) -> None:
        """Issue a token and queue a mail carrying its link (built from FRONTEND_URL only)."""
        token = await self._issue(user, purpose, ttl)
        link = f"{self.settings.frontend_url}/{path}?{urlencode({'token': token})}"
        body = (
            f"Hello {user.username},\n\n{why}\n\n{link}\n\n"
            f"The link works once and expires in {_duration(ttl)}. {note}\n"
        )
        await self.outbox.enqueue(MailMessage(user.email, subject, body))

    # --- verification ---------------------------------------------------------------

    async def send_verification(self, user: User | SignedInUser) -> None:
        """Queue a mail with a link that confirms the user's current address."""
        await self._mail_link(
            user,
            VERIFY,
            self.settings.email_verification_ttl,
            "verify-email",
            "Confirm your e-mail address",
            "Please confirm your e-mail address for Conduit by opening this link:",
            "If you did not sign up for Conduit, you can ignore this message.",
        )

    async def _redeem(self, token: str, purpose: str) -> User:
        found = await self.repo.use_email_token(_hash(token), purpose, utcnow())
        user = await self.repo.active_user(found[0]) if found else None
        if found is None or user is None or user.email != found[1]:
            raise _invalid_token()
        return user

    async def confirm_verification(self, token: str) -> None:
        user = await self._redeem(token, VERIFY)
        user.email_verified = True
        user.updated_at = utcnow()

    # --- password reset ------------------------------------------------------------

    async def request_reset(self, email: str) -> None:
        """Queue a reset link if the address belongs to an active account (see
        `ResetRequests`: this runs after the answer has been sent)."""
        user = await self.repo.user_by_email(email.lower())
        if user is None or not user.active:
            return
        await self._mail_link(
            user,
            RESET,
            self.settings.password_reset_ttl,
            "reset-password",
            "Reset your password",
            "Someone asked to reset the password of your Conduit account. "
            "To choose a new password, open this link:",
            "If you did not ask for this, ignore this message: your password is unchanged.",
        )

    async def confirm_reset(self, token: str, password: str) -> None:
        """Set a new password with a reset token; every session of the user ends."""
        # Hash first: no lock is held while Argon2 runs.
        password_hash = await self.accounts.hash(password)
        user = await self._redeem(token, RESET)
        self.accounts.check_password(password, username=user.username, email=user.email)
        now = utcnow()
        user.password_hash = password_hash
        user.email_verified = True  # the link reached this address
        user.updated_at = now
        await self.repo.spend_email_tokens(user.id, RESET, now)
        await self.auth.logout_all(user.id)


class ResetRequests:
    """Password-reset requests, handled after the response has been sent.

    The answer (202, no body) is the same whether or not the address has an account, and so
    is its timing: nothing about the account is looked up, and nothing is written, before
    the response leaves. Queuing the link (a token and an outbox row, then a commit) would
    otherwise take measurably longer for a real account than for an unknown address.
    """

    def __init__(self, db: Database, flows: Callable[[AsyncSession], EmailFlows]) -> None:
        self.db = db
        self.flows = flows

    async def handle(self, email: str) -> None:
        """One unit of work of its own; a failure is logged (the client has its answer)."""
        try:
            async with self.db.session() as session:
                await self.flows(session).request_reset(email)
        except Exception as exc:
            logger.warning("password reset request failed: %s", type(exc).__name__)
