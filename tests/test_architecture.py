"""Architecture rules that neither ruff nor import-linter can express.

ARCHITECTURE.md, rule 3: one AsyncSession per request, owned by one dependency that commits
on success and rolls back on error; services and repositories never commit (they flush).
Ruff's banned-api (TID251) resolves imported names only, so it cannot see a method called on
a session instance; this walks the syntax tree of every module under src/ instead.

Rule 12: one registry of domains (conduit/domains.py). Every package is in it, and the
routers, the tables, the API-key scopes and the import-linter contracts agree with it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute, APIRouter

from conduit.api import DOMAIN_ROUTERS, ROOT_ROUTERS
from conduit.auth.permissions import Scope
from conduit.core.db import Base
from conduit.domains import DOMAINS
from conduit.main import create_app
from tests.conftest import make_settings

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "conduit"

# The only modules that end a transaction themselves.
TRANSACTION_OWNERS = {
    PACKAGE / "core" / "db.py",  # Database.session(): the request's unit of work
    PACKAGE / "migrations" / "env.py",  # Alembic runs the migrations in its own transaction
}


def _is_begin_block(item: ast.withitem) -> bool:
    """`with x.begin():` / `async with x.begin():` opens a transaction that commits when its
    block ends. (`begin_nested()` is a SAVEPOINT inside the caller's transaction: allowed. A
    plain `.begin(...)` call elsewhere is some other API, e.g. IdempotencyService.begin.)"""
    call = item.context_expr
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "begin"
    )


def transaction_calls(source: str, filename: str = "<string>") -> list[tuple[int, str]]:
    """(line, what) of every `<anything>.commit` reference (a call, or the bound method handed
    to someone else to call) and of every `with <anything>.begin():` block."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Attribute) and node.attr == "commit":
            found.append((node.lineno, "commit"))
        elif isinstance(node, ast.With | ast.AsyncWith):
            found.extend((node.lineno, "begin") for item in node.items if _is_begin_block(item))
    return sorted(found)


def test_the_checker_sees_commits_and_begins() -> None:
    source = (
        "async def f(session, other):\n"
        "    await session.commit()\n"
        "    await other.session.commit()\n"
        "    later = session.commit\n"
        "    async with session.begin():\n"
        "        pass\n"
        "    with engine.begin() as connection:\n"
        "        pass\n"
        "    outcome = await service.begin(key)\n"
        "    async with session.begin_nested():\n"
        "        await session.flush()\n"
    )
    assert transaction_calls(source) == [
        (2, "commit"),
        (3, "commit"),
        (4, "commit"),
        (5, "begin"),
        (7, "begin"),
    ]


def test_the_transaction_owners_exist() -> None:
    # A renamed owner must be renamed here too, not silently dropped from the allow-list.
    for path in TRANSACTION_OWNERS:
        assert path.is_file(), path
    assert transaction_calls((PACKAGE / "core" / "db.py").read_text())


