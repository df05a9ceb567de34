"""Articles, tags and favorites, and the maintained counts of live articles."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    literal_column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from conduit.articles.limits import DESCRIPTION_MAX, SLUG_MAX, TAG_MAX, TITLE_MAX
from conduit.core.db import Base, UTCDateTime, utcnow


class Article(Base):
    __tablename__ = "articles"
    __table_args__ = (
        # Newest first, for the global list and (with author_id) the author filter and feed.
        Index("ix_articles_created_at_id", "created_at", "id"),
        # Live articles only: the feed reads each followed author's newest page from it.
        Index(
            "ix_articles_author_id_created_at_id",
            "author_id",
            "created_at",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Soft delete: a deleted article disappears everywhere but keeps its slug reserved.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TAG_MAX), unique=True)


class ArticleTag(Base):
    __tablename__ = "article_tags"
    __table_args__ = (
        # A tag's articles, newest first, from the index alone: a page of a tag on a million
        # articles reads its 20 entries instead of sorting every article with the tag.
        Index(
            "ix_article_tags_tag_id_article_created_at",
            "tag_id",
            "article_created_at",
            "article_id",
        ),
    )

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True)
    # The article's created_at (which never changes), copied when the tag is set.
    article_created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Favorite(Base):
    __tablename__ = "favorites"
    __table_args__ = (
        Index("ix_favorites_article_id", "article_id"),
        # A user's favorites, newest article first, from the index alone (as for tags).
        Index(
            "ix_favorites_user_id_article_created_at", "user_id", "article_created_at", "article_id"
        ),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The article's created_at (which never changes), copied when it is favorited.
    article_created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CountKind(IntEnum):
    """What an `ArticleCount` (and an `ArticleCountDelta`) row counts: stored, do not
    renumber."""

    ALL = 0  # every live article; subject_id 0
    AUTHOR = 1  # live articles by the user subject_id
    TAG = 2  # live articles carrying the tag subject_id
    FAVORITED = 3  # live articles the user subject_id has favorited

    def sql(self) -> Any:
        """The kind as a constant of the statement (not a bound parameter)."""
        return literal_column(str(int(self)), SmallInteger)


class ArticleCount(Base):
    """Counts of live articles (`deleted_at IS NULL`), so that `articlesCount` never counts
    the table: a count is the sum of `n` over its key's rows here and over its pending
    `ArticleCountDelta` rows (articles/counters.py).

    Only the fold (`CountUpkeep.fold`) and `conduit db recount` write this table, so no
    request ever waits on one of its rows. The fold writes slot 0; the other slots hold
    what writers added when they updated these rows themselves, before the deltas.
    `subject_id` is a user's or a tag's id depending on `kind` (no foreign key: neither is
    ever deleted by the application; `conduit db recount` rebuilds the table from the rows
    should anything else delete them).
    """

    __tablename__ = "article_counts"

    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    subject_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class ArticleCountDelta(Base):
    """A change of a count not folded into `ArticleCount` yet, inserted in the transaction
    of the change it counts. Writers only ever insert new rows here, which never wait on
    another transaction, where adding to a shared row (the global count, a popular tag's)
    would hold its lock until commit and queue every other writer of it."""

    __tablename__ = "article_count_deltas"
    __table_args__ = (
        Index("ix_article_count_deltas_kind_subject_id", "kind", "subject_id"),
        # A queue (rows live about a second): vacuumed whenever a few thousand are dead,
        # so that the count reads' index scans do not wade through them.
        {
            "postgresql_with": {
                "autovacuum_vacuum_scale_factor": 0,
                "autovacuum_vacuum_threshold": 2000,
                "autovacuum_vacuum_cost_delay": 0,
            }
        },
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[int] = mapped_column(SmallInteger)
    subject_id: Mapped[int] = mapped_column()
    n: Mapped[int] = mapped_column()
