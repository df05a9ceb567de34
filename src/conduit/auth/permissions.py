"""Roles and what each may do: the permission map, in code."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    USER = "user"
    MODERATOR = "moderator"
    ADMIN = "admin"


class Permission(StrEnum):
    DELETE_ANY_ARTICLE = "delete_any_article"
    DELETE_ANY_COMMENT = "delete_any_comment"
    RESTORE_ARTICLE = "restore_article"
    MANAGE_USERS = "manage_users"
    MANAGE_ALL_ITEMS = "manage_all_items"  # every item of a generated resource, whoever owns it


_MODERATION = frozenset(
    {Permission.DELETE_ANY_ARTICLE, Permission.DELETE_ANY_COMMENT, Permission.RESTORE_ARTICLE}
)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.USER: frozenset(),
    Role.MODERATOR: _MODERATION,
    Role.ADMIN: frozenset(Permission),
}


class Scope(StrEnum):
    """What an API key may do besides reading. Reads need no scope."""

    ARTICLES_WRITE = "articles:write"  # articles and favorites
    COMMENTS_WRITE = "comments:write"
    PROFILE_WRITE = "profile:write"  # the user's own profile and follows
    ADMIN = "admin"  # admin endpoints; only an admin's key may hold it
