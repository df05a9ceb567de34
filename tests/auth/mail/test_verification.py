"""E-mail verification, through a real SMTP server: registration mails a link that verifies
the address, another comes on request, and a change of address unverifies it and voids the
links sent before."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import PASSWORD, auth, deliver, error_body, register
from tests.factories.mail import FORGED, INVALID, Smtp, me, token_in

# --- verification -------------------------------------------------------------------


async def test_registration_mails_a_link_that_verifies_the_address(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    response = await client.post(
        "/api/users",
        json={"user": {"username": "alice", "email": "alice@example.com", "password": PASSWORD}},
        headers=FORGED,
    )
    assert response.status_code == 201, response.text
    access = response.json()["user"]["token"]
    assert response.json()["user"]["emailVerified"] is False

    assert smtp.messages == []  # queued, not yet sent
    assert await deliver(app) == 1
    [message] = smtp.messages
    assert message["To"] == "alice@example.com"
    assert message["From"] == "Conduit <no-reply@conduit.invalid>"
    assert message["Message-ID"]
    token = token_in(message, "verify-email")

    confirmed = await client.post("/api/auth/verify-email/confirm", json={"token": token})
    assert confirmed.status_code == 204
    assert confirmed.content == b""
    assert (await me(client, access)).json()["user"]["emailVerified"] is True

    again = await client.post("/api/auth/verify-email/confirm", json={"token": token})
    assert again.status_code == 400
    assert error_body(again) == INVALID


async def test_another_verification_mail_on_request(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    access = await register(client, "alice")
    response = await client.post("/api/auth/verify-email", headers={**auth(access), **FORGED})
    assert response.status_code == 202
    assert response.content == b""
    assert await deliver(app) == 2
    first, second = (token_in(m, "verify-email") for m in smtp.messages)
    assert first != second
    assert (await client.post("/api/auth/verify-email")).status_code == 401


async def test_changing_the_address_unverifies_it_and_voids_older_links(
    client: httpx.AsyncClient, app: Any, smtp: Smtp
) -> None:
    access = await register(client, "alice")
    await deliver(app)
    old_token = token_in(smtp.messages[0], "verify-email")
    await client.post("/api/auth/verify-email/confirm", json={"token": old_token})
    assert (await me(client, access)).json()["user"]["emailVerified"] is True
    # A second verification link, sent to the old address before the change.
    await client.post("/api/auth/verify-email", headers=auth(access))

    changed = await client.put(
        "/api/user", json={"user": {"email": "alice@new.example"}}, headers=auth(access)
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["user"]["emailVerified"] is False
    assert await deliver(app) == 2
    to_old, to_new = smtp.messages[1:]
    assert to_old["To"] == "alice@example.com"
    assert to_new["To"] == "alice@new.example"

    stale = await client.post(
        "/api/auth/verify-email/confirm", json={"token": token_in(to_old, "verify-email")}
    )
    assert stale.status_code == 400
    assert error_body(stale) == INVALID
    fresh = await client.post(
        "/api/auth/verify-email/confirm", json={"token": token_in(to_new, "verify-email")}
    )
    assert fresh.status_code == 204
    assert (await me(client, access)).json()["user"]["emailVerified"] is True

    # An update that keeps the address keeps it verified and sends nothing.
    same = await client.put("/api/user", json={"user": {"bio": "hi"}}, headers=auth(access))
    assert same.json()["user"]["emailVerified"] is True
    assert await deliver(app) == 0
