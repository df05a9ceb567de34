"""sessions and refresh tokens, user roles and deactivation, soft-deleted articles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:28:01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    op.create_index("ix_sessions_user_id", "sessions", ["user_id"])
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("used_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_refresh_tokens_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])
    # Plain ADD COLUMN on every backend: no SQLite table rebuild (which would drop the
    # expression index on lower(username)). Roles are checked by the application's enum.
    op.add_column("articles", sa.Column("deleted_at", TIMESTAMP, nullable=True))
    op.add_column(
        "users", sa.Column("role", sa.String(length=16), server_default="user", nullable=False)
    )
    op.add_column(
        "users", sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
    )


def downgrade() -> None:
    # SQLite >= 3.35 drops columns in place, so no rebuild here either.
    op.drop_column("users", "active")
    op.drop_column("users", "role")
    op.drop_column("articles", "deleted_at")
    op.drop_table("refresh_tokens")
    op.drop_table("sessions")
