"""The credentials a request presents, parsed in one place for every reader of them: the
routes' principal (`auth.dependencies`) and the middleware's identity (`auth.identity`).

`Authorization: Token <jwt>` (RealWorld) or `Authorization: Bearer <jwt>` carries an access
token; `X-API-Key: cdt_...` an API key. Both at once, or a malformed header, is `invalid`:
the routes answer it 401, the middleware counts the caller as anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers

AUTHORIZATION = "Authorization"
API_KEY = "X-API-Key"
_SCHEMES = frozenset({"token", "bearer"})
KEY_PREFIX = "cdt_"  # recognisable in logs and by secret scanners
KEY_MAX = 128  # an API key is longer than anything else the server issues but shorter than this


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str | None = None  # an access token
    key: str | None = None  # an API key, of the right shape
    # Why the credentials presented are unusable: the error's key and message.
    invalid: tuple[str, str] | None = None


NONE = Credentials()


def read_credentials(headers: Headers) -> Credentials:
    authorization = (headers.get(AUTHORIZATION) or "").strip()
    key = (headers.get(API_KEY) or "").strip()
    if authorization and key:
        return Credentials(invalid=("token", "send either Authorization or X-API-Key, not both"))
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() in _SCHEMES and token and " " not in token:
            return Credentials(token=token)
        return Credentials(invalid=("token", "is invalid"))
    if key:
        if key.startswith(KEY_PREFIX) and len(key) <= KEY_MAX:
            return Credentials(key=key)
        return Credentials(invalid=("api_key", "is invalid"))
    return NONE
