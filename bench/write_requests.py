"""The writes `bench.writes` sends: each request, the rows it draws on, and the ASGI call."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from bench.asgi import _login, scope_for
from bench.seed import PASSWORD

BODY = "Benchmarks measure what they measure, nothing more. " * 12
KINDS = (
    "create", "create1", "create3new", "create_keyed", "favorite", "favorite_keyed",
    "comment", "follow", "update", "update_title", "delete", "login",
)  # fmt: skip


@dataclass
class Pools:
    token: str
    other_token: str
    email: str
    tags: list[str]
    slugs: list[str]  # live articles by others, not favorited by the user
    usernames: list[str]  # users the user does not follow
    own: list[str] = field(default_factory=list)  # the user's own articles (update, delete)
    n: int = 0


Req = tuple[str, str, list[tuple[bytes, bytes]], bytes]


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value).encode()


def _auth(token: str, keyed: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"authorization", f"Token {token}".encode()),
        (b"content-type", b"application/json"),
    ]
    if keyed:
        headers.append((b"idempotency-key", secrets.token_hex(16).encode()))
    return headers


def request_for(kind: str, p: Pools) -> Req:
    p.n += 1
    n, tag = p.n, secrets.token_hex(4)
    if kind.startswith("create"):
        tags = {
            "create": [p.tags[0], p.tags[1], f"new-{tag}"],
            "create_keyed": [p.tags[0], p.tags[1], f"new-{tag}"],
            "create1": [p.tags[2]],
            "create3new": [f"new-{tag}-a", f"new-{tag}-b", f"new-{tag}-c"],
        }[kind]
        title = f"Write profile {n} {tag}"
        body = {"article": {"title": title, "description": "d", "body": BODY, "tagList": tags}}
        return "POST", "/api/articles", _auth(p.token, kind == "create_keyed"), _json(body)
    if kind.startswith("favorite"):
        slug = p.slugs[n % len(p.slugs)]
        headers = _auth(p.token, kind == "favorite_keyed")
        return "POST", f"/api/articles/{slug}/favorite", headers, b""
    if kind == "comment":
        body = {"comment": {"body": f"A comment {n}"}}
        return (
            "POST",
            f"/api/articles/{p.slugs[n % len(p.slugs)]}/comments",
            _auth(p.token),
            _json(body),
        )
    if kind == "follow":
        name = p.usernames[n % len(p.usernames)]
        return "POST", f"/api/profiles/{name}/follow", _auth(p.token), b""
    if kind == "update":
        body = {"article": {"body": f"{BODY} {n}"}}
        return "PUT", f"/api/articles/{p.own[n % len(p.own)]}", _auth(p.token), _json(body)
    if kind == "update_title":
        slug = p.own.pop()
        body = {"article": {"title": f"Retitled {n} {tag}", "tagList": [p.tags[0], f"new-{tag}"]}}
        return "PUT", f"/api/articles/{slug}", _auth(p.token), _json(body)
    if kind == "delete":
        return "DELETE", f"/api/articles/{p.own.pop()}", _auth(p.token), b""
    if kind == "login":
        body = {"user": {"email": p.email, "password": PASSWORD}}
        return "POST", "/api/users/login", [(b"content-type", b"application/json")], _json(body)
    raise ValueError(kind)


async def send(app: Any, req: Req) -> tuple[int, bytes]:
    method, path, headers, body = req
    scope = scope_for(path, headers)
    scope["method"] = method
    status = 0
    sent: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def sink(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await app(scope, receive, sink)
    return status, b"".join(sent)


async def make_pools(app: Any, own: int) -> Pools:
    db = app.state.db
    async with db.session() as s:
        users = (await s.execute(text("SELECT id, email FROM users ORDER BY id LIMIT 2"))).all()
        (uid, email), (_, other) = users
        tags = list(
            (
                await s.scalars(
                    text(
                        "SELECT t.name FROM tags t JOIN article_counts c ON c.kind = 2 AND "
                        "c.subject_id = t.id GROUP BY t.name ORDER BY sum(c.n) DESC LIMIT 3"
                    )
                )
            ).all()
        )
        slugs = list(
            (
                await s.scalars(
                    text(
                        "SELECT slug FROM articles a WHERE deleted_at IS NULL AND author_id <> :u "
                        "AND NOT EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = a.id "
                        "AND f.user_id = :u) ORDER BY id LIMIT 9000"
                    ),
                    {"u": uid},
                )
            ).all()
        )
        names = list(
            (
                await s.scalars(
                    text(
                        "SELECT username FROM users u WHERE id <> :u AND NOT EXISTS (SELECT 1 "
                        "FROM follows f WHERE f.follower_id = :u AND f.followee_id = u.id) "
                        "ORDER BY id"
                    ),
                    {"u": uid},
                )
            ).all()
        )
    pools = Pools(await _login(app, email), await _login(app, other), email, tags, slugs, names)
    for _ in range(own):
        status, body = await send(app, request_for("create1", pools))
        assert status == 201, body
        import json

        pools.own.append(json.loads(body)["article"]["slug"])
    return pools
