"""The Alembic migrations: they build the schema the models describe, enforce its rules in
the database itself, and go down to nothing and back up again.

Each test gets its own scratch database (a file for SQLite, a new database on the server
for PostgreSQL), never the one the rest of the suite uses. The tests are synchronous:
`command.upgrade` runs its own event loop.
"""

from __future__ import annotations

import asyncio
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, bindparam, func, inspect, select, table, text
from sqlalchemy.exc import IntegrityError, SAWarning

from bench.scales import SCALES
from bench.seed import seed
from conduit.cli import alembic_config
from conduit.core.config import Settings
from conduit.core.db import UTCDateTime, create_engine
from conduit.models import Base
from tests.conftest import _postgres_scratch

T = TypeVar("T")

# Every table the models declare: the migrations must build exactly these.
APP_TABLES = set(Base.metadata.tables)


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the suite's, dropped afterwards."""
    if database_url.startswith("postgresql"):
        url, drop = _postgres_scratch(database_url)
        try:
            yield url
        finally:
            drop()
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def migrated_url(scratch_url: str) -> str:
    command.upgrade(alembic_config(scratch_url), "head")
    return scratch_url


def on_connection(url: str, work: Callable[[Connection], T], *, commit: bool = True) -> T:
    """Run `work` on a sync connection of the app's own engine (same PRAGMAs on SQLite)."""

    async def go() -> T:
        engine = create_engine(Settings(_env_file=None, database_url=url))
        try:
            async with engine.connect() as conn:
                result = await conn.run_sync(work)
                if commit:
                    await conn.commit()
                else:
                    await conn.rollback()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(go())


def table_names(url: str) -> set[str]:
    return on_connection(url, lambda conn: set(inspect(conn).get_table_names()))


def revision(url: str) -> str | None:
    return on_connection(url, lambda conn: MigrationContext.configure(conn).get_current_revision())


# --- upgrade, downgrade, upgrade ---------------------------------------------------------


def test_upgrade_creates_every_table(migrated_url: str) -> None:
    assert table_names(migrated_url) == APP_TABLES | {"alembic_version"}
    assert revision(migrated_url) is not None


