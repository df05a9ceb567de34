"""All SQL for the maintained counts of live articles (`ArticleCount`), which spare
`articlesCount` a `count(*)` over the table: reading one is a sum over a few rows found by
primary key, whatever the number of articles.

They are exact because each change of what a count counts updates it in the same
transaction, inside ArticleRepository's write methods:

| change (of a live article)  | counts                                                  |
| --------------------------- | ------------------------------------------------------- |
| inserted                    | ALL, AUTHOR +1                                          |
| tags replaced               | TAG +1 for each tag added, -1 for each removed          |
| deleted / restored          | ALL, AUTHOR, TAG of each tag, FAVORITED of each fan -/+1 |
| favorited / unfavorited     | FAVORITED of the user +/-1, when a row really changed   |

The feed's count is the sum of the AUTHOR counts of the users one follows (tens of rows):
a count per follower would have to be touched, on every article of a popular author, for
each of their tens of thousands of followers.

Concurrency (PostgreSQL, READ COMMITTED): an update adds to its row (`n = n + delta`), so
concurrent writers never lose one another's changes; they queue on the row's lock, which
is why a hot key is split over several slots. Each write method takes its counter rows in
one statement, sorted by (kind, subject_id, slot), and a request's write methods come in
ascending kind order (an insert's ALL and AUTHOR before its tags; a deletion's ALL, AUTHOR
and TAG before FAVORITED): all writers take counter rows in one global order, so two of
them never wait on each other in a cycle.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Integer, String, bindparam, delete, func, insert, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.models import Article, ArticleCount, ArticleTag, CountKind, Favorite, Tag
from conduit.articles.schemas import ArticleFilter
from conduit.core.upsert import dialect_insert
from conduit.users.models import Follow, User

# How many rows a key is split over. The global count is touched by every article insert
# and deletion, a popular tag's by many; an author's and a fan's only by their own writes.
SLOTS = {CountKind.ALL: 16, CountKind.AUTHOR: 1, CountKind.TAG: 8, CountKind.FAVORITED: 1}

Delta = tuple[CountKind, int, int]  # kind, subject_id, change
# The kinds of count a list can be answered from, named as ArticleFilter's fields.
COUNTED = ("all", "tag", "author", "favorited_by", "feed_of")


def _count_of(kind: CountKind, subject: Any) -> Any:
    return select(func.coalesce(func.sum(ArticleCount.n), 0)).where(
        ArticleCount.kind == kind, subject
    )


def _user_id(param: str) -> Any:
    return select(User.id).where(User.username == bindparam(param, type_=String)).scalar_subquery()


def _tag_id(param: str) -> Any:
    return select(Tag.id).where(Tag.name == bindparam(param, type_=String)).scalar_subquery()


def count_statement(name: str, param: str = "subject") -> Any:
    """The statement of one kind of count ("all", "tag", "author", "favorited_by",
    "feed_of"); the filter's value is the bound parameter `param`."""
    subject = ArticleCount.subject_id
    if name == "all":
        return _count_of(CountKind.ALL, subject == 0)
    if name == "tag":
        return _count_of(CountKind.TAG, subject == _tag_id(param))
    if name == "author":
        return _count_of(CountKind.AUTHOR, subject == _user_id(param))
    if name == "favorited_by":
        return _count_of(CountKind.FAVORITED, subject == _user_id(param))
    if name == "feed_of":
        followed = select(Follow.followee_id).where(
            Follow.follower_id == bindparam(param, type_=Integer)
        )
        return _count_of(CountKind.AUTHOR, subject.in_(followed))
    raise ValueError(f"no count of {name!r}")


# Built once: building a statement per request cost more than running it.
_COUNTS = {name: count_statement(name) for name in COUNTED}


def count_answering(filters: Iterable[str]) -> str | None:
    """The count ("all" or the filter's name) that answers a list filtered by the named
    filters, if one does: one filter at most; combinations are counted from the rows."""
    used = list(filters)
    if len(used) > 1:
        return None
    return used[0] if used else "all"


