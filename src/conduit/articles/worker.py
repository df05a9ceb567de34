"""The articles' background work: folding the count deltas (articles/counters.py) into
the counts, in every process, from the application's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from conduit.articles.repository import ArticleRepository
from conduit.articles.upkeep import FOLD_BATCH
from conduit.core.db import Database
from conduit.core.faults import log_failure

logger = logging.getLogger(__name__)


async def fold_counts_forever(db: Database, stop: asyncio.Event, every: float) -> None:
    """Fold the pending deltas every `every` seconds until `stop` is set; a failed fold is
    logged and tried again at the next round. The deltas a reader sums stay few (those of
    the last second or so), and a fold is one transaction of two statements."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        try:
            moved = FOLD_BATCH
            while moved == FOLD_BATCH and not stop.is_set():  # a backlog, batch by batch
                async with db.session() as session:
                    moved = await ArticleRepository(session).fold_counts()
        except Exception as exc:
            log_failure(logger, "folding the article count deltas failed", exc)
