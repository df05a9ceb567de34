"""A scratch database per test, empty or migrated to the head revision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from conduit.cli import alembic_config
from tests.conftest import _postgres_scratch


@pytest.fixture
def scratch_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same kind as the suite's, dropped afterwards."""
    if database_url.startswith("postgresql"):
        url, drop = _postgres_scratch(database_url)
        try:
            yield url
        finally:
            drop()
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"


@pytest.fixture
def migrated_url(scratch_url: str) -> str:
    command.upgrade(alembic_config(scratch_url), "head")
    return scratch_url