def count_key(where: ArticleFilter) -> tuple[str, Any] | None:
    """Which count answers `where`, and the value of its filter."""
    filters = {
        "tag": where.tag,
        "author": where.author,
        "favorited_by": where.favorited_by,
        "feed_of": where.feed_of,
    }
    given = {name: value for name, value in filters.items() if value is not None}
    name = count_answering(given)
    return None if name is None else (name, given.get(name))


class ArticleCounters:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count(self, where: ArticleFilter) -> int | None:
        """How many live articles `where` matches, or None when no maintained count says."""
        key = count_key(where)
        if key is None:
            return None
        name, subject = key
        params = {} if subject is None else {"subject": subject}
        return int((await self.session.execute(_COUNTS[name], params)).scalar_one())

    async def popular_tags(self) -> list[str]:
        """The tags of live articles, most used first (then by name): from the TAG counts,
        a few rows per tag, rather than from every tag of every article."""
        uses = func.sum(ArticleCount.n)
        stmt = (
            select(Tag.name)
            .join(
                ArticleCount,
                (ArticleCount.kind == CountKind.TAG) & (ArticleCount.subject_id == Tag.id),
            )
            .group_by(Tag.id, Tag.name)
            .having(uses > 0)
            .order_by(uses.desc(), Tag.name)
        )
        return list((await self.session.scalars(stmt)).all())

    def _upsert(self) -> Any:
        stmt = dialect_insert(self.session, ArticleCount)
        return stmt.on_conflict_do_update(
            index_elements=[ArticleCount.kind, ArticleCount.subject_id, ArticleCount.slot],
            set_={"n": ArticleCount.n + stmt.excluded.n},
        )

    async def add(self, deltas: Iterable[Delta]) -> None:
        """Add each change to one slot, drawn at random, of its key: one statement."""
        merged: dict[tuple[CountKind, int], int] = {}
        for kind, subject_id, change in deltas:
            merged[kind, subject_id] = merged.get((kind, subject_id), 0) + change
        rows = sorted(
            (kind, subject_id, secrets.randbelow(SLOTS[kind]), change)
            for (kind, subject_id), change in merged.items()
            if change
        )
        if rows:
            values = [{"kind": k, "subject_id": s, "slot": slot, "n": n} for k, s, slot, n in rows]
            await self.session.execute(self._upsert().values(values))

    async def add_to_fans(self, article_id: int, change: int) -> None:
        """Add `change` to the FAVORITED count of everyone who favorited the article (when
        it is deleted or restored): one statement, rows in user order, however many fans."""
        fans = (
            select(
                literal(int(CountKind.FAVORITED)),
                Favorite.user_id,
                literal(0),
                literal(change),
            )
            .where(Favorite.article_id == article_id)
            .order_by(Favorite.user_id)
        )
        columns = ["kind", "subject_id", "slot", "n"]
        await self.session.execute(self._upsert().from_select(columns, fans))

    async def recount(self) -> None:
        """Rebuild every count from the rows (repair, e.g. after rows were deleted by hand).
        On PostgreSQL the table is locked first: writers of counts wait until the rebuild
        commits and then add their changes to it, so it is exact even under traffic."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            await self.session.execute(text("LOCK TABLE article_counts IN EXCLUSIVE MODE"))
        await self.session.execute(delete(ArticleCount))
        live = Article.deleted_at.is_(None)
        counted = [
            select(literal(int(CountKind.ALL)), literal(0), literal(0), func.count()).where(live),
            select(literal(int(CountKind.AUTHOR)), Article.author_id, literal(0), func.count())
            .where(live)
            .group_by(Article.author_id),
            select(literal(int(CountKind.TAG)), ArticleTag.tag_id, literal(0), func.count())
            .join(Article, Article.id == ArticleTag.article_id)
            .where(live)
            .group_by(ArticleTag.tag_id),
            select(literal(int(CountKind.FAVORITED)), Favorite.user_id, literal(0), func.count())
            .join(Article, Article.id == Favorite.article_id)
            .where(live)
            .group_by(Favorite.user_id),
        ]
        columns = ["kind", "subject_id", "slot", "n"]
        for rows in counted:
            await self.session.execute(insert(ArticleCount).from_select(columns, rows))
