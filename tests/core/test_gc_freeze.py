"""Start-up freezes what is alive out of the garbage collector's reach (GC_FREEZE), so that
a full collection under load walks only what requests created, not the whole application."""

from __future__ import annotations

import gc

from conduit.core.config import Settings
from conduit.main import create_app


async def _frozen_after_startup(settings: Settings) -> int:
    app = create_app(settings)
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()
    finally:
        gc.unfreeze()  # hand the objects back: the suite builds many applications


async def test_startup_freezes_the_application_objects(settings: Settings) -> None:
    frozen = await _frozen_after_startup(settings.model_copy(update={"gc_freeze": True}))
    assert frozen > 10_000  # modules, routes, models: the application itself


async def test_gc_freeze_off_leaves_the_collector_alone(settings: Settings) -> None:
    assert await _frozen_after_startup(settings) == 0  # the suite's settings turn it off
