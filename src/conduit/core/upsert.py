"""INSERT ... ON CONFLICT for the dialects we run on."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession | str, table: Any) -> Any:
    """The INSERT of the session's dialect (or of the dialect named), which has
    `on_conflict_do_*` and `excluded`."""
    if isinstance(session, str):
        dialect = session
    else:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def insert_ignore(session: AsyncSession, table: Any) -> Any:
    """An INSERT that silently skips rows violating a unique or primary key constraint."""
    return dialect_insert(session, table).on_conflict_do_nothing()
