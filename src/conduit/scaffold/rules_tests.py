"""The generated `tests/<plural>/test_rules.py`: each field's limits, uniqueness, who may
do what, and references to items the caller cannot see."""

from __future__ import annotations

from string import Template

from conduit.scaffold.code import camel
from conduit.scaffold.spec import Resource
from conduit.scaffold.testdata import Parents, bad_values, required
from conduit.scaffold.tests import _header

_LIMITS = Template("""

BAD: list[tuple[str, Any]] = $bad
REQUIRED: list[str] = $required
SCOPE = "$plural:write"


@pytest.mark.parametrize(("field", "value"), BAD)
async def test_a_bad_value_is_422_keyed_by_its_field(
    client: httpx.AsyncClient, app: Any, field: str, value: Any
) -> None:
    token = await writer(client, app)
    sent = {**await body(client, app, token), field: value}
    response = await client.post(PATH, json=sent, headers=auth(token))
    assert response.status_code == 422, response.text
    assert field in error_body(response)["errors"]
    if isinstance(value, str) and len(value.strip()) > 3:
        assert value not in response.text  # never echoed


async def test_unknown_and_missing_fields_are_422(client: httpx.AsyncClient, app: Any) -> None:
    token = await writer(client, app)
    sent = await body(client, app, token)
    response = await client.post(PATH, json={**sent, "surprise": 1}, headers=auth(token))
    assert response.status_code == 422
    assert "surprise" in error_body(response)["errors"]
    item = await create(client, app, token, 1)
    for field in REQUIRED:
        partial = {k: v for k, v in sent.items() if k != field}
        response = await client.post(PATH, json=partial, headers=auth(token))
        assert response.status_code == 422
        assert field in error_body(response)["errors"]
        url = f"{PATH}/{item['id']}"
        cleared = await client.patch(url, json={field: None}, headers=auth(token))
        assert cleared.status_code == 422
""")

_UNIQUE = Template("""

@pytest.mark.parametrize("field", $unique)
async def test_a_taken_unique_value_is_409(client: httpx.AsyncClient, app: Any, field: str) -> None:
    token = await writer(client, app)
    taken = await create(client, app, token, 0)
    sent = {**await body(client, app, token, 1), field: taken[field]}
    response = await client.post(PATH, json=sent, headers=auth(token))
    assert response.status_code == 409, response.text
    assert error_body(response) == {"errors": {field: ["has already been taken"]}}
    if SOFT_DELETE:  # a deleted item keeps its unique values
        await client.delete(f"{PATH}/{taken['id']}", headers=auth(token))
        assert (await client.post(PATH, json=sent, headers=auth(token))).status_code == 409
""")

_ACCESS = """

async def test_anonymous_callers(client: httpx.AsyncClient, app: Any) -> None:
    token = await writer(client, app)
    item = await create(client, app, token)
    url = f"{PATH}/{item['id']}"
    assert (await client.post(PATH, json=BODIES[1])).status_code == 401
    assert (await client.patch(url, json={})).status_code == 401
    assert (await client.delete(url)).status_code == 401
    expected = 401 if PRIVATE else 200
    assert (await client.get(url)).status_code == expected
    assert (await client.get(PATH)).status_code == expected


async def test_another_user(client: httpx.AsyncClient, app: Any) -> None:
    token = await writer(client, app)
    item = await create(client, app, token)
    url = f"{PATH}/{item['id']}"
    other = await register(client, "mallory")
    if not OWNED:  # only admins write
        sent = await body(client, app, token, 1)
        assert (await client.post(PATH, json=sent, headers=auth(other))).status_code == 403
    seen = await client.get(url, headers=auth(other))
    assert seen.status_code == (404 if PRIVATE else 200)
    listed = (await client.get(PATH, headers=auth(other))).json()
    assert listed["total_count"] == (0 if PRIVATE else 1)
    refused = 404 if PRIVATE else 403
    assert (await client.patch(url, json={}, headers=auth(other))).status_code == refused
    replaced = await client.put(url, json=BODIES[1], headers=auth(other))
    assert replaced.status_code in {422, refused}
    assert (await client.delete(url, headers=auth(other))).status_code == refused
    assert (await client.get(url, headers=auth(token))).json() == item


async def test_an_admin_manages_every_item(client: httpx.AsyncClient, app: Any) -> None:
    token = await writer(client, app)
    item = await create(client, app, token)
    url = f"{PATH}/{item['id']}"
    admin = await make_staff(client, app, "overseer")
    assert (await client.get(url, headers=auth(admin))).status_code == 200
    assert (await client.get(PATH, headers=auth(admin))).json()["total_count"] == 1
    field, value = next(iter(BODIES[1].items()))
    changed = await client.patch(url, json={field: value}, headers=auth(admin))
    assert changed.status_code == 200, changed.text
    assert (await client.delete(url, headers=auth(admin))).status_code == 204


async def test_an_api_key_writes_only_with_the_scope(client: httpx.AsyncClient, app: Any) -> None:
    token = await writer(client, app)
    sent = await body(client, app, token)
    without = api_key(await make_key(client, token, []))
    response = await client.post(PATH, json=sent, headers=without)
    assert response.status_code == 403
    assert error_body(response) == {"errors": {"scope": [f"requires {SCOPE}"]}}
    with_scope = api_key(await make_key(client, token, [SCOPE]))
    created = await client.post(PATH, json=sent, headers=with_scope)
    assert created.status_code == 201, created.text
    assert (await client.get(f"{PATH}/{created.json()['id']}", headers=without)).status_code == 200
"""

_REFS = """

@pytest.mark.parametrize("ref", range(len(REFS)))
async def test_a_reference_to_an_item_the_caller_cannot_see_is_404(
    client: httpx.AsyncClient, app: Any, ref: int
) -> None:
    field, path, parents, by_admin = REFS[ref]
    token = await writer(client, app)
    if by_admin:
        other = await make_staff(client, app, "stranger")
    else:
        other = await register(client, "stranger")
    theirs = await client.post(path, json=parents[3], headers=auth(other))
    assert theirs.status_code == 201, theirs.text
    sent = {**await body(client, app, token), field: theirs.json()["id"]}
    response = await client.post(PATH, json=sent, headers=auth(token))
    seen = await client.get(f"{path}/{theirs.json()['id']}", headers=auth(token))
    parent_private = seen.status_code == 404
    assert response.status_code == (404 if parent_private else 201), response.text
    missing = {**sent, field: 2**31 - 1}
    assert (await client.post(PATH, json=missing, headers=auth(token))).status_code == 404
"""


def render_rules_tests(resource: Resource, parents: Parents) -> str:
    text = _header(resource, "Limits, uniqueness and access", parents)
    text += _LIMITS.substitute(
        bad=repr(bad_values(resource)), required=repr(required(resource)), plural=resource.plural
    )
    unique = [camel(f.column) for f in resource.fields if f.unique]
    if unique:
        text += _UNIQUE.substitute(unique=repr(unique))
    text += _ACCESS
    if resource.refs:
        text += _REFS
    return text
