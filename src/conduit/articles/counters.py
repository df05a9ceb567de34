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
added to the counter row itself. The fold (articles/upkeep.py), run by every process
(articles/worker.py, every `COUNTS_FOLD_INTERVAL` seconds), moves committed deltas into
`article_counts` in one transaction: a reader sees them on one side or the other, never
both or neither.

The feed's count is the sum of the AUTHOR counts of the users one follows (tens of keys),
not a count per follower, which every article of a popular author would have to touch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from sqlalchemy import (
    Integer,
    String,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    select,
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
from conduit.users.models import Follow, User

Delta = tuple[CountKind, int, int]  # kind, subject_id, change
# The kinds of count a list can be answered from, named as ArticleFilter's fields.
COUNTED = ("all", "tag", "author", "favorited_by", "feed_of")

_counts = cast(Table, ArticleCount.__table__)
_deltas = cast(Table, ArticleCountDelta.__table__)
_articles = cast(Table, Article.__table__)
_article_tags = cast(Table, ArticleTag.__table__)
_favorites = cast(Table, Favorite.__table__)
_tags = cast(Table, Tag.__table__)
_users = cast(Table, User.__table__)


Subject = Callable[[Any], Any]  # the condition on a subject_id column


def _counted(kind: CountKind, subject: Subject | None, *columns: str) -> Any:
    """The rows of one kind of count, folded and pending alike: a subquery of `columns`."""
    parts = []
    for table in (_counts, _deltas):
        rows = select(*(table.c[name] for name in columns)).where(table.c.kind == kind.sql())
        parts.append(rows if subject is None else rows.where(subject(table.c.subject_id)))
    return union_all(*parts).subquery("counted")


def _count_of(kind: CountKind, subject: Subject) -> Any:
    return select(func.coalesce(func.sum(_counted(kind, subject, "n").c.n), 0))


def _insert_deltas(*rows: Any) -> Any:
    """Deltas from selects of (kind, subject_id, n)."""
    return insert(_deltas).from_select(["kind", "subject_id", "n"], union_all(*rows))


def _id_named(name: Any, param: str) -> Any:
    """The id of the row (a user, a tag) whose `name` column is the parameter `param`."""
    return select(name.table.c.id).where(name == bindparam(param, type_=String)).scalar_subquery()


def count_statement(name: str, param: str = "subject") -> Any:
    """The statement of one kind of count ("all", "tag", "author", "favorited_by",
    "feed_of"); the filter's value is the bound parameter `param`."""
    if name == "all":
        return _count_of(CountKind.ALL, lambda subject: subject == 0)
    if name == "tag":
        tag = _id_named(_tags.c.name, param)
        return _count_of(CountKind.TAG, lambda subject: subject == tag)
    if name in ("author", "favorited_by"):
        user = _id_named(_users.c.username, param)
        kind = CountKind.AUTHOR if name == "author" else CountKind.FAVORITED
        return _count_of(kind, lambda subject: subject == user)
    if name == "feed_of":
        follower = bindparam(param, type_=Integer)
        followed = select(Follow.followee_id).where(Follow.follower_id == follower)
        return _count_of(CountKind.AUTHOR, lambda subject: subject.in_(followed))
    raise ValueError(f"no count of {name!r}")


# Built once: building a statement per request cost more than running it.
_COUNTS = {name: count_statement(name) for name in COUNTED}


def _tag_uses() -> Any:
    both = _counted(CountKind.TAG, None, "subject_id", "n")
    uses = func.sum(both.c.n)
    return (
        select(_tags.c.name, uses.label("uses"))
        .join(both, both.c.subject_id == _tags.c.id)
        .group_by(_tags.c.id, _tags.c.name)
        .having(uses > 0)
    )


# Each tag of live articles (`name`) with how many carry it (`uses`), from the TAG counts:
# a few rows per tag, rather than every tag of every article.
TAG_USES = _tag_uses()

_ADD = insert(_deltas).inline()  # one parameter set per delta; no id fetched back


def _article_deltas() -> Any:
    """The deltas of an article entering (`change` +1) or leaving (-1) the live ones: the
    global count, its author's, each of its tags' and each of its fans'."""
    article = bindparam("article_id", type_=Integer)
    change = bindparam("change", type_=Integer)
    return _insert_deltas(
        select(CountKind.ALL.sql(), literal_column("0", Integer), change),
        select(CountKind.AUTHOR.sql(), _articles.c.author_id, change).where(
            _articles.c.id == article
        ),
        select(CountKind.TAG.sql(), _article_tags.c.tag_id, change).where(
            _article_tags.c.article_id == article
        ),
        select(CountKind.FAVORITED.sql(), _favorites.c.user_id, change).where(
            _favorites.c.article_id == article
        ),
    )


_ARTICLE_DELTAS = _article_deltas()


def new_article_deltas(article: Any, linked: Any) -> Any:
    """The deltas of a new article, in the statement that inserts it (PostgreSQL's
    data-modifying CTEs, which cannot see each other's rows but their RETURNING):
    `article` returns the new row's `author_id` (no row: nothing counted), `linked` the
    `tag_id` of each of its tags."""
    one = literal_column("1", Integer)
    return _insert_deltas(
        select(CountKind.ALL.sql(), literal_column("0", Integer), one).select_from(article),
        select(CountKind.AUTHOR.sql(), article.c.author_id, one),
        select(CountKind.TAG.sql(), linked.c.tag_id, one),
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
    filters = {name: getattr(where, name) for name in COUNTED if name != "all"}
    given = {name: value for name, value in filters.items() if value is not None}
    name = count_answering(given)
    return None if name is None else (name, given.get(name))


class ArticleCounters:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

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
