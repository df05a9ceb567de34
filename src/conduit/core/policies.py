"""Policies declared on the routes: the rate-limit class and `Idempotency-Key` coverage.

A route's policy is declared where the route is declared, by `@policy(...)` directly under
its router's decorator; a route without one has the default policy. The middleware read
the policies from the application's route table (`PolicyTable.of(app.router.routes)`),
once, when the middleware stack is built at start-up: no path strings of their own.

`KeyedWrite` is what a keyed request of an idempotent route carries in its ASGI scope (put
there by the idempotency middleware): `SessionRoute` runs the route's work through it,
inside the request's unit of work, so that the key is recorded in the work's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

# `auth`: the strict per-IP limit (sign-up, logins, tokens, e-mail flows); `exempt`: never
# counted (probes and scrapers); `default`: the caller's `user` or `anon` bucket.
RateLimitClass = Literal["default", "auth", "exempt"]


@dataclass(frozen=True, slots=True)
class RoutePolicy:
    rate_limit: RateLimitClass = "default"
    # A signed-in POST with `Idempotency-Key` is claimed, replayed or refused in its unit of
    # work (`KeyedWrite`); only a POST route may say so.
    idempotent: bool = False


DEFAULT_POLICY = RoutePolicy()
_ATTRIBUTE = "__conduit_policy__"
_KEYED_WRITE = "conduit.keyed_write"  # the scope key of a request's `KeyedWrite`


class KeyedWrite(Protocol):
    """The `Idempotency-Key` of one request to an idempotent route (idempotency/service.py)."""

    async def run(self, session: AsyncSession, work: Callable[[], Awaitable[Response]]) -> Response:
        """Claim the key in `session`'s transaction, then replay, refuse or run `work` and
        record its response there too, before the unit of work commits."""
        ...


def with_keyed_write(scope: Scope, keyed: KeyedWrite) -> Scope:
    """A copy of `scope` that carries `keyed` to the route."""
    return {**scope, _KEYED_WRITE: keyed}


def keyed_write(scope: Scope) -> KeyedWrite | None:
    """The `KeyedWrite` the request carries, if any."""
    found: KeyedWrite | None = scope.get(_KEYED_WRITE)
    return found


E = TypeVar("E", bound=Callable[..., Any])


def policy(*, rate_limit: RateLimitClass = "default", idempotent: bool = False) -> Callable[[E], E]:
    """Declare the policy of the route whose endpoint this decorates (placed directly under
    the router's decorator, so that it applies before the route is made)."""
    declared = RoutePolicy(rate_limit=rate_limit, idempotent=idempotent)

    def declare(endpoint: E) -> E:
        setattr(endpoint, _ATTRIBUTE, declared)
        return endpoint

    return declare


def policy_of(route: BaseRoute) -> RoutePolicy:
    """The policy a route's endpoint declares; the default for one that declares none."""
    policy_: RoutePolicy = getattr(getattr(route, "endpoint", None), _ATTRIBUTE, DEFAULT_POLICY)
    return policy_


@dataclass(frozen=True, slots=True)
class PolicyTable:
    """The routes' policies by request path, for the middleware (which run before routing)."""

    # Every static path's rate-limit class; the templated paths that are not the default.
    static_limits: dict[str, RateLimitClass]
    templated_limits: tuple[tuple[re.Pattern[str], RateLimitClass], ...]
    # The paths of the idempotent POST routes, as one regex.
    idempotent_paths: re.Pattern[str]

    @classmethod
    def of(cls, routes: Iterable[BaseRoute]) -> PolicyTable:
        static: dict[str, RateLimitClass] = {}
        templated: list[tuple[re.Pattern[str], RateLimitClass]] = []
        idempotent: list[Route] = []
        for route in routes:
            if not isinstance(route, Route):
                continue
            declared = policy_of(route)
            if declared.idempotent:
                if route.methods != {"POST"}:
                    raise ValueError(f"{route.path}: only a POST route is idempotent")
                idempotent.append(route)
            if route.param_convertors:
                if declared.rate_limit != "default":
                    templated.append((route.path_regex, declared.rate_limit))
            elif static.setdefault(route.path, declared.rate_limit) != declared.rate_limit:
                raise ValueError(f"{route.path}: its routes declare different rate limits")
        return cls(static, tuple(templated), _one_regex(idempotent))

    def rate_limit(self, path: str) -> RateLimitClass:
        found = self.static_limits.get(path)
        if found is not None:
            return found
        for pattern, limit in self.templated_limits:
            if pattern.match(path):
                return limit
        return "default"

    def idempotent(self, path: str) -> bool:
        return self.idempotent_paths.fullmatch(path) is not None

    def paths(self, rate_limit: RateLimitClass) -> list[str]:
        """The static paths of one rate-limit class (for the CI's throttled run, the tests)."""
        return [path for path, limit in self.static_limits.items() if limit == rate_limit]


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def _one_regex(routes: list[Route]) -> re.Pattern[str]:
    """One regex matching the paths of all `routes` (none: nothing), so that a request is
    matched once: their own regexes as alternatives, their groups unnamed (names repeat)."""
    if not routes:
        return re.compile("(?!)")
    alternatives = (_NAMED_GROUP.sub("(?:", route.path_regex.pattern) for route in routes)
    return re.compile(
        "|".join(f"(?:{a.removeprefix('^').removesuffix('$')})" for a in alternatives)
    )
