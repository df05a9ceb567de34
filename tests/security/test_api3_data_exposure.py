"""OWASP API3:2023 Broken Object Property Level Authorization: excessive data exposure.

Every representation carries exactly its documented fields, and none carries a password
hash, another user's e-mail, or a credential it should not; tokens carry no personal data,
and validation errors never echo what was sent.
"""

from __future__ import annotations

import json

import httpx

from conduit.core.config import Settings
from tests.factories import PASSWORD, auth, create_article, log_in, make_key, sign_up
from tests.security.support import b64url_decode, staff_token

PROFILE_FIELDS = {"username", "bio", "image", "following"}
ARTICLE_FIELDS = {
    "slug",
    "title",
    "description",
    "body",
    "tagList",
    "createdAt",
    "updatedAt",
    "favorited",
    "favoritesCount",
    "author",
}
USER_FIELDS = {"email", "token", "username", "bio", "image", "emailVerified"}


# --- excessive data exposure ------------------------------------------------------------------


async def test_api3_public_representations_carry_only_their_documented_fields(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    await client.put(
        "/api/user",
        json={"user": {"bio": "b", "image": "https://x.example/a.png"}},
        headers=auth(bob),
    )
    slug = (await create_article(client, bob, "Exposed?", tagList=["t"]))["slug"]
    await client.post(
        f"/api/articles/{slug}/comments", json={"comment": {"body": "c"}}, headers=auth(bob)
    )
    for headers in ({}, auth(alice)):
        profile = (await client.get("/api/profiles/bob", headers=headers)).json()["profile"]
        assert set(profile) == PROFILE_FIELDS
        article = (await client.get(f"/api/articles/{slug}", headers=headers)).json()["article"]
        assert set(article) == ARTICLE_FIELDS
        assert set(article["author"]) == PROFILE_FIELDS
        [item] = (await client.get("/api/articles", headers=headers)).json()["articles"]
        assert set(item) == ARTICLE_FIELDS - {"body"}
        [comment] = (await client.get(f"/api/articles/{slug}/comments", headers=headers)).json()[
            "comments"
        ]
        assert set(comment) == {"id", "createdAt", "updatedAt", "body", "author"}
        assert set(comment["author"]) == PROFILE_FIELDS
        bodies = json.dumps([profile, article, item, comment])
        assert "bob@example.com" not in bodies
        assert "alice@example.com" not in bodies


async def test_api3_own_and_staff_representations_hold_no_secrets(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await staff_token(client, settings, "root")
    alice = await sign_up(client, "alice")
    assert set(alice) == USER_FIELDS | {"refreshToken"}
    me = (await client.get("/api/user", headers=auth(alice["token"]))).json()["user"]
    assert set(me) == USER_FIELDS
    login = (await log_in(client, "alice@example.com")).json()["user"]
    assert set(login) == USER_FIELDS | {"refreshToken"}

    created = await make_key(client, alice["token"], ["articles:write"])
    listed = (await client.get("/api/api-keys", headers=auth(alice["token"]))).json()["items"]
    assert set(listed[0]) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "createdAt",
        "expiresAt",
        "lastUsedAt",
    }
    staff = (await client.get("/api/admin/users", headers=auth(admin))).json()["items"]
    assert {frozenset(item) for item in staff} == {
        frozenset({"username", "email", "role", "active", "bio", "image", "createdAt"})
    }
    everything = json.dumps([alice, me, login, listed, staff])
    assert "$argon2" not in everything
    assert PASSWORD not in everything
    assert created["key"] not in json.dumps(listed)


async def test_api3_tokens_carry_no_personal_data(client: httpx.AsyncClient) -> None:
    alice = await sign_up(client, "alice")
    header, payload, _ = alice["token"].split(".")
    decoded = b64url_decode(header) + b64url_decode(payload)
    for personal in (b"alice", b"example.com", b"user", b"admin", PASSWORD.encode()):
        assert personal not in decoded
    assert set(json.loads(b64url_decode(payload))) == {
        "sub",
        "sid",
        "iat",
        "nbf",
        "exp",
        "iss",
        "typ",
        "jti",
    }


async def test_api3_validation_errors_never_echo_what_was_sent(client: httpx.AsyncClient) -> None:
    secret = "s3cr3t-value-that-must-not-come-back"
    attempts = [
        ("/api/users", {"user": {"username": secret + "!", "email": secret, "password": 1234}}),
        (
            "/api/users",
            {"user": {"username": "x", "email": "x@example.com", "password": secret[:5]}},
        ),
        ("/api/users/login", {"user": {"email": secret, "password": ["list", secret]}}),
        ("/api/auth/password-reset/confirm", {"token": 7, "password": secret[:3]}),
        ("/api/auth/refresh", {"refresh_token": secret * 200}),
    ]
    for path, body in attempts:
        response = await client.post(path, json=body)
        assert response.status_code == 422, response.text
        assert secret not in response.text
        assert secret[:5] not in response.text
