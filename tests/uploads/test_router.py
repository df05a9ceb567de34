"""Image uploads over HTTP: detection by content, size limit, safe serving, auth."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import auth

MAX = 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 16
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L" + b"\x00" * 14
NAME = r"[0-9a-f]{32}"


@pytest.fixture(autouse=True)
def upload_dir(app: Any, tmp_path: Path) -> Path:
    """Each test stores into its own directory (created on first upload), with a small limit."""
    directory = tmp_path / "uploads"
    app.state.settings = app.state.settings.model_copy(
        update={"upload_dir": str(directory), "upload_max_bytes": MAX}
    )
    return directory


def stored(directory: Path) -> dict[str, bytes]:
    """What the upload directory holds, by file name (blocking I/O, kept out of async code)."""
    if not directory.exists():
        return {}
    return {path.name: path.read_bytes() for path in directory.iterdir()}


async def upload(
    client: httpx.AsyncClient,
    data: bytes,
    headers: dict[str, str],
    filename: str = "image.bin",
    content_type: str = "application/octet-stream",
) -> httpx.Response:
    files = {"file": (filename, data, content_type)}
    return await client.post("/api/uploads", files=files, headers=headers)


@pytest.mark.parametrize(
    ("data", "extension", "media_type"),
    [
        (PNG, "png", "image/png"),
        (JPEG, "jpg", "image/jpeg"),
        (GIF, "gif", "image/gif"),
        (WEBP, "webp", "image/webp"),
    ],
)
async def test_each_format_is_stored_and_served(
    client: httpx.AsyncClient,
    alice: str,
    upload_dir: Path,
    data: bytes,
    extension: str,
    media_type: str,
) -> None:
    response = await upload(client, data, auth(alice))
    assert response.status_code == 201, response.text
    body = response.json()
    assert list(body) == ["url"]
    assert body["url"].startswith("/api/uploads/")
    assert body["url"].endswith(f".{extension}")
    name = body["url"].rsplit("/", 1)[1]
    assert stored(upload_dir) == {name: data}

    served = await client.get(body["url"])
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == media_type
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_the_versioned_prefix_serves_it_too(client: httpx.AsyncClient, alice: str) -> None:
    url = (await upload(client, GIF, auth(alice))).json()["url"]
    served = await client.get(url.replace("/api/", "/api/v1/", 1))
    assert served.status_code == 200
    assert served.content == GIF


async def test_the_type_comes_from_the_content_not_the_name_or_header(
    client: httpx.AsyncClient, alice: str, upload_dir: Path
) -> None:
    response = await upload(client, PNG, auth(alice), filename="x.exe", content_type="text/html")
    assert response.status_code == 201, response.text
    url = response.json()["url"]
    assert url.endswith(".png")
    assert "x.exe" not in url
    served = await client.get(url)
    assert served.headers["content-type"] == "image/png"
    [name] = stored(upload_dir)
    assert name.endswith(".png")
    assert url.endswith(f"/{name}")


async def test_the_client_file_name_is_never_used(
    client: httpx.AsyncClient, alice: str, upload_dir: Path
) -> None:
    response = await upload(client, JPEG, auth(alice), filename="holiday-photo.jpg")
    assert response.status_code == 201
    name = response.json()["url"].rsplit("/", 1)[1]
    assert "holiday" not in name
    assert list(stored(upload_dir)) == [name]
    again = await upload(client, JPEG, auth(alice), filename="holiday-photo.jpg")
    assert again.json()["url"] != response.json()["url"]


@pytest.mark.parametrize(
    "data",
    [
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"just some text",
        b"RIFF\x1a\x00\x00\x00WAVEfmt ",
        b"",
    ],
    ids=["html", "svg", "text", "riff-not-webp", "empty"],
)
async def test_anything_else_is_refused_whatever_it_claims(
    client: httpx.AsyncClient, alice: str, upload_dir: Path, data: bytes
) -> None:
    response = await upload(client, data, auth(alice), filename="a.png", content_type="image/png")
    assert response.status_code == 415
    assert response.json()["errors"] == {"file": ["must be a PNG, JPEG, WebP or GIF image"]}
    assert stored(upload_dir) == {}


async def test_exactly_the_limit_is_accepted(client: httpx.AsyncClient, alice: str) -> None:
    data = PNG + b"\x00" * (MAX - len(PNG))
    response = await upload(client, data, auth(alice))
    assert response.status_code == 201, response.text
    assert (await client.get(response.json()["url"])).content == data


async def test_one_byte_over_the_limit_is_too_large(
    client: httpx.AsyncClient, alice: str, upload_dir: Path
) -> None:
    data = PNG + b"\x00" * (MAX + 1 - len(PNG))
    response = await upload(client, data, auth(alice))
    assert response.status_code == 413
    assert response.json()["errors"] == {"file": [f"is too large (maximum is {MAX} bytes)"]}
    assert stored(upload_dir) == {}


async def test_a_much_larger_file_is_too_large(client: httpx.AsyncClient, alice: str) -> None:
    response = await upload(client, PNG + b"\x00" * (5 * MAX), auth(alice))
    assert response.status_code == 413


async def test_signing_in_is_required(client: httpx.AsyncClient, upload_dir: Path) -> None:
    response = await upload(client, PNG, {})
    assert response.status_code == 401
    assert response.json()["errors"] == {"token": ["is missing"]}
    assert stored(upload_dir) == {}


async def test_the_file_field_is_required(client: httpx.AsyncClient, alice: str) -> None:
    response = await client.post(
        "/api/uploads", files={"other": ("a.png", PNG, "image/png")}, headers=auth(alice)
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"file": ["can't be blank"]}
    no_body = await client.post("/api/uploads", headers=auth(alice))
    assert no_body.status_code == 422


async def test_a_broken_multipart_body_is_422(client: httpx.AsyncClient, alice: str) -> None:
    boundary = "a222103b9b30b1f9e8be6882ecedb1d2"
    response = await client.post(
        "/api/uploads",
        content=f"--{boundary}\r\n[]--{boundary}--\r\n".encode(),
        headers={**auth(alice), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"body": ["is not a valid form"]}


async def test_an_api_key_needs_profile_write(client: httpx.AsyncClient, alice: str) -> None:
    async def key(scopes: list[str]) -> str:
        created = await client.post(
            "/api/api-keys", json={"name": "k", "scopes": scopes}, headers=auth(alice)
        )
        assert created.status_code == 201, created.text
        value: str = created.json()["key"]
        return value

    refused = await upload(client, PNG, {"X-API-Key": await key([])})
    assert refused.status_code == 403
    assert refused.json()["errors"] == {"scope": ["requires profile:write"]}
    allowed = await upload(client, PNG, {"X-API-Key": await key(["profile:write"])})
    assert allowed.status_code == 201, allowed.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/uploads/../conduit.db",
        "/api/uploads/%2e%2e%2fconduit.db",
        "/api/uploads/%2e%2e%2f%2e%2e%2fpyproject.toml",
        "/api/uploads/..%2f..%2fpyproject.toml",
        "/api/uploads/%2e%2e",
        "/api/uploads/.env",
        "/api/uploads/conduit.db",
        "/api/uploads/0123456789abcdef0123456789abcdef.svg",
        "/api/uploads/0123456789ABCDEF0123456789ABCDEF.png",
        "/api/uploads/0123456789abcdef0123456789abcdef.png.html",
        "/api/uploads/0123456789abcdef0123456789abcdef.png%0a",
        "/api/uploads/0123456789abcdef0123456789abcdef0.png",
    ],
)
async def test_bad_names_are_not_found(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "errors" in response.json()


async def test_an_unknown_name_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/uploads/0123456789abcdef0123456789abcdef.png")
    assert response.status_code == 404
    assert response.json()["errors"] == {"upload": ["not found"]}


async def test_a_dot_file_beside_the_uploads_is_not_served(
    client: httpx.AsyncClient, alice: str, upload_dir: Path
) -> None:
    await upload(client, PNG, auth(alice))
    (upload_dir / "secret.txt").write_bytes(b"secret")
    response = await client.get("/api/uploads/secret.txt")
    assert response.status_code == 404
    assert response.json()["errors"] == {"upload": ["not found"]}


async def test_the_routes_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    post = paths["/api/uploads"]["post"]
    assert {"401", "403", "413", "415", "422"} <= set(post["responses"])
    assert "multipart/form-data" in post["requestBody"]["content"]
    get = paths["/api/uploads/{name}"]["get"]
    assert "image/png" in get["responses"]["200"]["content"]
    assert "404" in get["responses"]
