"""Upgrade, downgrade, upgrade: every table built, nothing left behind, data gone."""

from __future__ import annotations

import warnings

from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import SAWarning

from conduit.cli import alembic_config
from conduit.models import Base
from tests.migrations.support import execute, on_connection, table_names, user

# Every table the models declare: the migrations must build exactly these.
APP_TABLES = set(Base.metadata.tables)


def revision(url: str) -> str | None:
    return on_connection(url, lambda conn: MigrationContext.configure(conn).get_current_revision())


def insert_user(url: str, user_id: int, username: str, email: str) -> None:
    on_connection(url, lambda conn: execute(conn, user(user_id, username, email)))


def count_users(url: str) -> int:
    return int(on_connection(url, lambda conn: conn.scalar(text("SELECT count(*) FROM users"))))


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
