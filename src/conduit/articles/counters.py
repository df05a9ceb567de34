"""All SQL for the maintained counts of live articles, which spare `articlesCount` a
`count(*)` over the table: reading one is a sum over a few rows found by index, whatever
the number of articles.

A count is the sum of its rows in `article_counts` and of its pending rows in
`article_count_deltas`, read in one statement, so in one snapshot. Every change of what a
count counts inserts its deltas in the transaction of the change, inside
ArticleRepository's write methods:

| change (of a live article)  | deltas                                                   |
| --------------------------- | -------------------------------------------------------- |
| inserted                    | ALL, AUTHOR, TAG of each tag +1                          |
| tags replaced               | TAG +1 for each tag added, -1 for each removed           |
| deleted / restored          | ALL, AUTHOR, TAG of each tag, FAVORITED of each fan -/+1 |
| favorited / unfavorited     | FAVORITED of the user +/-1, when a row really changed    |

Writers only insert: a new row never waits on another transaction, so concurrent creators
sharing a tag (or the global count) do not queue on one row's lock, as they did when each
added to the counter row itself. `fold`, run in the background by every process
(articles/worker.py, every `COUNTS_FOLD_INTERVAL` seconds), moves committed deltas into
`article_counts` in one transaction: a reader sees them on one side or the other, never
both or neither.

The feed's count is the sum of the AUTHOR counts of the users one follows (tens of keys):
a count per follower would have to be touched, on every article of a popular author, for
each of their tens of thousands of followers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Integer,
    SmallInteger,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from conduit.articles.models import (
    Article,
    ArticleCount,
    ArticleCountDelta,
    ArticleTag,
    CountKind,
    Favorite,
    Tag,
)
from conduit.articles.schemas import ArticleFilter
from conduit.core.upsert import dialect_insert
from conduit.users.models import Follow, User

Delta = tuple[CountKind, int, int]  # kind, subject_id, change
# The kinds of count a list can be answered from, named as ArticleFilter's fields.
COUNTED = ("all", "tag", "author", "favorited_by", "feed_of")
FOLD_BATCH = 10_000  # deltas moved by one fold at most

_counts = cast(Table, ArticleCount.__table__)
_deltas = cast(Table, ArticleCountDelta.__table__)
_articles = cast(Table, Article.__table__)
_article_tags = cast(Table, ArticleTag.__table__)
_favorites = cast(Table, Favorite.__table__)
_tags = cast(Table, Tag.__table__)


def _kind(kind: CountKind) -> Any:
    return literal_column(str(int(kind)), SmallInteger)


Subject = Callable[[Any], Any]  # the condition on a subject_id column


def _count_of(kind: CountKind, subject: Subject) -> Any:
    both = union_all(
        select(_counts.c.n).where(_counts.c.kind == _kind(kind), subject(_counts.c.subject_id)),
        select(_deltas.c.n).where(_deltas.c.kind == _kind(kind), subject(_deltas.c.subject_id)),
    ).subquery("counted")
    return select(func.coalesce(func.sum(both.c.n), 0))


def _user_id(param: str) -> Any:
    return select(User.id).where(User.username == bindparam(param, type_=String)).scalar_subquery()


def _tag_id(param: str) -> Any:
    return select(Tag.id).where(Tag.name == bindparam(param, type_=String)).scalar_subquery()


def count_statement(name: str, param: str = "subject") -> Any:
    """The statement of one kind of count ("all", "tag", "author", "favorited_by",
    "feed_of"); the filter's value is the bound parameter `param`."""
    if name == "all":
        return _count_of(CountKind.ALL, lambda subject: subject == 0)
    if name == "tag":
        return _count_of(CountKind.TAG, lambda subject: subject == _tag_id(param))
    if name == "author":
        return _count_of(CountKind.AUTHOR, lambda subject: subject == _user_id(param))
    if name == "favorited_by":
        return _count_of(CountKind.FAVORITED, lambda subject: subject == _user_id(param))
    if name == "feed_of":
        followed = select(Follow.followee_id).where(
            Follow.follower_id == bindparam(param, type_=Integer)
        )
        return _count_of(CountKind.AUTHOR, lambda subject: subject.in_(followed))
    raise ValueError(f"no count of {name!r}")


# Built once: building a statement per request cost more than running it.
_COUNTS = {name: count_statement(name) for name in COUNTED}


def _popular_tags() -> Any:
    both = union_all(
        select(_counts.c.subject_id, _counts.c.n).where(_counts.c.kind == _kind(CountKind.TAG)),
        select(_deltas.c.subject_id, _deltas.c.n).where(_deltas.c.kind == _kind(CountKind.TAG)),
    ).subquery("counted")
    uses = func.sum(both.c.n)
    return (
        select(_tags.c.name)
        .join(both, both.c.subject_id == _tags.c.id)
        .group_by(_tags.c.id, _tags.c.name)
        .having(uses > 0)
        .order_by(uses.desc(), _tags.c.name)
    )


