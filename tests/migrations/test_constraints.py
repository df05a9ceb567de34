"""The database itself enforces the rules: unique, not null, foreign keys, cascades."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, func, select, table, text
from sqlalchemy.exc import IntegrityError

from tests.migrations.support import (
    ARTICLE_TAG,
    COMMENT,
    FAVORITE,
    FOLLOW,
    TAG,
    Statement,
    article,
    execute,
    on_connection,
    user,
)

BASE_ROWS = [
    user(1, "alice", "alice@example.com"),
    user(2, "bob", "bob@example.com"),
    article(1, "hello"),
    (TAG, {"id": 1, "name": "python"}),
    (ARTICLE_TAG, {"article_id": 1, "tag_id": 1}),
    (FAVORITE, {"user_id": 2, "article_id": 1}),
    (FOLLOW, {"follower_id": 2, "followee_id": 1}),
    (COMMENT, {"id": 1, "article_id": 1, "author_id": 2}),
]

# name: (the violation, a statement of the same shape the database accepts)
CONSTRAINTS: dict[str, tuple[list[Statement], list[Statement]]] = {
    "users.email unique": (
        [user(3, "carol", "alice@example.com")],
        [user(3, "carol", "carol@example.com")],
    ),
    "users.username unique": (
        [user(3, "alice", "carol@example.com")],
        [user(3, "carol", "carol@example.com")],
    ),
    "users.username unique regardless of case": (
        [user(3, "ALICE", "carol@example.com")],
        [user(3, "alice2", "carol@example.com")],
    ),
    "users.email not null": (
        [user(3, "carol", None)],
        [user(3, "carol", "carol@example.com")],
    ),
    "articles.slug unique": ([article(2, "hello")], [article(2, "hello-2")]),
    "articles.author_id references users": (
        [article(2, "orphan", author_id=99)],
        [article(2, "orphan", author_id=2)],
    ),
    "articles.created_at not null": ([article(2, "x", created_at=None)], [article(2, "x")]),
    "tags.name unique": (
        [(TAG, {"id": 2, "name": "python"})],
        [(TAG, {"id": 2, "name": "rust"})],
    ),
    "article_tags primary key": (
        [(ARTICLE_TAG, {"article_id": 1, "tag_id": 1})],
        [(TAG, {"id": 2, "name": "rust"}), (ARTICLE_TAG, {"article_id": 1, "tag_id": 2})],
    ),
    "favorites primary key": (
        [(FAVORITE, {"user_id": 2, "article_id": 1})],
        [(FAVORITE, {"user_id": 1, "article_id": 1})],
    ),
    "favorites.article_id references articles": (
        [(FAVORITE, {"user_id": 1, "article_id": 99})],
        [(FAVORITE, {"user_id": 1, "article_id": 1})],
    ),
    "follows primary key": (
        [(FOLLOW, {"follower_id": 2, "followee_id": 1})],
        [(FOLLOW, {"follower_id": 1, "followee_id": 2})],
    ),
    "follows not self": (
        [(FOLLOW, {"follower_id": 1, "followee_id": 1})],
        [(FOLLOW, {"follower_id": 1, "followee_id": 2})],
    ),
    "comments.article_id references articles": (
        [(COMMENT, {"id": 2, "article_id": 99, "author_id": 1})],
        [(COMMENT, {"id": 2, "article_id": 1, "author_id": 1})],
    ),
}


@pytest.mark.parametrize(("violation", "allowed"), CONSTRAINTS.values(), ids=CONSTRAINTS.keys())
def test_database_enforces_constraint(
    migrated_url: str, violation: list[Statement], allowed: list[Statement]
) -> None:
    def attempt(conn: Connection) -> None:
        execute(conn, *BASE_ROWS)
        conn.commit()
        with pytest.raises(IntegrityError):
            execute(conn, *violation)
        conn.rollback()
        execute(conn, *allowed)  # the same shape of statement is otherwise fine

    on_connection(migrated_url, attempt)


def test_deleting_a_user_cascades_to_everything_they_own(migrated_url: str) -> None:
    def delete_alice(conn: Connection) -> dict[str, int]:
        execute(conn, *BASE_ROWS)
        conn.execute(text("DELETE FROM users WHERE id = 1"))
        names = ["users", "articles", "article_tags", "favorites", "follows", "comments", "tags"]
        return {
            name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
            for name in names
        }

    counts = on_connection(migrated_url, delete_alice, commit=False)
    # Alice's article goes, and with it its tag links, favorites and comments;
    # Bob's follow of Alice goes too. The tag itself stays.
    assert counts == {
        "users": 1,
        "articles": 0,
        "article_tags": 0,
        "favorites": 0,
        "follows": 0,
        "comments": 0,
        "tags": 1,
    }
