"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows: mail.

Links in mail come from FRONTEND_URL alone, whatever Host and forwarding headers say; a
reset request changes nothing until the mailed token is used, once, for a reset of the
address it was sent to.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from tests.factories import PASSWORD, auth, deliver, error_body, log_in, sign_up
from tests.security.support import mail_links, token_of

FRONT = "https://front.example"

FORGED_ORIGIN_HEADERS = {
    "Host": "evil.example",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Proto": "http",
    "X-Forwarded-For": "203.0.113.66",
    "X-Original-URL": "https://evil.example/",
    "Forwarded": "for=203.0.113.66;host=evil.example;proto=http",
    "Origin": "https://evil.example",
    "Referer": "https://evil.example/reset",
}


# --- links in mail --------------------------------------------------------------------------


@pytest.mark.settings(frontend_url=FRONT)
async def test_api6_forged_host_headers_do_not_change_the_links_in_mail(
    client: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    response = await client.post(
        "/api/users",
        json={"user": {"username": "alice", "email": "alice@example.com", "password": PASSWORD}},
        headers=FORGED_ORIGIN_HEADERS,
    )
    assert response.status_code == 201
    reset = await client.post(
        "/api/auth/password-reset",
        json={"email": "alice@example.com"},
        headers=FORGED_ORIGIN_HEADERS,
    )
    assert reset.status_code == 202
    again = await client.post(
        "/api/auth/verify-email",
        headers={**FORGED_ORIGIN_HEADERS, **auth(response.json()["user"]["token"])},
    )
    assert again.status_code == 202
    assert await deliver(app) == 3

    links = mail_links(settings.mail_dir)
    assert [link.split("?")[0] for link in links] == [
        f"{FRONT}/verify-email",
        f"{FRONT}/reset-password",
        f"{FRONT}/verify-email",
    ]
    assert all("evil" not in link for link in links)


async def test_api6_a_reset_request_changes_nothing_until_its_token_is_used_once(
    client: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    """Anyone may ask for a reset of anyone's account: that must not lock the owner out,
    end their sessions or make earlier tokens usable; the mailed token works once, only
    for a reset, and only for the address it was sent to."""
    alice = await sign_up(client, "alice")
    for _ in range(3):
        assert (
            await client.post("/api/auth/password-reset", json={"email": "alice@example.com"})
        ).status_code == 202
    assert (await client.get("/api/user", headers=auth(alice["token"]))).status_code == 200
    assert (await log_in(client, "alice@example.com")).status_code == 200

    await deliver(app)
    links = mail_links(settings.mail_dir)
    verify_token = token_of(links[0])
    reset_tokens = [token_of(link) for link in links[1:]]
    assert len(set(reset_tokens)) == 3

    wrong_purpose = await client.post(
        "/api/auth/password-reset/confirm", json={"token": verify_token, "password": "new-pass-123"}
    )
    assert wrong_purpose.status_code == 400
    used = await client.post(
        "/api/auth/password-reset/confirm",
        json={"token": reset_tokens[1], "password": "new-pass-123"},
    )
    assert used.status_code == 204
    for token in reset_tokens:  # spent, and the others were voided with it
        replay = await client.post(
            "/api/auth/password-reset/confirm", json={"token": token, "password": "other-pass-456"}
        )
        assert replay.status_code == 400
        assert error_body(replay) == {"errors": {"token": ["is invalid or expired"]}}
    assert (await log_in(client, "alice@example.com", "new-pass-123")).status_code == 200
    assert (await client.get("/api/user", headers=auth(alice["token"]))).status_code == 401


async def test_api6_a_reset_token_dies_with_a_change_of_address(
    client: httpx.AsyncClient, app: Any, settings: Settings
) -> None:
    alice = await sign_up(client, "alice")
    await client.post("/api/auth/password-reset", json={"email": "alice@example.com"})
    await deliver(app)
    token = token_of(mail_links(settings.mail_dir)[-1])
    changed = await client.put(
        "/api/user", json={"user": {"email": "alice2@example.com"}}, headers=auth(alice["token"])
    )
    assert changed.status_code == 200
    response = await client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "password": "new-pass-123"}
    )
    assert response.status_code == 400
    assert (await log_in(client, "alice2@example.com")).status_code == 200
