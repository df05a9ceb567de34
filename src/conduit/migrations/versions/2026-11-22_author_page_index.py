"""an author's live articles indexed newest first, the id as tie-break (partial: live rows
only), so that the feed reads each followed author's newest page from the index alone

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 11:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

LIVE = sa.text("deleted_at IS NULL")

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_articles_author_id_created_at_id",
        "articles",
        ["author_id", "created_at", "id"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.drop_index("ix_articles_author_id_created_at", table_name="articles")


def downgrade() -> None:
    op.create_index("ix_articles_author_id_created_at", "articles", ["author_id", "created_at"])
    op.drop_index("ix_articles_author_id_created_at_id", table_name="articles")
