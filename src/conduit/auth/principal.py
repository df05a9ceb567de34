"""The caller of a request: one `Principal`, whichever credentials it presented."""

from __future__ import annotations

from dataclasses import dataclass

from conduit.auth.permissions import ROLE_PERMISSIONS, Permission, Role, Scope
from conduit.auth.schemas import SignedInUser


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What makes an access token usable, to be confirmed in the database: its session
    (`session_id`) is its user's, neither revoked nor expired, and the user is active
    (`auth.models.live_session`)."""

    user_id: int
    session_id: str


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: a user, through a session (an access token) or an API key (scopes).

    `user` is the account as the credential check read it from the database. The article
    reads make that check in their own statement instead, saving it a round trip: they
    take the caller before it (`unconfirmed`), with no `user`, and `token_check` is what
    their statement must confirm."""

    user_id: int
    user: SignedInUser | None = None
    token: str = ""  # the access token presented; empty for an API key
    session_id: str | None = None  # None for an API key
    scopes: frozenset[Scope] | None = None  # None: a session, not limited by scopes

    @classmethod
    def unconfirmed(cls, user_id: int, session_id: str, token: str) -> Principal:
        """The caller named by an access token whose signature and expiry hold, its session
        not checked yet."""
        return cls(user_id, token=token, session_id=session_id)

    @property
    def token_check(self) -> TokenCheck | None:
        """The check a read still has to make, or None when the credentials were checked."""
        if self.user is not None or self.session_id is None:
            return None
        return TokenCheck(self.user_id, self.session_id)

    @property
    def account(self) -> SignedInUser:
        """The caller's account, once its credentials were checked."""
        if self.user is None:
            raise ValueError("the account of a caller whose token is not yet checked")
        return self.user

    @property
    def role(self) -> Role:
        return Role(self.account.role)

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]
