"""Bad input on the comments: text in any script, comment ids, comments of another article."""

from __future__ import annotations

import httpx
import pytest

from tests.bad_input.checks import MARK, check
from tests.bad_input.endpoints import CREATE_COMMENT, send
from tests.bad_input.fixtures import World
from tests.bad_input.routes import call
from tests.bad_input.values import TEXT_PARAMS
from tests.factories import create_article


@pytest.mark.parametrize("text", TEXT_PARAMS)
async def test_comment_in_any_script_round_trips(
    client: httpx.AsyncClient, world: World, text: str
) -> None:
    created = check(await send(client, world, CREATE_COMMENT, {"comment": {"body": text}}), 201)
    assert created["comment"]["body"] == text
    listed = check(await client.get(f"/api/articles/{world.slug}/comments"), 200)["comments"]
    assert text in [c["body"] for c in listed]


@pytest.mark.parametrize(
    "comment_id",
    ["0", "-1", "1" + "0" * 30, str(2**31), "abc", "1.5", "1e3", "%00", f"{MARK}", "0x10"],
)
async def test_bad_comment_id_is_422(
    client: httpx.AsyncClient, world: World, comment_id: str
) -> None:
    response = await call(
        client, "DELETE", f"/api/articles/{world.slug}/comments/{comment_id}", token=world.token
    )
    check(response, 422, "id")


@pytest.mark.parametrize("comment_id", ["999999", str(2**31 - 1)])
async def test_unknown_comment_id_is_404_comment(
    client: httpx.AsyncClient, world: World, comment_id: str
) -> None:
    response = await call(
        client, "DELETE", f"/api/articles/{world.slug}/comments/{comment_id}", token=world.token
    )
    check(response, 404, "comment", "not found")


async def test_comment_reached_through_another_article_is_404(
    client: httpx.AsyncClient, world: World
) -> None:
    other = await create_article(client, world.token, "Other article")
    response = await call(
        client,
        "DELETE",
        f"/api/articles/{other['slug']}/comments/{world.comment_id}",
        token=world.token,
    )
    check(response, 404, "comment")
    comments = check(await client.get(f"/api/articles/{world.slug}/comments"), 200)["comments"]
    assert [c["id"] for c in comments] == [world.comment_id]