def test_only_the_session_dependency_and_alembic_commit() -> None:
    offenders = [
        f"{path.relative_to(SRC.parent)}:{line}: .{attr}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in TRANSACTION_OWNERS
        for line, attr in transaction_calls(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not offenders, (
        "Only the request's unit of work (conduit.core.db.Database.session) and the "
        "Alembic env commit; services and repositories flush() and let it commit:\n  "
        + "\n  ".join(offenders)
    )


# --- dependencies run on the event loop ---------------------------------------------------

# FastAPI runs a plain `def` dependency in a worker thread: a hand-off to the thread pool and
# back on every request that uses it (in the profile of a cached read it cost more than all
# the rest of the request). Dependencies here only build objects or read the request, so
# they are `async def`.
# Still `def`, in modules being changed on other branches; to be made `async def` there.
SYNC_DEPENDENCIES_PENDING = {
    "conduit.articles.dependencies.get_article_service",
    "conduit.auth.dependencies.get_auth_service",
    "conduit.auth.dependencies.get_email_flows",
    "conduit.auth.dependencies.get_reset_requests",
}


def _dependency_calls(dependant: Any) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependency_calls(sub)


def test_no_route_hands_a_dependency_to_the_thread_pool() -> None:
    routes = [r for router in (*DOMAIN_ROUTERS, *ROOT_ROUTERS) for r in router.routes]
    assert len(routes) > 30
    sync: set[str] = set()
    for route in routes:
        assert isinstance(route, APIRoute)
        for call in _dependency_calls(route.dependant):
            if inspect.isfunction(call) and not (
                inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
            ):
                sync.add(f"{call.__module__}.{call.__qualname__}")
    assert sync <= SYNC_DEPENDENCIES_PENDING, sorted(sync - SYNC_DEPENDENCIES_PENDING)


# --- one registry of domains --------------------------------------------------------------

# The packages of conduit that are not domains: what every domain builds on, and the
# schema's history.
NOT_DOMAINS = {"core", "migrations", "scaffold"}  # scaffold: the generator of domains
# The modules that assemble the application; no domain, and not core, imports them.
APPLICATION = [
    "conduit.api",
    "conduit.asgi",
    "conduit.cli",
    "conduit.domains",
    "conduit.main",
    "conduit.migrations",
    "conduit.models",
    "conduit.scaffold",
    "conduit.seed",
]
# Besides the domains, the modules that call services (and so may not import a repository).
SERVICE_CALLERS = ["conduit.api", "conduit.cli", "conduit.main", "conduit.seed"]


def _packages() -> set[str]:
    return {
        path.parent.name
        for path in PACKAGE.glob("*/__init__.py")
        if path.parent.name not in NOT_DOMAINS
    }


def _routers(package: str) -> dict[str, APIRouter]:
    """The routers that `conduit.<package>.router` declares, by attribute name."""
    module = importlib.import_module(f"conduit.{package}.router")
    return {name: value for name, value in vars(module).items() if type(value) is APIRouter}


def test_every_package_is_in_the_registry() -> None:
    names = [domain.name for domain in DOMAINS]
    assert len(set(names)) == len(names), f"named twice in conduit/domains.py: {names}"
    missing, unknown = sorted(_packages() - set(names)), sorted(set(names) - _packages())
    assert not missing, f"packages missing from conduit/domains.py: {missing}"
    assert not unknown, f"conduit/domains.py names no such package: {unknown}"
    for domain in DOMAINS:
        package = PACKAGE / domain.name
        assert (package / "router.py").is_file() is bool(domain.routers), domain
        assert (package / "models.py").is_file() is domain.models, domain


def test_the_registry_names_every_router_of_a_domain() -> None:
    for domain in DOMAINS:
        if domain.routers:
            assert sorted(_routers(domain.name)) == sorted(domain.routers), domain


def test_every_router_is_mounted(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'routes.db'}"))
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    prefix = app.state.settings.api_prefix
    at_root = {domain.name for domain in DOMAINS if domain.at_root}
    expected = set()
    for path in PACKAGE.glob("*/router.py"):
        package = path.parent.name
        mount = "" if package in at_root else prefix
        for router in _routers(package).values():
            for route in router.routes:
                assert isinstance(route, APIRoute)
                assert route.include_in_schema, route  # so the document shows it
                methods = route.methods - {"HEAD"}
                expected |= {(method, mount + route.path_format) for method in methods}
    assert len(expected) > 30
    assert not expected - documented, f"not mounted: {sorted(expected - documented)}"


def test_conduit_models_holds_every_domains_tables() -> None:
    # Every models module is imported here, so `Base.metadata` has every table; `import
    # conduit.models` alone, in a fresh interpreter, must give the same.
    for path in PACKAGE.glob("*/models.py"):
        importlib.import_module(f"conduit.{path.parent.name}.models")
    script = "import conduit.models as m; print(*m.Base.metadata.tables)"
    fresh = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert len(fresh) > 10
    missing = sorted(set(Base.metadata.tables) - set(fresh))
    assert not missing, f"tables missing after `import conduit.models`: {missing}"
    assert len(fresh) == len(Base.metadata.tables)


def test_each_api_key_scope_is_one_domains() -> None:
    scopes = [domain.scope for domain in DOMAINS if domain.scope is not None]
    assert len(set(scopes)) == len(scopes), f"a scope of two domains: {scopes}"
    assert set(scopes) == {scope.value for scope in Scope}


def test_the_import_linter_contracts_name_every_domain() -> None:
    config = tomllib.loads((SRC.parent / "pyproject.toml").read_text(encoding="utf-8"))
    lists = {
        (c["id"], key): c[key]
        for c in config["tool"]["importlinter"]["contracts"]
        for key in ("containers", "source_modules", "forbidden_modules")
        if key in c
    }
    domains = sorted(f"conduit.{domain.name}" for domain in DOMAINS)
    expected = {
        ("domain-layers", "containers"): domains,
        ("core-imports-no-domain", "forbidden_modules"): domains + APPLICATION,
        ("no-foreign-repository", "source_modules"): domains + SERVICE_CALLERS,
        ("domains-do-not-import-the-app", "source_modules"): domains,
        ("domains-do-not-import-the-app", "forbidden_modules"): APPLICATION,
    }
    wrong = {
        f"{contract}.{key}": {
            "missing": sorted(set(names) - set(lists.get((contract, key), ()))),
            "unexpected": sorted(set(lists.get((contract, key), ())) - set(names)),
        }
        for (contract, key), names in expected.items()
        if lists.get((contract, key)) != names  # the same names in another order too
    }
    assert not wrong, f"pyproject.toml's import-linter lists disagree with the registry: {wrong}"
