"""sessions end after a spell of idleness too: each session's idle expiry, moved forward
while it is used

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("sessions", sa.Column("idle_expires_at", TIMESTAMP, nullable=True))
    # A session that exists already has been idle for no known time: it keeps its absolute
    # expiry until its next use moves the idle one.
    op.execute("UPDATE sessions SET idle_expires_at = expires_at")
    # Only this table is reflected on SQLite, not `users`, whose expression index SQLite
    # reflection cannot represent.
    with op.batch_alter_table("sessions", reflect_kwargs={"resolve_fks": False}) as batch:
        batch.alter_column("idle_expires_at", existing_type=TIMESTAMP, nullable=False)


def downgrade() -> None:
    op.drop_column("sessions", "idle_expires_at")
