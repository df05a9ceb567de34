"""No hot rows: 50 article creations at once on PostgreSQL, by 50 users sharing three tags,
never wait on one another, and every count is exact afterwards (articles/counters.py).

The proof that no transaction waited on another's row: every creation does all of its
writes and then waits at a barrier, its transaction still open, until all 50 have done
theirs; only then do they commit. A creation that had to wait for a row another one holds
(a counter row, as when each added to the global and the tags' counts itself) could never
reach the barrier, since the holder commits only after it: the test would time out. At
the barrier, `pg_locks` is also asked for any lock not granted: there must be none.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from conduit.articles.counters import ArticleCounters
from conduit.articles.models import Article, ArticleCountDelta, ArticleTag, Favorite, Tag
from conduit.articles.repository import ArticleRepository
from conduit.articles.schemas import ArticleCreate, ArticleFilter
from conduit.articles.service import ArticleService
from conduit.users.models import User
from tests.factories.idempotency import postgres_only

WRITERS = 50
SHARED = ["alpha", "beta", "gamma"]  # every creation carries two of them
BARRIER_TIMEOUT = 30.0
# The locks not granted to this database's backends (other tests may run beside this one).
WAITING = """
SELECT l.locktype, l.mode, a.query FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND a.datname = current_database()
"""


async def _users(session: AsyncSession) -> list[User]:
    rows = [
        {"username": f"writer{i}", "email": f"writer{i}@example.com", "password_hash": "x"}
        for i in range(WRITERS)
    ]
    await session.execute(insert(User), rows)
    await session.execute(insert(Tag), [{"name": name} for name in SHARED])
    return list((await session.scalars(select(User).order_by(User.id))).all())


async def test_fifty_concurrent_creators_never_wait_and_counts_stay_exact(
    app: Any, database_url: str
) -> None:
    postgres_only(database_url)
    engine = create_async_engine(database_url, pool_size=WRITERS + 2, max_overflow=0)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            authors = await _users(session)
        barrier = asyncio.Barrier(WRITERS + 1)
        ungranted: list[Any] = []

        async def create(i: int) -> None:
            tags = [SHARED[i % 3], SHARED[(i + 1) % 3]]
            data = ArticleCreate(title=f"Post {i}", description="d", body="b", tag_list=tags)
            async with AsyncSession(engine) as session, session.begin():
                await ArticleService(session).create(authors[i], data)
                await asyncio.wait_for(barrier.wait(), BARRIER_TIMEOUT)  # everyone's open
                await asyncio.wait_for(barrier.wait(), BARRIER_TIMEOUT)  # locks looked at

        async def watch() -> None:
            await asyncio.wait_for(barrier.wait(), BARRIER_TIMEOUT)
            async with engine.connect() as connection:
                ungranted.extend((await connection.execute(text(WAITING))).all())
            await asyncio.wait_for(barrier.wait(), BARRIER_TIMEOUT)

        await asyncio.gather(watch(), *(create(i) for i in range(WRITERS)))
        assert ungranted == []

        async with AsyncSession(engine) as session:
            await _assert_counts_exact(session, authors)
        async with AsyncSession(engine) as session, session.begin():
            await ArticleRepository(session).fold_counts()
        async with AsyncSession(engine) as session:  # folded, the counts say the same
            pending = select(func.count()).select_from(ArticleCountDelta)
            assert (await session.execute(pending)).scalar_one() == 0
            await _assert_counts_exact(session, authors)
    finally:
        await engine.dispose()


async def _assert_counts_exact(session: AsyncSession, authors: list[User]) -> None:
    counters = ArticleCounters(session)
    live = Article.deleted_at.is_(None)
    total = (await session.execute(select(func.count()).where(live))).scalar_one()
    assert total == WRITERS
    assert await counters.count(ArticleFilter()) == total
    uses = {}
    for name in SHARED:
        tagged = select(func.count()).select_from(ArticleTag).join(Tag).where(Tag.name == name)
        uses[name] = (await session.execute(tagged)).scalar_one()
        assert await counters.count(ArticleFilter(tag=name)) == uses[name]
    for author in authors[:5]:
        assert await counters.count(ArticleFilter(author=author.username)) == 1
        assert await counters.count(ArticleFilter(favorited_by=author.username)) == 0
    assert (await session.execute(select(func.count()).select_from(Favorite))).scalar_one() == 0
    most_used_first = sorted(SHARED, key=lambda name: (-uses[name], name))
    assert await ArticleRepository(session).popular_tags() == most_used_first
