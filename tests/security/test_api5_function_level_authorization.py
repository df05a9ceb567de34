"""OWASP API5:2023 Broken Function Level Authorization.

Staff functions (user management, restore, deleting others' content) are tried by every
lesser caller: anonymous, a plain user, a moderator where only admins may act, and API keys
without the needed scope, including an admin's own key. API keys never reach the functions
reserved to a session (managing keys and sessions, changing credentials). Roles are read on
every request, so a demotion takes effect at once.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conduit.core.config import Settings
from tests.factories import auth, create_article, error_body, log_in, make_key, sign_up
from tests.security.support import admin_view, set_standing, staff_token

ROLE_FORBIDDEN = {"errors": {"role": ["forbidden"]}}
KEY_FORBIDDEN = {"errors": {"api_key": ["cannot manage API keys or sessions"]}}

ADMIN_ONLY = [
    ("GET", "/api/admin/users", None),
    ("GET", "/api/v1/admin/users", None),
    ("PATCH", "/api/admin/users/victim", {"role": "admin"}),
    ("PATCH", "/api/admin/users/victim", {"active": False}),
    ("PATCH", "/api/v1/admin/users/victim", {"role": "moderator"}),
]


@pytest.fixture
async def callers(client: httpx.AsyncClient, settings: Settings) -> dict[str, dict[str, str]]:
    """Everyone who must not manage users, by the headers they send."""
    admin = await staff_token(client, settings, "root")
    moderator = await staff_token(client, settings, "mod", role="moderator")
    user = await sign_up(client, "mallory")
    await sign_up(client, "victim")
    admin_key_without_scope = await make_key(
        client, admin, ["articles:write", "comments:write", "profile:write"]
    )
    mallory_key = await make_key(
        client, user["token"], ["articles:write", "comments:write", "profile:write"]
    )
    return {
        "anonymous": {},
        "user": auth(user["token"]),
        "user-api-key": {"X-API-Key": mallory_key["key"]},
        "moderator": auth(moderator),
        "admin-key-without-admin-scope": {"X-API-Key": admin_key_without_scope["key"]},
        "_admin": auth(admin),
    }


@pytest.mark.parametrize(
    "who",
    ["anonymous", "user", "user-api-key", "moderator", "admin-key-without-admin-scope"],
)
async def test_api5_user_management_is_for_admins_only(
    client: httpx.AsyncClient, callers: dict[str, dict[str, str]], who: str
) -> None:
    headers = callers[who]
    admin = callers["_admin"]["Authorization"].split()[1]
    before = await admin_view(client, admin, "victim")
    for method, path, body in ADMIN_ONLY:
        response = await client.request(method, path, json=body, headers=headers)
        if who == "anonymous":
            assert response.status_code == 401, response.text
            assert error_body(response) == {"errors": {"token": ["is missing"]}}
        else:
            assert response.status_code == 403, (path, response.text)
    assert await admin_view(client, admin, "victim") == before
    mallory = await admin_view(client, admin, "mallory")
    assert (mallory["role"], mallory["active"]) == ("user", True)


async def test_api5_an_admin_key_with_the_admin_scope_may_manage_users(
    client: httpx.AsyncClient, callers: dict[str, dict[str, str]]
) -> None:
    """Guards the test above: the functions work for the right caller."""
    admin = callers["_admin"]["Authorization"].split()[1]
    key = await make_key(client, admin, ["admin"])
    response = await client.patch(
        "/api/admin/users/victim", json={"role": "moderator"}, headers={"X-API-Key": key["key"]}
    )
    assert response.status_code == 200, response.text
    assert (await admin_view(client, admin, "victim"))["role"] == "moderator"


async def test_api5_a_moderator_cannot_promote_themself_or_demote_an_admin(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    admin = await staff_token(client, settings, "root")
    moderator = await staff_token(client, settings, "mod", role="moderator")
    for target, change in [
        ("mod", {"role": "admin"}),
        ("root", {"role": "user"}),
        ("root", {"active": False}),
    ]:
        response = await client.patch(
            f"/api/admin/users/{target}", json=change, headers=auth(moderator)
        )
        assert response.status_code == 403, response.text
        assert error_body(response) == ROLE_FORBIDDEN
    assert (await admin_view(client, admin, "mod"))["role"] == "moderator"
    assert (await admin_view(client, admin, "root"))["role"] == "admin"


async def test_api5_only_an_admin_may_create_a_key_with_the_admin_scope(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    moderator = await staff_token(client, settings, "mod", role="moderator")
    user = await sign_up(client, "mallory")
    for token in (user["token"], moderator):
        response = await client.post(
            "/api/api-keys", json={"name": "escalate", "scopes": ["admin"]}, headers=auth(token)
        )
        assert response.status_code == 403, response.text
        assert (await client.get("/api/api-keys", headers=auth(token))).json()["items"] == []


async def test_api5_restore_and_moderation_are_for_staff_only(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    moderator = await staff_token(client, settings, "mod", role="moderator")
    author = await sign_up(client, "author")
    mallory = await sign_up(client, "mallory")
    key = await make_key(client, mallory["token"], ["articles:write", "comments:write"])
    slug = (await create_article(client, author["token"], "Moderated"))["slug"]
    assert (
        await client.delete(f"/api/articles/{slug}", headers=auth(author["token"]))
    ).status_code == 204

    for headers in (auth(mallory["token"]), {"X-API-Key": key["key"]}):
        response = await client.post(f"/api/admin/articles/{slug}/restore", headers=headers)
        assert response.status_code == 403, response.text
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404

    restored = await client.post(f"/api/admin/articles/{slug}/restore", headers=auth(moderator))
    assert restored.status_code == 200, restored.text
    assert (await client.get(f"/api/articles/{slug}")).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/api-keys", None),
        ("POST", "/api/api-keys", {"name": "child", "scopes": ["articles:write"]}),
        ("DELETE", "/api/api-keys/{key_id}", None),
        ("POST", "/api/auth/logout", None),
        ("POST", "/api/auth/logout-all", None),
    ],
    ids=["list-keys", "create-key", "revoke-key", "logout", "logout-all"],
)
async def test_api5_an_api_key_cannot_manage_keys_or_sessions(
    client: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    alice = await sign_up(client, "alice")
    every_scope = ["articles:write", "comments:write", "profile:write"]
    key = await make_key(client, alice["token"], every_scope)
    other = await make_key(client, alice["token"], ["articles:write"], name="other")
    response = await client.request(
        method,
        path.format(key_id=other["id"]),
        json=body,
        headers={"X-API-Key": key["key"]},
    )
    assert response.status_code == 403, response.text
    assert error_body(response) == KEY_FORBIDDEN
    listed = (await client.get("/api/api-keys", headers=auth(alice["token"]))).json()
    assert listed["total_count"] == 2
    assert (await client.get("/api/user", headers=auth(alice["token"]))).status_code == 200


@pytest.mark.parametrize(
    "change",
    [{"password": "taken-over-by-key"}, {"email": "attacker@example.com"}],
    ids=["password", "email"],
)
async def test_api5_an_api_key_cannot_change_the_accounts_credentials(
    client: httpx.AsyncClient, app: Any, change: dict[str, str]
) -> None:
    """A key with `profile:write` edits the profile, but a new password or address would
    let whoever holds the key take the whole account over (log in, or reset the password
    through their own mailbox), escaping the key's scopes."""
    alice = await sign_up(client, "alice")
    key = await make_key(client, alice["token"], ["profile:write"])
    response = await client.put(
        "/api/user", json={"user": change}, headers={"X-API-Key": key["key"]}
    )
    assert response.status_code == 403, response.text
    assert error_body(response) == {"errors": {"api_key": ["cannot change the password or e-mail"]}}
    me = (await client.get("/api/user", headers=auth(alice["token"]))).json()["user"]
    assert me["email"] == "alice@example.com"
    assert (await log_in(client, "alice@example.com")).status_code == 200
    assert (await log_in(client, "alice@example.com", "taken-over-by-key")).status_code == 401

    bio = await client.put(
        "/api/user", json={"user": {"bio": "edited by key"}}, headers={"X-API-Key": key["key"]}
    )
    assert bio.status_code == 200, bio.text


