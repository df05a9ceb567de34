"""The registry of domains: one line for each package of `conduit` besides `core` (what
every domain builds on), `migrations` (the schema's history) and `scaffold` (the generator
that writes new domains and adds their lines here).

The application is assembled from this list, explicitly: `conduit.api` mounts each
domain's routers, in the order given here, and `conduit.models` imports each domain's
models, so that `Base.metadata` holds every table (Alembic, the mapper registry).
tests/test_architecture.py checks the rest against it: the API-key scopes
(`conduit.auth.permissions.Scope`), the import-linter contracts in pyproject.toml, and that
no package is left out. A new domain is its package, one line here and a migration.

This module is data only: it imports no domain, so that reading it loads nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Domain:
    # The package, `conduit.<name>`.
    name: str
    # The `APIRouter`s of `conduit.<name>.router`, by attribute, mounted in this order.
    routers: tuple[str, ...] = ("router",)
    # Mounted at the root (operational routes for probes and scrapers) instead of under
    # the API prefix and its pinned version, `/api/v1`.
    at_root: bool = False
    # `conduit.<name>.models` declares tables.
    models: bool = False
    # The API-key scope that the domain's writes need, where it has one of its own.
    scope: str | None = None

    def module(self, name: str) -> str:
        """The dotted name of one of the package's modules: `module("router")`."""
        return f"conduit.{self.name}.{name}"


# The API's routes are tried in this order, the hot reads first (no two domains' paths
# overlap, so the order changes no answer).
DOMAINS: tuple[Domain, ...] = (
    Domain("articles", models=True, scope="articles:write"),  # and favorites, tags, feed
    Domain("users", models=True, scope="profile:write"),  # the user's own profile, follows
    Domain("comments", models=True, scope="comments:write"),
    Domain("auth", routers=("router", "keys_router"), models=True),
    Domain("admin", scope="admin"),  # only an admin's key may hold it
    Domain("uploads"),
    Domain("ops", at_root=True),  # health, readiness, metrics
    # No routes of their own: safe retries of writes, and mail sent after commit.
    Domain("idempotency", routers=(), models=True),
    Domain("outbox", routers=(), models=True),
)
