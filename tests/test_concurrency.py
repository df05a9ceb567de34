"""Concurrent writers: no lost updates, no duplicates, no 500s.

Requests are issued together with `asyncio.gather` over one client, so they interleave in
the app. On SQLite writers queue on `BEGIN IMMEDIATE` + `busy_timeout`; on PostgreSQL
they race for real and the unique constraints decide.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.factories import PASSWORD, auth, create_article, register

TIMEOUT = 120  # seconds for one burst: a hang is a failure, not a stuck suite

# Dozens of users sign up here, all from the test client's one address: more than the
# default per-IP limit of the auth endpoints allows in a minute.
pytestmark = pytest.mark.settings(rate_limit_auth="1000/minute")


async def burst(*requests: Awaitable[httpx.Response]) -> list[httpx.Response]:
    async with asyncio.timeout(TIMEOUT):
        return list(await asyncio.gather(*requests))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def assert_all(responses: list[httpx.Response], status: int) -> None:
    bad = [(r.status_code, r.text[:300]) for r in responses if r.status_code != status]
    assert not bad, f"{len(bad)} of {len(responses)} not {status}: {bad[:3]}"


def new_user(username: str, email: str | None = None) -> dict[str, Any]:
    return {
        "user": {
            "username": username,
            "email": email or f"{username}@example.com",
            "password": PASSWORD,
        }
    }


# --- favorites ------------------------------------------------------------------------


async def test_fifty_users_favorite_one_article_at_once(client: httpx.AsyncClient) -> None:
    author = await register(client, "author")
    slug = (await create_article(client, author, "Popular"))["slug"]
    tokens = [await register(client, f"fan{i:02}") for i in range(50)]

    responses = await burst(
        *(client.post(f"/api/articles/{slug}/favorite", headers=auth(t)) for t in tokens)
    )

    assert_all(responses, 200)
    for response in responses:
        article = response.json()["article"]
        assert article["favorited"] is True
        assert 1 <= article["favoritesCount"] <= 50
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 50
    fans = (await client.get("/api/articles", params={"favorited": "fan00"})).json()
    assert fans["articlesCount"] == 1
    listed = (await client.get("/api/articles", headers=auth(tokens[7]))).json()["articles"]
    assert listed[0]["favoritesCount"] == 50
    assert listed[0]["favorited"] is True


async def test_fifty_users_unfavorite_one_article_at_once(client: httpx.AsyncClient) -> None:
    author = await register(client, "author")
    slug = (await create_article(client, author, "Popular"))["slug"]
    tokens = [await register(client, f"fan{i:02}") for i in range(50)]
    for token in tokens:
        await client.post(f"/api/articles/{slug}/favorite", headers=auth(token))

    leaving, staying = tokens[:30], tokens[30:]
    responses = await burst(
        *(client.delete(f"/api/articles/{slug}/favorite", headers=auth(t)) for t in leaving)
    )

    assert_all(responses, 200)
    assert all(r.json()["article"]["favorited"] is False for r in responses)
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == len(staying)


async def test_same_user_favorites_ten_times_at_once(client: httpx.AsyncClient) -> None:
    author = await register(client, "author")
    slug = (await create_article(client, author, "Popular"))["slug"]
    fan = await register(client, "fan")

    responses = await burst(
        *(client.post(f"/api/articles/{slug}/favorite", headers=auth(fan)) for _ in range(10))
    )

    assert_all(responses, 200)
    assert all(r.json()["article"]["favoritesCount"] == 1 for r in responses)
    article = (await client.get(f"/api/articles/{slug}", headers=auth(fan))).json()["article"]
    assert article["favoritesCount"] == 1
    assert article["favorited"] is True


async def test_favorite_and_unfavorite_race_leaves_a_consistent_count(
    client: httpx.AsyncClient,
) -> None:
    author = await register(client, "author")
    slug = (await create_article(client, author, "Popular"))["slug"]
    tokens = [await register(client, f"fan{i:02}") for i in range(20)]
    for token in tokens[:10]:  # the first ten already favorite it
        await client.post(f"/api/articles/{slug}/favorite", headers=auth(token))

    responses = await burst(
        *(client.delete(f"/api/articles/{slug}/favorite", headers=auth(t)) for t in tokens[:10]),
        *(client.post(f"/api/articles/{slug}/favorite", headers=auth(t)) for t in tokens[10:]),
    )

    assert_all(responses, 200)
    article = (await client.get(f"/api/articles/{slug}")).json()["article"]
    assert article["favoritesCount"] == 10
    for i, token in enumerate(tokens):
        seen = (await client.get(f"/api/articles/{slug}", headers=auth(token))).json()
        assert seen["article"]["favorited"] is (i >= 10)


# --- slugs --------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [2, 10])
async def test_same_title_created_at_once_gets_distinct_slugs(
    client: httpx.AsyncClient, count: int
) -> None:
    tokens = [await register(client, f"writer{i}") for i in range(2)]
    article = {"title": "Same Title", "description": "d", "body": "b", "tagList": ["race", "new"]}

    responses = await burst(
        *(
            client.post("/api/articles", json={"article": article}, headers=auth(tokens[i % 2]))
            for i in range(count)
        )
    )

    assert_all(responses, 201)
    slugs = [r.json()["article"]["slug"] for r in responses]
    assert len(set(slugs)) == count, slugs
    assert "same-title" in slugs
    assert all(s == "same-title" or s.startswith("same-title-") for s in slugs)
    for slug in slugs:
        fetched = (await client.get(f"/api/articles/{slug}")).json()["article"]
        assert fetched["title"] == "Same Title"
        assert fetched["tagList"] == ["new", "race"]
    listed = (await client.get("/api/articles", params={"tag": "race", "limit": 100})).json()
    assert listed["articlesCount"] == count
    assert (await client.get("/api/tags")).json()["tags"] == ["new", "race"]


async def test_articles_renamed_to_the_same_title_at_once_get_distinct_slugs(
    client: httpx.AsyncClient,
) -> None:
    token = await register(client, "writer")
    slugs = [(await create_article(client, token, f"Draft {i}"))["slug"] for i in range(5)]

    responses = await burst(
        *(
            client.put(
                f"/api/articles/{slug}", json={"article": {"title": "Final"}}, headers=auth(token)
            )
            for slug in slugs
        )
    )

    assert_all(responses, 200)
    new_slugs = [r.json()["article"]["slug"] for r in responses]
    assert len(set(new_slugs)) == len(slugs), new_slugs
    assert "final" in new_slugs
    for slug in new_slugs:
        assert (await client.get(f"/api/articles/{slug}")).json()["article"]["title"] == "Final"
    for slug in slugs:
        assert (await client.get(f"/api/articles/{slug}")).status_code == 404


# --- maintained counts ----------------------------------------------------------------------


async def total(
    client: httpx.AsyncClient, token: str, path: str = "/api/articles", **q: str
) -> int:
    """articlesCount on a full page of one (the maintained count), after checking it against
    what a page of 100 lists."""
    one = (await client.get(path, params={**q, "limit": 1}, headers=auth(token))).json()
    page = (await client.get(path, params={**q, "limit": 100}, headers=auth(token))).json()
    assert one["articlesCount"] == len(page["articles"]), q
    count: int = one["articlesCount"]
    return count


def story(n: int, tags: list[str]) -> dict[str, Any]:
    return {"article": {"title": f"Story {n}", "description": "d", "body": "b", "tagList": tags}}


async def test_counts_stay_exact_under_concurrent_writes(client: httpx.AsyncClient) -> None:
    """Every write at once touches the global count and the popular tag's: on PostgreSQL they
    queue on (slots of) the same counter rows, and must neither lose a change nor deadlock."""
    authors = [await register(client, f"author{i}") for i in range(4)]
    fans = [await register(client, f"fan{i}") for i in range(4)]
    for author in ("author0", "author1"):
        await client.post(f"/api/profiles/{author}/follow", headers=auth(fans[0]))

    created = await burst(
        *(
            client.post("/api/articles", json=story(n, ["hot", f"t{n % 3}"]), headers=auth(a))
            for n, a in ((n, authors[n % 4]) for n in range(40))
        )
    )
    assert_all(created, 201)
    slugs = [r.json()["article"]["slug"] for r in created]  # the nth is by author n % 4
    reader = fans[3]
    assert await total(client, reader) == 40
    assert await total(client, reader, tag="hot") == 40
    assert await total(client, reader, tag="t0") == 14
    assert await total(client, reader, author="author1") == 10

    favorited = await burst(
        *(
            client.post(f"/api/articles/{slug}/favorite", headers=auth(f))
            for slug in slugs[:12]
            for f in fans
        )
    )
    assert_all(favorited, 200)
    assert await total(client, reader, favorited="fan1") == 12

    # At once: those twelve deleted (each taking its four fans' counts), eight retagged, the
    # last twenty favorited by every fan, ten more created.
    changed = await burst(
        *(
            client.delete(f"/api/articles/{slugs[n]}", headers=auth(authors[n % 4]))
            for n in range(12)
        ),
        *(
            client.put(
                f"/api/articles/{slugs[n]}",
                json={"article": {"tagList": ["cold"]}},
                headers=auth(authors[n % 4]),
            )
            for n in range(12, 20)
        ),
        *(
            client.post(f"/api/articles/{slug}/favorite", headers=auth(fan))
            for slug in slugs[20:]
            for fan in fans
        ),
        *(
            client.post("/api/articles", json=story(40 + m, ["hot"]), headers=auth(authors[m % 4]))
            for m in range(10)
        ),
    )
    assert statuses(changed) == Counter({204: 12, 200: 8 + 80, 201: 10})
    assert await total(client, reader) == 38
    assert await total(client, reader, tag="hot") == 30
    assert await total(client, reader, tag="cold") == 8
    assert await total(client, reader, tag="t0") == sum(1 for n in range(20, 40) if n % 3 == 0)
    assert await total(client, reader, author="author0") == 7 + 3
    for fan in ("fan0", "fan3"):
        assert await total(client, reader, favorited=fan) == 20
    by_0_or_1 = sum(1 for n in range(12, 40) if n % 4 < 2) + sum(1 for m in range(10) if m % 4 < 2)
    assert await total(client, fans[0], "/api/articles/feed") == by_0_or_1


# --- registration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "key"),
    [
        (new_user("twin", "one@example.com"), new_user("twin", "two@example.com"), "username"),
        (new_user("Twin", "one@example.com"), new_user("twin", "two@example.com"), "username"),
        (new_user("one", "twin@example.com"), new_user("two", "twin@example.com"), "email"),
        (new_user("one", "Twin@Example.com"), new_user("two", "twin@example.com"), "email"),
    ],
    ids=["same-username", "username-differs-in-case", "same-email", "email-differs-in-case"],
)
async def test_two_registrations_of_one_identity_at_once(
    client: httpx.AsyncClient, first: dict[str, Any], second: dict[str, Any], key: str
) -> None:
    responses = await burst(
        client.post("/api/users", json=first), client.post("/api/users", json=second)
    )

    assert statuses(responses) == {201: 1, 409: 1}, [(r.status_code, r.text) for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["errors"] == {key: ["has already been taken"]}
    winner = next(r for r in responses if r.status_code == 201).json()["user"]
    me = await client.get("/api/user", headers=auth(winner["token"]))
    assert me.json()["user"]["username"] == winner["username"]


async def test_ten_registrations_of_one_username_at_once(client: httpx.AsyncClient) -> None:
    responses = await burst(
        *(
            client.post("/api/users", json=new_user("same", f"same{i}@example.com"))
            for i in range(10)
        )
    )

    assert statuses(responses) == {201: 1, 409: 9}, statuses(responses)
    for response in responses:
        if response.status_code == 409:
            assert response.json()["errors"] == {"username": ["has already been taken"]}


async def test_fifty_distinct_registrations_at_once(client: httpx.AsyncClient) -> None:
    responses = await burst(
        *(client.post("/api/users", json=new_user(f"u{i:02}")) for i in range(50))
    )

    assert_all(responses, 201)
    names = {r.json()["user"]["username"] for r in responses}
    assert names == {f"u{i:02}" for i in range(50)}
    login = {"user": {"email": "u42@example.com", "password": PASSWORD}}
    assert (await client.post("/api/users/login", json=login)).status_code == 200


async def test_two_users_renaming_to_one_username_at_once(client: httpx.AsyncClient) -> None:
    tokens = [await register(client, name) for name in ("first", "second")]

    responses = await burst(
        *(
            client.put("/api/user", json={"user": {"username": "wanted"}}, headers=auth(t))
            for t in tokens
        )
    )

    assert statuses(responses) == {200: 1, 409: 1}, [(r.status_code, r.text) for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.json()["errors"] == {"username": ["has already been taken"]}
    profile = await client.get("/api/profiles/wanted")
    assert profile.status_code == 200


# --- comments -------------------------------------------------------------------------------


async def test_twenty_comments_at_once_are_all_kept(client: httpx.AsyncClient) -> None:
    token = await register(client, "writer")
    slug = (await create_article(client, token, "Discussed"))["slug"]
    readers = [await register(client, f"reader{i}") for i in range(4)]

    responses = await burst(
        *(
            client.post(
                f"/api/articles/{slug}/comments",
                json={"comment": {"body": f"comment {i}"}},
                headers=auth(readers[i % 4]),
            )
            for i in range(20)
        )
    )

    assert_all(responses, 201)
    ids = [r.json()["comment"]["id"] for r in responses]
    assert len(set(ids)) == 20
    comments = (await client.get(f"/api/articles/{slug}/comments")).json()["comments"]
    assert sorted(c["body"] for c in comments) == sorted(f"comment {i}" for i in range(20))


# --- writes racing a delete -------------------------------------------------------------------


async def test_writes_racing_the_deletion_of_their_article_are_never_a_500(
    client: httpx.AsyncClient,
) -> None:
    """Favorites, comments and edits that lose the race to a DELETE are 404s, not FK errors."""
    author = await register(client, "author")
    readers = [await register(client, f"reader{i:02}") for i in range(20)]
    for attempt in range(10):
        slug = (await create_article(client, author, f"Doomed {attempt}"))["slug"]
        path = f"/api/articles/{slug}"

        responses = await burst(
            *(client.post(f"{path}/favorite", headers=auth(t)) for t in readers[:10]),
            client.delete(path, headers=auth(author)),
            *(
                client.post(f"{path}/comments", json={"comment": {"body": "hi"}}, headers=auth(t))
                for t in readers[10:]
            ),
            client.put(path, json={"article": {"tagList": ["late"]}}, headers=auth(author)),
        )

        bad = [(r.request.method, r.status_code, r.text[:200]) for r in responses]
        bad = [b for b in bad if b[1] not in {200, 201, 204, 404}]
        assert not bad, bad
        for response in responses:
            if response.status_code == 404:
                assert response.json()["errors"] == {"article": ["not found"]}
        assert (await client.get(path)).status_code == 404


@contextmanager
def article_deleted_concurrently(
    app: Any, database_url: str, statement_prefix: str, slug: str
) -> Iterator[threading.Thread]:
    """Right before the request runs `statement_prefix`, another connection (in another
    thread) deletes the article: the interleaving a concurrent DELETE produces on PostgreSQL.
    The request holds a lock on the article's row, so the DELETE has to wait for it."""
    engine = app.state.db.engine.sync_engine
    deleter = threading.Thread(target=asyncio.run, args=(_delete_article(database_url, slug),))

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if deleter.is_alive() or not statement.lstrip().upper().startswith(statement_prefix):
            return
        if deleter.ident is None:
            deleter.start()
            time.sleep(0.3)  # long enough for the DELETE to reach the server and block
            assert deleter.is_alive(), "the DELETE did not wait for the request's row lock"

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield deleter
    finally:
        event.remove(engine, "before_cursor_execute", before)
    assert deleter.ident is not None, f"no {statement_prefix} statement ran"
    deleter.join(timeout=10)
    assert not deleter.is_alive(), "the DELETE never finished"