@pytest.mark.parametrize(
    ("scopes", "method", "path", "body"),
    [
        (
            ["comments:write"],
            "POST",
            "/api/articles",
            {"article": {"title": "t", "description": "d", "body": "b"}},
        ),
        (["profile:write"], "DELETE", "/api/articles/{slug}", None),
        (["articles:write"], "POST", "/api/articles/{slug}/comments", {"comment": {"body": "c"}}),
        (["articles:write"], "PUT", "/api/user", {"user": {"bio": "b"}}),
        (["comments:write"], "POST", "/api/profiles/bob/follow", None),
        ([], "POST", "/api/articles/{slug}/favorite", None),
    ],
    ids=[
        "article-by-comments-key",
        "delete-by-profile-key",
        "comment-by-articles-key",
        "profile-by-articles-key",
        "follow-by-comments-key",
        "favorite-by-read-only-key",
    ],
)
async def test_api5_an_api_key_reaches_only_the_functions_of_its_scopes(
    client: httpx.AsyncClient,
    alice: str,
    bob: str,
    scopes: list[str],
    method: str,
    path: str,
    body: Any,
) -> None:
    slug = (await create_article(client, alice, "Scoped"))["slug"]
    before = (await client.get(f"/api/articles/{slug}", headers=auth(alice))).json()
    key = await make_key(client, alice, scopes)
    response = await client.request(
        method, path.format(slug=slug), json=body, headers={"X-API-Key": key["key"]}
    )
    assert response.status_code == 403, response.text
    assert list(error_body(response)["errors"]) == ["scope"]
    assert (await client.get(f"/api/articles/{slug}", headers=auth(alice))).json() == before
    assert (await client.get(f"/api/articles/{slug}/comments")).json()["comments"] == []
    assert (await client.get("/api/articles")).json()["articlesCount"] == 1


async def test_api5_a_demoted_admin_loses_staff_functions_at_once(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    root = await staff_token(client, settings, "root")
    second = await staff_token(client, settings, "second")
    second_key = await make_key(client, second, ["admin"])
    assert (await client.get("/api/admin/users", headers=auth(second))).status_code == 200

    await set_standing(client, root, "second", role="user")

    for headers in (auth(second), {"X-API-Key": second_key["key"]}):
        response = await client.get("/api/admin/users", headers=headers)
        assert response.status_code == 403, response.text
        patch = await client.patch(
            "/api/admin/users/second", json={"role": "admin"}, headers=headers
        )
        assert patch.status_code == 403
    assert (await admin_view(client, root, "second"))["role"] == "user"


async def test_api5_method_override_headers_do_not_unlock_other_functions(
    client: httpx.AsyncClient, alice: str, bob: str
) -> None:
    slug = (await create_article(client, alice, "Overridden"))["slug"]
    for header in ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"):
        response = await client.post(
            f"/api/articles/{slug}", headers={**auth(bob), header: "DELETE"}
        )
        assert response.status_code == 405, response.text
        response = await client.get(
            f"/api/articles/{slug}", headers={**auth(bob), header: "DELETE"}
        )
        assert response.status_code == 200
    assert (await client.get(f"/api/articles/{slug}")).status_code == 200
