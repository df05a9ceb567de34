"""Upkeep of the maintained counts (articles/counters.py), outside requests: the fold
of the pending deltas into `article_counts` (every process, in the background:
articles/worker.py) and the rebuild of both from the rows (`conduit db recount`)."""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.models import (
    Article,
    ArticleCount,
    ArticleCountDelta,
    ArticleTag,
    CountKind,
    Favorite,
)
from conduit.core.upsert import dialect_insert

FOLD_BATCH = 10_000  # deltas moved by one fold at most

_counts = cast(Table, ArticleCount.__table__)
_deltas = cast(Table, ArticleCountDelta.__table__)
_articles = cast(Table, Article.__table__)
_article_tags = cast(Table, ArticleTag.__table__)
_favorites = cast(Table, Favorite.__table__)


# The oldest deltas, removed and returned: the rows a fold moves.
_TAKE = (
    delete(_deltas)
    .where(
        _deltas.c.id.in_(
            select(_deltas.c.id).order_by(_deltas.c.id).limit(bindparam("batch", type_=Integer))
        )
    )
    .returning(_deltas.c.kind, _deltas.c.subject_id, _deltas.c.n)
)


@cache
def _fold_upsert(dialect: str) -> Any:
    """Adds to a key's slot 0, one parameter set per key."""
    stmt = dialect_insert(dialect, _counts)
    return stmt.on_conflict_do_update(
        index_elements=[_counts.c.kind, _counts.c.subject_id, _counts.c.slot],
        set_={"n": _counts.c.n + stmt.excluded.n},
    )


class CountUpkeep:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def fold(self, batch: int = FOLD_BATCH) -> int:
        """Move the oldest committed deltas into the counts; how many were moved. Two
        folds at once each move rows the other did not take, and add to the counts' rows
        in one order (sorted keys), so that they never deadlock."""
        taken = (await self.session.execute(_TAKE, {"batch": batch})).all()
        sums: dict[tuple[int, int], int] = {}
        for kind, subject_id, n in taken:
            sums[kind, subject_id] = sums.get((kind, subject_id), 0) + n
        keys = sorted(key for key, n in sums.items() if n)
        rows = [{"kind": k, "subject_id": s, "slot": 0, "n": sums[k, s]} for k, s in keys]
        if rows:
            await self.session.execute(_fold_upsert(self._dialect()), rows)
        return len(taken)

    async def recount(self) -> None:
        """Rebuild every count from the rows (repair, e.g. after rows were deleted by hand).
        On PostgreSQL both tables are locked first, in the order a fold takes them: writers
        of deltas wait until the rebuild commits and then add theirs to it, so it is exact
        even under traffic."""
        if self._dialect() == "postgresql":
            await self.session.execute(
                text("LOCK TABLE article_count_deltas, article_counts IN EXCLUSIVE MODE")
            )
        await self.session.execute(delete(_deltas))
        await self.session.execute(delete(_counts))
        live = _articles.c.deleted_at.is_(None)
        zero = literal_column("0", Integer)
        counted = [
            select(CountKind.ALL.sql(), zero, zero, func.count()).where(live),
            select(CountKind.AUTHOR.sql(), _articles.c.author_id, zero, func.count())
            .where(live)
            .group_by(_articles.c.author_id),
            select(CountKind.TAG.sql(), _article_tags.c.tag_id, zero, func.count())
            .join(_articles, _articles.c.id == _article_tags.c.article_id)
            .where(live)
            .group_by(_article_tags.c.tag_id),
            select(CountKind.FAVORITED.sql(), _favorites.c.user_id, zero, func.count())
            .join(_articles, _articles.c.id == _favorites.c.article_id)
            .where(live)
            .group_by(_favorites.c.user_id),
        ]
        columns = ["kind", "subject_id", "slot", "n"]
        for rows in counted:
            await self.session.execute(insert(_counts).from_select(columns, rows))