async def _delete_article(database_url: str, slug: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            # By id, fixed before the wait: the request may rename the article meanwhile.
            await conn.execute(
                text("DELETE FROM articles WHERE id = (SELECT id FROM articles WHERE slug = :s)"),
                {"s": slug},
            )
    finally:
        await engine.dispose()


LATE_WRITES = {
    "favorite": ("POST", "/favorite", None, "INSERT INTO favorites", 200),
    "unfavorite": ("DELETE", "/favorite", None, "DELETE FROM favorites", 200),
    "comment": (
        "POST",
        "/comments",
        {"comment": {"body": "too late"}},
        "INSERT INTO comments",
        201,
    ),
    "edit-tags": ("PUT", "", {"article": {"tagList": ["late"]}}, "UPDATE articles", 200),
    "edit-title": ("PUT", "", {"article": {"title": "Renamed"}}, "UPDATE articles", 200),
}


@pytest.mark.parametrize(
    ("method", "suffix", "body", "statement", "status"),
    LATE_WRITES.values(),
    ids=LATE_WRITES.keys(),
)
async def test_delete_racing_a_write_waits_for_it(
    app: Any,
    client: httpx.AsyncClient,
    database_url: str,
    method: str,
    suffix: str,
    body: Any,
    statement: str,
    status: int,
) -> None:
    """A DELETE arriving between a write's article lookup and its write waits for the
    write to commit (row lock), then removes the article: no FK violation, no 500."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): this interleaving cannot occur")
    author = await register(client, "author")
    reader = await register(client, "reader")
    slug = (await create_article(client, author, "Doomed"))["slug"]
    await client.post(f"/api/articles/{slug}/favorite", headers=auth(reader))
    token = author if method == "PUT" else reader

    with article_deleted_concurrently(app, database_url, statement.upper(), slug):
        response = await client.request(
            method, f"/api/articles/{slug}{suffix}", json=body, headers=auth(token)
        )

    assert response.status_code == status, response.text
    assert (await client.get(f"/api/articles/{slug}")).status_code == 404
    assert (
        await client.get(f"/api/articles/{response.json().get('article', {}).get('slug', slug)}")
    ).status_code == 404
