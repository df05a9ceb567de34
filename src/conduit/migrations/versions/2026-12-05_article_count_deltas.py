"""count deltas: writers append a row per change instead of adding to a shared counter row,
and a periodic fold moves them into article_counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A queue: its rows are deleted within a second or so of their insert. Vacuumed whenever a
# few thousand are dead, whatever the table's size, so that the count reads' index scans do
# not wade through them (as conduit.articles.models.ArticleCountDelta declares).
QUEUE_VACUUM = (
    "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, "
    "autovacuum_vacuum_cost_delay = 0"
)


def upgrade() -> None:
    op.create_table(
        "article_count_deltas",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_count_deltas")),
    )
    op.create_index(
        "ix_article_count_deltas_kind_subject_id",
        "article_count_deltas",
        ["kind", "subject_id"],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE article_count_deltas SET ({QUEUE_VACUUM})")


def downgrade() -> None:
    # The pending changes go into the counts first, so that they stay exact.
    op.execute(
        "INSERT INTO article_counts (kind, subject_id, slot, n) "
        "SELECT kind, subject_id, 0, sum(n) FROM article_count_deltas "
        "GROUP BY kind, subject_id "
        "ON CONFLICT (kind, subject_id, slot) DO UPDATE SET n = article_counts.n + excluded.n"
    )
    op.drop_index("ix_article_count_deltas_kind_subject_id", table_name="article_count_deltas")
    op.drop_table("article_count_deltas")
