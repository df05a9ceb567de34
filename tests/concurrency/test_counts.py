"""The maintained article counts under concurrent writes: exact, and no deadlock."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx

from tests.factories import MANY_SIGN_UPS, assert_all, auth, burst, register, statuses

pytestmark = MANY_SIGN_UPS


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
