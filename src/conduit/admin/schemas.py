"""Admin request and response bodies (flat JSON, camelCase; lists as API.md says)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from conduit.auth.permissions import Role
from conduit.core.schemas import CamelModel, Timestamp


class AdminUserRead(CamelModel):
    username: str
    email: str
    role: Role
    active: bool
    bio: str | None
    image: str | None
    created_at: Timestamp


class AdminUserUpdate(CamelModel):
    """Both optional, neither nullable. Deactivating a user ends their sessions at once."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "moderator", "active": True}]}
    )

    role: Role = Field(default=None)  # type: ignore[assignment]
    active: bool = Field(default=None)  # type: ignore[assignment]


class UserPage(BaseModel):
    items: list[AdminUserRead]
    page: int
    limit: int
    total_count: int
