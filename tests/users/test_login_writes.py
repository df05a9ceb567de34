"""What a login writes, and with which statements: the account is read once, before the
password is checked, and the session and its refresh token are inserted together, only
while the account still has the password hash that was checked and is active."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import StatementCounter
from tests.factories import log_in, me, sign_up
from tests.factories.sessions import password_grant, refresh


async def sessions_of(app: Any, username: str) -> list[dict[str, Any]]:
    """The user's sessions with their refresh tokens' hashes, oldest first."""
    async with app.state.db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT s.id, s.created_at, s.expires_at, s.idle_expires_at, s.revoked_at, "
                "r.token_hash, r.used_at FROM sessions s JOIN users u ON u.id = s.user_id "
                "LEFT JOIN refresh_tokens r ON r.session_id = s.id "
                "WHERE u.username = :username ORDER BY s.created_at, r.created_at"
            ),
            {"username": username},
        )
        return [dict(row._mapping) for row in rows]


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def test_a_login_stores_a_session_and_only_the_hash_of_its_refresh_token(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up(client, "alice")
    response = await log_in(client)
    assert response.status_code == 200, response.text
    user = response.json()["user"]

    rows = await sessions_of(app, "alice")
    assert len(rows) == 2  # registration's session, then the login's
    login = rows[1]
    assert login["token_hash"] == sha256(user["refreshToken"])
    assert user["refreshToken"] not in {str(value) for value in login.values()}
    assert login["revoked_at"] is None
    assert login["used_at"] is None
    assert login["expires_at"] > login["created_at"]
    assert login["idle_expires_at"] > login["created_at"]
    assert (await me(client, user["token"]))["username"] == "alice"
    refreshed = await refresh(client, user["refreshToken"])
    assert refreshed.status_code == 200, refreshed.text


async def test_a_login_reads_the_account_once_and_inserts_session_and_token_together(
    app: Any, client: httpx.AsyncClient, sql: StatementCounter
) -> None:
    await sign_up(client, "alice")
    with sql.counting() as executed:
        response = await log_in(client)
    assert response.status_code == 200, response.text
    reads = [s for s in executed if s.lstrip().upper().startswith("SELECT")]
    writes = [s for s in executed if s not in reads]
    assert len(reads) == 1
    assert "users.email" in reads[0]
    if app.state.db.is_sqlite:  # no INSERT in a WITH clause: one statement per row
        assert [w.split("(")[0].strip() for w in writes] == [
            "INSERT INTO sessions",
            "INSERT INTO refresh_tokens",
        ]
    else:
        assert len(writes) == 1
        one = " ".join(writes[0].split())
        assert one.startswith("WITH opened AS (INSERT INTO sessions")
        assert ") INSERT INTO refresh_tokens" in one


async def test_the_response_shows_the_account_as_stored(
    app: Any, client: httpx.AsyncClient
) -> None:
    token = (await sign_up(client, "alice"))["token"]
    changed = await client.put(
        "/api/user",
        json={"user": {"bio": "Line one", "image": "https://example.com/a.png"}},
        headers={"Authorization": f"Token {token}"},
    )
    assert changed.status_code == 200, changed.text
    user = (await log_in(client)).json()["user"]
    assert {k: user[k] for k in ("username", "email", "bio", "image", "emailVerified")} == {
        "username": "alice",
        "email": "alice@example.com",
        "bio": "Line one",
        "image": "https://example.com/a.png",
        "emailVerified": False,
    }


async def test_the_password_grant_stores_its_session_like_a_login(
    app: Any, client: httpx.AsyncClient
) -> None:
    await sign_up(client, "alice")
    response = await password_grant(client, "alice")
    assert response.status_code == 200, response.text
    rows = await sessions_of(app, "alice")
    assert len(rows) == 2
    assert rows[1]["token_hash"] == sha256(response.json()["refresh_token"])
