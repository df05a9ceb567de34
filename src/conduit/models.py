"""Every domain's tables in one metadata, `Base.metadata`: what Alembic compares the
database with, and what the mapper registry resolves relationships between domains from.

The domains whose models to import come from the registry (conduit/domains.py); a package
with models that it leaves out fails tests/test_architecture.py.
"""

import importlib

from conduit.core.db import Base
from conduit.domains import DOMAINS

for _domain in DOMAINS:
    if _domain.models:
        importlib.import_module(_domain.module("models"))

__all__ = ["Base"]
