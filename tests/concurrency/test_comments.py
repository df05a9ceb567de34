"""Comments at once: every one kept."""

from __future__ import annotations

import httpx

from tests.factories import MANY_SIGN_UPS, assert_all, auth, burst, create_article, register

pytestmark = MANY_SIGN_UPS


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
