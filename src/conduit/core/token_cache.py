"""Access tokens verified once, then remembered until they expire.

A signed-in request has its token decoded twice (the rate limiter's idea of who is calling,
then the route's authentication), and a client sends the same token with request after
request; PyJWT's verification of one token is most of a signed-in request's fixed cost.
`CachingTokenCodec.decode` keeps the claims of each token it has verified, under the exact
token string, and checks the expiry on every use as PyJWT does (valid while now < `exp`).

Only tokens that passed verification are kept, so a forged, expired or not-yet-valid token
is verified, and refused, every time. At most `size` tokens are kept; the table is emptied
when it is full. Nothing else changes: whether the token's session is still live (logout,
revocation) is checked in the database by the routes, on every request, as before.
"""

from __future__ import annotations

import time

from conduit.core.config import Settings
from conduit.core.security import TokenClaims, TokenCodec

CACHE_SIZE = 4096  # tokens


class CachingTokenCodec(TokenCodec):
    def __init__(self, settings: Settings, *, size: int = CACHE_SIZE) -> None:
        super().__init__(settings)
        self._size = size
        self.clock = time.time  # seconds since the epoch; tests may move it
        # token -> (its claims, its expiry as a POSIX timestamp)
        self._verified: dict[str, tuple[TokenClaims, float]] = {}

    def decode(self, token: str) -> TokenClaims:
        found = self._verified.get(token)
        if found is not None:
            if self.clock() < found[1]:
                return found[0]
            self._verified.pop(token, None)
        claims = super().decode(token)  # raises InvalidToken: nothing is kept
        if len(self._verified) >= self._size:
            self._verified.clear()
        self._verified[token] = (claims, claims.expires_at.timestamp())
        return claims
