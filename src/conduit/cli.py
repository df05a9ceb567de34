"""The `conduit` command: serve, migrate, deliver mail, seed, generate resources."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config

from conduit.core.config import get_settings
from conduit.scaffold.commands import destroy_app, generate_app

# No local variables in tracebacks: they could hold a password or a token.
app = typer.Typer(
    help="Conduit: the RealWorld API backend.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="Database migrations (Alembic).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(generate_app, name="generate")
app.add_typer(destroy_app, name="destroy")


def alembic_config(database_url: str | None = None) -> Config:
    """Alembic's configuration, pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(files("conduit") / "migrations"))
    config.attributes["database_url"] = database_url or get_settings().database_url
    return config


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    command.upgrade(alembic_config(), revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument(help="e.g. -1, base, 0001")]) -> None:
    """Revert migrations down to REVISION."""
    command.downgrade(alembic_config(), revision)
    typer.echo(f"database at {revision}")


@db_app.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    command.current(alembic_config(), verbose=False)


@db_app.command("recount")
def db_recount() -> None:
    """Rebuild the maintained article counts from the rows (after rows were changed by hand)."""
    from conduit.articles.commands import recount_articles

    asyncio.run(recount_articles(get_settings()))
    typer.echo("article counts rebuilt")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    migrate: Annotated[bool, typer.Option(help="Apply pending migrations before starting.")] = True,
    access_log: Annotated[bool, typer.Option(help="Log one line per request.")] = True,
) -> None:
    """Run the API server (uvicorn). SIGTERM stops accepting connections, lets in-flight
    requests finish for up to SHUTDOWN_TIMEOUT seconds, then closes the pools; before that,
    /ready fails for SHUTDOWN_DRAIN seconds (core/draining.py)."""
    import uvicorn

    if not access_log:
        os.environ["ACCESS_LOG"] = "false"  # read by every worker's settings
        get_settings.cache_clear()
    if workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _prepare_multiprocess_metrics()
    settings = get_settings()
    if migrate:
        command.upgrade(alembic_config(), "head")
    if workers > 1 and settings.cache_enabled and not settings.redis_url:
        # Workers share no memory: each one's in-process cache would miss the others'
        # writes. Without Redis to share, the workers serve every read uncached.
        os.environ["CACHE_ENABLED"] = "false"
        typer.echo("several workers and no REDIS_URL: the read cache is off", err=True)
    uvicorn.run(
        "conduit.asgi:app",
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the app logs each request itself, with its request id
        log_config=None,  # the app configures logging (structlog)
        proxy_headers=False,  # client IPs: the app's TRUSTED_PROXIES setting decides
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )


def _prepare_multiprocess_metrics() -> None:
    """Several workers share their Prometheus metrics through files in one directory."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        directory = tempfile.mkdtemp(prefix="conduit-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory


@app.command()
def worker(
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls.")] = 1.0,
) -> None:
    """Deliver queued mail (the outbox) until interrupted (SIGINT or SIGTERM)."""
    from conduit.outbox.worker import run_worker

    asyncio.run(run_worker(get_settings(), interval))
    typer.echo("worker stopped")


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Option(help="The admin's e-mail.")],
    username: Annotated[str, typer.Option(help="The admin's username.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a user with the admin role (the password is prompted for, or read from stdin)."""
    from conduit.users.commands import create_admin_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        asyncio.run(create_admin_user(get_settings(), email, username, password))
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"admin {username} created")


@app.command()
def seed(
    users: Annotated[int, typer.Option(min=1, help="Users to create.")] = 10,
    articles: Annotated[int, typer.Option(min=0, help="Articles per user.")] = 5,
    password: Annotated[
        str, typer.Option(help="Password of every demo user.", envvar="SEED_PASSWORD")
    ] = "password123",  # noqa: S107 - demo accounts only
) -> None:
    """Fill the database with demo users, articles, tags, follows, favorites and comments."""
    from conduit.seed import seed_database

    asyncio.run(seed_database(get_settings(), users=users, articles=articles, password=password))


if __name__ == "__main__":  # pragma: no cover
    app()