def test_a_fresh_upgrade_warns_of_nothing(scratch_url: str) -> None:
    """A first start migrates an empty database: nothing in it may warn (SQLite's batch
    mode once reflected `users`, whose expression index SQLAlchemy cannot reflect)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        command.upgrade(alembic_config(scratch_url), "head")
    assert [str(w.message) for w in caught if issubclass(w.category, SAWarning)] == []


def test_upgrade_is_idempotent(migrated_url: str) -> None:
    head = revision(migrated_url)
    command.upgrade(alembic_config(migrated_url), "head")
    assert revision(migrated_url) == head
    assert table_names(migrated_url) == APP_TABLES | {"alembic_version"}


def test_downgrade_to_base_removes_everything_and_upgrade_rebuilds(migrated_url: str) -> None:
    config = alembic_config(migrated_url)

    command.downgrade(config, "base")
    assert table_names(migrated_url) - {"alembic_version"} == set()
    assert revision(migrated_url) is None
    if migrated_url.startswith("postgresql"):
        leftovers = on_connection(
            migrated_url,
            lambda conn: set(
                conn.scalars(
                    text("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace")
                )
            ),
        )
        # Sequences and indexes go with their tables; only Alembic's own table remains.
        assert leftovers <= {"alembic_version", "alembic_version_pkc"}, leftovers

    command.upgrade(config, "head")
    assert table_names(migrated_url) == APP_TABLES | {"alembic_version"}
    insert_user(migrated_url, 1, "alice", "alice@example.com")
    assert count_users(migrated_url) == 1


def test_downgrade_drops_data_and_a_second_cycle_starts_empty(migrated_url: str) -> None:
    insert_user(migrated_url, 1, "alice", "alice@example.com")
    config = alembic_config(migrated_url)
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    assert count_users(migrated_url) == 0


# --- the models and the migrated schema agree ----------------------------------------------

# SQLite cannot reflect an expression index, so it is compared only where it can be.
IGNORED_INDEXES = {"uq_users_username_lower"}


def _diff_name(diff: Any) -> str | None:
    op = diff[0] if isinstance(diff, list) else diff
    obj = op[1] if isinstance(op, tuple) and len(op) > 1 else None
    return getattr(obj, "name", None)


def test_autogenerate_finds_no_difference(migrated_url: str) -> None:
    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*expression-based index.*")
            return list(compare_metadata(context, Base.metadata))

    diffs = on_connection(migrated_url, compare)
    relevant = [d for d in diffs if _diff_name(d) not in IGNORED_INDEXES]
    assert relevant == [], relevant


def test_case_insensitive_username_index_exists(migrated_url: str) -> None:
    if migrated_url.startswith("postgresql"):
        indexes = on_connection(migrated_url, lambda conn: inspect(conn).get_indexes("users"))
        unique = {index["name"] for index in indexes if index["unique"]}
        assert "uq_users_username_lower" in unique
    else:  # SQLite cannot reflect an expression index: read its definition
        sql = on_connection(
            migrated_url,
            lambda conn: conn.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'uq_users_username_lower'")
            ),
        )
        assert sql is not None
        assert "lower(username)" in sql.lower()
        assert "unique" in sql.lower()


# --- the database enforces the rules ---------------------------------------------------------

# Raw SQL with bound parameters; timestamps are bound as the app binds them.
USER = (
    "INSERT INTO users (id, username, email, password_hash, created_at, updated_at) "
    "VALUES (:id, :username, :email, 'x', :created_at, :updated_at)"
)
ARTICLE = (
    "INSERT INTO articles (id, slug, title, description, body, author_id, created_at, updated_at) "
    "VALUES (:id, :slug, 't', 'd', 'b', :author_id, :created_at, :updated_at)"
)
TAG = "INSERT INTO tags (id, name) VALUES (:id, :name)"
ARTICLE_TAG = (
    "INSERT INTO article_tags (article_id, tag_id, article_created_at) "
    "VALUES (:article_id, :tag_id, :created_at)"
)
FAVORITE = (
    "INSERT INTO favorites (user_id, article_id, created_at, article_created_at) "
    "VALUES (:user_id, :article_id, :created_at, :created_at)"
)
FOLLOW = (
    "INSERT INTO follows (follower_id, followee_id, created_at) "
    "VALUES (:follower_id, :followee_id, :created_at)"
)
COMMENT = (
    "INSERT INTO comments (id, body, article_id, author_id, created_at, updated_at) "
    "VALUES (:id, 'hi', :article_id, :author_id, :created_at, :updated_at)"
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
TIMESTAMPS = ("created_at", "updated_at")

Statement = tuple[str, dict[str, Any]]


def user(user_id: int, username: str, email: str | None) -> Statement:
    return USER, {"id": user_id, "username": username, "email": email}


def article(article_id: int, slug: str, author_id: int = 1, **extra: Any) -> Statement:
    return ARTICLE, {"id": article_id, "slug": slug, "author_id": author_id, **extra}


def execute(conn: Connection, *statements: Statement) -> None:
    for sql, params in statements:
        stamps = [name for name in TIMESTAMPS if f":{name}" in sql]
        clause = text(sql).bindparams(*(bindparam(name, type_=UTCDateTime) for name in stamps))
        conn.execute(clause, {**dict.fromkeys(stamps, NOW), **params})


def insert_user(url: str, user_id: int, username: str, email: str) -> None:
    on_connection(url, lambda conn: execute(conn, user(user_id, username, email)))


def count_users(url: str) -> int:
    return int(on_connection(url, lambda conn: conn.scalar(text("SELECT count(*) FROM users"))))


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


# --- the maintained article counts: backfilled from the rows ---------------------------------


def counts_from_rows(conn: Connection) -> dict[tuple[int, int], int]:
    """Live articles per (kind, subject), worked out here from the rows themselves."""
    articles = conn.execute(text("SELECT id, author_id, deleted_at FROM articles"))
    live = {article: author for article, author, deleted in articles if deleted is None}
    found: Counter[tuple[int, int]] = Counter({(0, 0): len(live)})
    found.update((1, author) for author in live.values())
    tagged = conn.execute(text("SELECT article_id, tag_id FROM article_tags"))
    found.update((2, tag) for article, tag in tagged if article in live)
    favorites = conn.execute(text("SELECT article_id, user_id FROM favorites"))
    found.update((3, user) for article, user in favorites if article in live)
    return {key: n for key, n in found.items() if n}


def maintained_counts(conn: Connection) -> dict[tuple[int, int], int]:
    sums = conn.execute(
        text("SELECT kind, subject_id, sum(n) FROM article_counts GROUP BY kind, subject_id")
    )
    return {(kind, subject): int(n) for kind, subject, n in sums if n}


def test_article_counts_are_backfilled_from_the_rows(scratch_url: str) -> None:
    # The benchmark's seeder loads rows by bulk SQL, then fills the counts by the app's recount.
    seed(scratch_url, SCALES["tiny"], show_progress=False)
    seeded = on_connection(scratch_url, counts_from_rows)
    assert {kind for kind, _ in seeded} == {0, 1, 2, 3}
    assert on_connection(scratch_url, maintained_counts) == seeded

    # Some articles deleted behind the application's back: only a rebuild sees it.
    on_connection(
        scratch_url,
        lambda conn: conn.execute(
            text("UPDATE articles SET deleted_at = updated_at WHERE id % 7 = 0")
        ),
    )
    config = alembic_config(scratch_url)
    assert on_connection(scratch_url, stale_sort_keys) == {"article_tags": 0, "favorites": 0}
    command.downgrade(config, "0005")
    assert "article_counts" not in table_names(scratch_url)
    command.upgrade(config, "head")
    expected = on_connection(scratch_url, counts_from_rows)
    assert expected[0, 0] == SCALES["tiny"].articles - SCALES["tiny"].articles // 7
    assert on_connection(scratch_url, maintained_counts) == expected
    # The tags' and favorites' copies of their article's created_at, filled in by 0007.
    assert on_connection(scratch_url, stale_sort_keys) == {"article_tags": 0, "favorites": 0}


def stale_sort_keys(conn: Connection) -> dict[str, int]:
    """Rows whose copy of their article's created_at differs from it."""
    return {
        table: int(
            conn.scalar(
                text(
                    f"SELECT count(*) FROM {table} x JOIN articles a ON a.id = x.article_id "  # noqa: S608
                    "WHERE x.article_created_at IS NULL OR x.article_created_at <> a.created_at"
                )
            )
            or 0
        )
        for table in ("article_tags", "favorites")
    }
