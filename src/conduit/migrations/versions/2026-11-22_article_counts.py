"""maintained counts of live articles (articlesCount without a count over the table)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 10:30:00

Backfilled from the rows, one slot per key (the application spreads later changes of a key
over its slots). kind: 0 all (subject 0), 1 by author (user id), 2 by tag (tag id),
3 favorited by (user id); only live articles (deleted_at IS NULL) count.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = (
    "INSERT INTO article_counts (kind, subject_id, slot, n) "
    "SELECT 0, 0, 0, count(*) FROM articles WHERE deleted_at IS NULL",
    "INSERT INTO article_counts (kind, subject_id, slot, n) "
    "SELECT 1, author_id, 0, count(*) FROM articles WHERE deleted_at IS NULL "
    "GROUP BY author_id",
    "INSERT INTO article_counts (kind, subject_id, slot, n) "
    "SELECT 2, t.tag_id, 0, count(*) FROM article_tags t "
    "JOIN articles a ON a.id = t.article_id WHERE a.deleted_at IS NULL GROUP BY t.tag_id",
    "INSERT INTO article_counts (kind, subject_id, slot, n) "
    "SELECT 3, f.user_id, 0, count(*) FROM favorites f "
    "JOIN articles a ON a.id = f.article_id WHERE a.deleted_at IS NULL GROUP BY f.user_id",
)


def upgrade() -> None:
    op.create_table(
        "article_counts",
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("subject_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "subject_id", "slot", name=op.f("pk_article_counts")),
    )
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("article_counts")