POPULAR_TAGS = _popular_tags()

_ADD = insert(_deltas).inline()  # one parameter set per delta; no id fetched back


def _article_deltas() -> Any:
    """The deltas of an article entering (`change` +1) or leaving (-1) the live ones: the
    global count, its author's, each of its tags' and each of its fans'."""
    article = bindparam("article_id", type_=Integer)
    change = bindparam("change", type_=Integer)
    rows = union_all(
        select(_kind(CountKind.ALL), literal_column("0", Integer), change),
        select(_kind(CountKind.AUTHOR), _articles.c.author_id, change).where(
            _articles.c.id == article
        ),
        select(_kind(CountKind.TAG), _article_tags.c.tag_id, change).where(
            _article_tags.c.article_id == article
        ),
        select(_kind(CountKind.FAVORITED), _favorites.c.user_id, change).where(
            _favorites.c.article_id == article
        ),
    )
    return insert(_deltas).from_select(["kind", "subject_id", "n"], rows)


_ARTICLE_DELTAS = _article_deltas()


def new_article_deltas(article: Any, linked: Any) -> Any:
    """The deltas of a new article, in the statement that inserts it (PostgreSQL's
    data-modifying CTEs, which cannot see each other's rows but their RETURNING):
    `article` returns the new row's `author_id` (no row: nothing counted), `linked` the
    `tag_id` of each of its tags."""
    one = literal_column("1", Integer)
    rows = union_all(
        select(_kind(CountKind.ALL), literal_column("0", Integer), one).select_from(article),
        select(_kind(CountKind.AUTHOR), article.c.author_id, one),
        select(_kind(CountKind.TAG), linked.c.tag_id, one),
    )
    return insert(_deltas).from_select(["kind", "subject_id", "n"], rows)


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

    async def add(self, deltas: Iterable[Delta]) -> None:
        """Record each change: one statement, one row per key that changed."""
        merged: dict[tuple[CountKind, int], int] = {}
        for kind, subject_id, change in deltas:
            merged[kind, subject_id] = merged.get((kind, subject_id), 0) + change
        rows = [
            {"kind": int(kind), "subject_id": subject_id, "n": n}
            for (kind, subject_id), n in merged.items()
            if n
        ]
        if rows:
            await self.session.execute(_ADD, rows)

    async def add_article(self, article_id: int, change: int) -> None:
        """Record a live article's arrival (+1) or departure (-1) in every count that
        counts it (see `_article_deltas`): one statement, however many tags and fans."""
        await self.session.execute(_ARTICLE_DELTAS, {"article_id": article_id, "change": change})

    async def fold(self, batch: int = FOLD_BATCH) -> int:
        """Move the oldest committed deltas into the counts; how many were moved. Two
        folds at once each move rows the other did not take, and add to the counts' rows
        in one order (sorted keys), so that they never deadlock."""
        taken = (await self.session.execute(_TAKE, {"batch": batch})).all()
        sums: dict[tuple[int, int], int] = {}
        for kind, subject_id, n in taken:
            sums[kind, subject_id] = sums.get((kind, subject_id), 0) + n
        rows = [
            {"kind": kind, "subject_id": subject_id, "slot": 0, "n": n}
            for (kind, subject_id), n in sorted(sums.items())
            if n
        ]
        if rows:
            await self.session.execute(_fold_upsert(_dialect(self.session)), rows)
        return len(taken)

    async def recount(self) -> None:
        """Rebuild every count from the rows (repair, e.g. after rows were deleted by hand).
        On PostgreSQL both tables are locked first, in the order a fold takes them: writers
        of deltas wait until the rebuild commits and then add theirs to it, so it is exact
        even under traffic."""
        if _dialect(self.session) == "postgresql":
            await self.session.execute(
                text("LOCK TABLE article_count_deltas, article_counts IN EXCLUSIVE MODE")
            )
        await self.session.execute(delete(_deltas))
        await self.session.execute(delete(_counts))
        live = _articles.c.deleted_at.is_(None)
        zero = literal_column("0", Integer)
        counted = [
            select(_kind(CountKind.ALL), zero, zero, func.count()).where(live),
            select(_kind(CountKind.AUTHOR), _articles.c.author_id, zero, func.count())
            .where(live)
            .group_by(_articles.c.author_id),
            select(_kind(CountKind.TAG), _article_tags.c.tag_id, zero, func.count())
            .join(_articles, _articles.c.id == _article_tags.c.article_id)
            .where(live)
            .group_by(_article_tags.c.tag_id),
            select(_kind(CountKind.FAVORITED), _favorites.c.user_id, zero, func.count())
            .join(_articles, _articles.c.id == _favorites.c.article_id)
            .where(live)
            .group_by(_favorites.c.user_id),
        ]
        columns = ["kind", "subject_id", "slot", "n"]
        for rows in counted:
            await self.session.execute(insert(_counts).from_select(columns, rows))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name
