"""A profile as the JSON shows it: the one renderer of profiles, for the profile routes and
for every author embedded in an article or a comment."""

from __future__ import annotations

from typing import Any, Protocol


class Author(Protocol):
    """Whoever writes: what a write needs to show its author's profile (a `User`, the
    caller's `SignedInUser`)."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def bio(self) -> str | None: ...
    @property
    def image(self) -> str | None: ...


def profile(username: str, bio: str | None, image: str | None, following: Any) -> dict[str, Any]:
    """The fields of `ProfileRead`, camelCase, in its order (`following` may be SQLite's 0
    or 1)."""
    return {"username": username, "bio": bio, "image": image, "following": bool(following)}
