"""Password reset, through a real SMTP server: the mailed token sets the password once and
ends every session, a refused password leaves it usable, expired and unknown tokens are
refused, and an unknown address answers alike and gets nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from conduit.core.db import utcnow
from tests.factories import PASSWORD, deliver, error_body, log_in, register
from tests.factories.mail import INVALID, NEW_PASSWORD, Smtp, me, reset_token

# --- password reset -------------------------------------------------------------------


async def test_password_reset_sets_the_password_and_ends_every_session(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    old_access = await register(client, "alice")
    await deliver(app)
    token = await reset_token(client, app, smtp, "Alice@Example.com")
    assert smtp.messages[-1]["To"] == "alice@example.com"

    done = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204
    assert done.content == b""

    assert (await log_in(client, "alice@example.com", NEW_PASSWORD)).status_code == 200
    assert (await log_in(client, "alice@example.com", PASSWORD)).status_code == 401
    assert (await me(client, old_access)).status_code == 401

    again = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "yet another one"}
    )
    assert again.status_code == 400
    assert error_body(again) == INVALID


async def test_a_refused_password_leaves_the_token_usable(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    await register(client, "alice")
    token = await reset_token(client, app, smtp, "alice@example.com")
    refused = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "alice@example.com"}
    )
    assert refused.status_code == 422
    done = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204


async def test_expired_and_unknown_tokens_are_refused(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    await register(client, "alice")
    token = await reset_token(client, app, smtp, "alice@example.com")
    async with app.state.db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE email_tokens SET expires_at = :past"),
            {"past": utcnow() - timedelta(seconds=1)},
        )
    for candidate in (token, "no-such-token"):
        response = await client.post(
            "/api/auth/password-reset/confirm",
            json={"token": candidate, "password": NEW_PASSWORD},
        )
        assert response.status_code == 400
        assert error_body(response) == INVALID
    # A reset token is not a verification token.
    other = await reset_token(client, app, smtp, "alice@example.com")
    wrong_kind = await client.post("/api/auth/verify-email/confirm", json={"token": other})
    assert wrong_kind.status_code == 400


async def test_reset_for_an_unknown_address_answers_alike_and_sends_nothing(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    await register(client, "alice")
    await deliver(app)
    known = await client.post("/api/auth/password-reset", json={"email": "alice@example.com"})
    unknown = await client.post("/api/auth/password-reset", json={"email": "ghost@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""
    assert await deliver(app) == 1
    assert [m["To"] for m in smtp.messages] == ["alice@example.com", "alice@example.com"]
