"""`conduit create-admin`: an admin account from the command line, on a database of its own."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from conduit.cli import app
from conduit.main import create_app
from tests.conftest import make_settings

runner = CliRunner()

ADMIN_PASSWORD = "correct-horse-battery"


@pytest.fixture
def db_file(cli_database: Path) -> Path:
    """A fresh, migrated SQLite database that the command's settings point at."""
    upgrade = runner.invoke(app, ["db", "upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    return cli_database


def create_admin(
    email: str = "root@example.com", username: str = "root", password: str = ADMIN_PASSWORD
) -> Result:
    return runner.invoke(
        app,
        ["create-admin", "--email", email, "--username", username, "--password-stdin"],
        input=f"{password}\n",
    )


def all_output(result: Result) -> str:
    """Everything the command wrote, on either stream."""
    return result.output + result.stderr


def users(path: Path) -> dict[str, tuple[str, str, bool]]:
    """username -> (email, role, active), read straight from the table."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT username, email, role, active FROM users").fetchall()
    return {username: (email, role, bool(active)) for username, email, role, active in rows}


async def log_in(database_url: str, email: str, password: str) -> tuple[int, int | None]:
    """Log in over HTTP against the same database; the login status and, on success, the
    status of an admin-only request made with the token."""
    settings = make_settings(database_url)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            login = await client.post(
                "/api/users/login", json={"user": {"email": email, "password": password}}
            )
            if login.status_code != 200:
                return login.status_code, None
            token = login.json()["user"]["token"]
            admin_only = await client.get(
                "/api/admin/users", headers={"Authorization": f"Token {token}"}
            )
            return login.status_code, admin_only.status_code


def test_create_admin_makes_an_admin_who_can_log_in(db_file: Path) -> None:
    result = create_admin()

    assert result.exit_code == 0, all_output(result)
    assert "admin root created" in result.output
    assert users(db_file) == {"root": ("root@example.com", "admin", True)}
    url = f"sqlite+aiosqlite:///{db_file}"
    assert asyncio.run(log_in(url, "root@example.com", ADMIN_PASSWORD)) == (200, 200)
    assert asyncio.run(log_in(url, "root@example.com", "not-the-password")) == (401, None)


def test_create_admin_normalises_the_email_like_registration(db_file: Path) -> None:
    result = create_admin(email="Root@Example.COM")

    assert result.exit_code == 0, all_output(result)
    assert users(db_file)["root"][0] == "root@example.com"


def test_create_admin_prompts_for_the_password_without_echoing_it(db_file: Path) -> None:
    result = runner.invoke(
        app,
        ["create-admin", "--email", "root@example.com", "--username", "root"],
        input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n",
    )

    assert result.exit_code == 0, all_output(result)
    assert ADMIN_PASSWORD not in all_output(result)
    assert users(db_file)["root"][1] == "admin"


def test_create_admin_refuses_a_taken_username(db_file: Path) -> None:
    assert create_admin().exit_code == 0

    result = create_admin(email="other@example.com", username="ROOT")

    assert result.exit_code == 1, all_output(result)
    assert "username" in result.stderr
    assert "has already been taken" in result.stderr
    assert "created" not in result.output
    assert set(users(db_file)) == {"root"}


def test_create_admin_refuses_a_taken_email(db_file: Path) -> None:
    assert create_admin().exit_code == 0

    result = create_admin(username="other")

    assert result.exit_code == 1, all_output(result)
    assert "email" in result.stderr
    assert set(users(db_file)) == {"root"}


def test_create_admin_refuses_a_short_password(db_file: Path) -> None:
    result = create_admin(password="short")

    assert result.exit_code == 1, all_output(result)
    assert "password" in result.stderr
    assert "too short" in result.stderr
    assert users(db_file) == {}


def test_create_admin_refuses_an_invalid_email(db_file: Path) -> None:
    result = create_admin(email="not-an-email")

    assert result.exit_code == 1, all_output(result)
    assert "email" in result.stderr
    assert users(db_file) == {}


@pytest.mark.parametrize(
    ("email", "username", "password"),
    [
        ("root@example.com", "root", ADMIN_PASSWORD),
        ("root@example.com", "root", "shortpw"),
        ("not-an-email", "root", ADMIN_PASSWORD),
        ("root@example.com", "bad name!", ADMIN_PASSWORD),
    ],
)
def test_create_admin_never_prints_the_password(
    db_file: Path, email: str, username: str, password: str
) -> None:
    result = create_admin(email, username, password)

    assert password not in all_output(result)


def test_help_lists_create_admin() -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    assert "create-admin" in result.output
