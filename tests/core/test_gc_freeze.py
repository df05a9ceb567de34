"""Start-up freezes what is alive out of the garbage collector's reach (GC_FREEZE), so that
a full collection under load walks only what requests created, not the whole application;
and it raises the young generation's threshold (GC_THRESHOLD), so that the collector stops
walking the requests in flight many times a second."""

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


async def _threshold_after_startup(settings: Settings) -> tuple[int, int, int]:
    before = gc.get_threshold()
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            return gc.get_threshold()
    finally:
        gc.set_threshold(*before)


async def test_startup_sets_the_young_generation_threshold(settings: Settings) -> None:
    _, middle, oldest = gc.get_threshold()
    after = await _threshold_after_startup(settings.model_copy(update={"gc_threshold": 12_345}))
    assert after == (12_345, middle, oldest)  # the older generations keep their ratios


async def test_gc_threshold_zero_leaves_the_interpreter_s(settings: Settings) -> None:
    before = gc.get_threshold()
    assert await _threshold_after_startup(settings) == before  # the suite's settings: 0


def test_the_default_threshold_is_raised() -> None:
    assert Settings(_env_file=None).gc_threshold > gc.get_threshold()[0]  # type: ignore[call-arg]
