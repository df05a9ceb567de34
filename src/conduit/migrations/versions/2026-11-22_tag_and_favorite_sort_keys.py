"""the article's created_at on its tags and favorites, indexed: a tag's or a user's favorites
page read newest first from an index instead of sorting all of them

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
TABLES = ("article_tags", "favorites")


def _copy_created_at(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"UPDATE {table} SET article_created_at = a.created_at "  # noqa: S608 - constants
            f"FROM articles a WHERE a.id = {table}.article_id"
        )
    else:
        op.execute(
            f"UPDATE {table} SET article_created_at = "  # noqa: S608 - constants
            f"(SELECT created_at FROM articles WHERE articles.id = {table}.article_id)"
        )


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("article_created_at", TIMESTAMP, nullable=True))
        _copy_created_at(table)
        # Only this table is reflected, not the ones it refers to: reflecting `users` would
        # meet its expression index, which SQLite reflection cannot represent (a warning).
        with op.batch_alter_table(table, reflect_kwargs={"resolve_fks": False}) as batch:
            batch.alter_column("article_created_at", existing_type=TIMESTAMP, nullable=False)
    # The new index leads with tag_id and holds article_id too: it replaces the old one.
    op.drop_index("ix_article_tags_tag_id_article_id", table_name="article_tags")
    op.create_index(
        "ix_article_tags_tag_id_article_created_at",
        "article_tags",
        ["tag_id", "article_created_at", "article_id"],
    )
    op.create_index(
        "ix_favorites_user_id_article_created_at",
        "favorites",
        ["user_id", "article_created_at", "article_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_favorites_user_id_article_created_at", table_name="favorites")
    op.drop_index("ix_article_tags_tag_id_article_created_at", table_name="article_tags")
    op.create_index("ix_article_tags_tag_id_article_id", "article_tags", ["tag_id", "article_id"])
    for table in TABLES:  # SQLite >= 3.35 drops a column in place
        op.drop_column(table, "article_created_at")
