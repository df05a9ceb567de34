"""The maintained article counts, backfilled from the rows by the migrations."""

from __future__ import annotations

from collections import Counter

from alembic import command
from sqlalchemy import Connection, text

from bench.scales import SCALES
from bench.seed import seed
from conduit.cli import alembic_config
from tests.migrations.support import on_connection, table_names


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
