"""The models and the migrated schema agree."""

from __future__ import annotations

import warnings
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from conduit.models import Base
from tests.migrations.support import on_connection

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
