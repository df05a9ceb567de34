"""The docs pages (/docs, /redoc) load nothing from another origin and carry their own CSP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import httpx
import pytest

from conduit.core.docs import DOCS_CSP, OAUTH2_REDIRECT_CSP

PAGES = ("/docs", "/redoc")
CONTENT_TYPES = {
    ".js": ("text/javascript", "application/javascript"),
    ".css": ("text/css",),
    ".png": ("image/png",),
}


class PageParser(HTMLParser):
    """Every URL a page refers to (src and href), and its <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.icons: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "spec-url"):
            if values.get(name):
                self.urls.append(str(values[name]))
        if tag == "link" and "icon" in (values.get("rel") or "").split():
            self.icons.append(str(values.get("href")))
        if tag == "script":
            self.scripts.append(values)
            self._in_script = True
            self.script_text.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text[-1] += data


async def parse(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, PageParser]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    parser = PageParser()
    parser.feed(response.text)
    return response, parser


def is_same_origin(url: str) -> bool:
    return not re.match(r"^([a-z][a-z0-9+.-]*:|//|\\\\)", url, flags=re.IGNORECASE)


@pytest.mark.parametrize("path", PAGES)
async def test_docs_pages_refer_only_to_same_origin_urls(
    client: httpx.AsyncClient, path: str
) -> None:
    _, page = await parse(client, path)
    assert page.urls
    assert [url for url in page.urls if not is_same_origin(url)] == []
    for url in page.urls:
        assert url.startswith("/"), url


@pytest.mark.parametrize("path", PAGES)
async def test_every_asset_of_the_docs_pages_is_served(
    client: httpx.AsyncClient, path: str
) -> None:
    _, page = await parse(client, path)
    assets = [url for url in page.urls if url.startswith("/docs/static/")]
    assert any(url.endswith(".js") for url in assets)
    for url in assets:
        response = await client.get(url)
        assert response.status_code == 200, url
        suffix = url[url.rindex(".") :]
        content_type = response.headers["content-type"].split(";")[0]
        assert content_type in CONTENT_TYPES[suffix], (url, content_type)
        assert response.content, url


@pytest.mark.parametrize("path", PAGES)
async def test_the_favicon_is_local(client: httpx.AsyncClient, path: str) -> None:
    _, page = await parse(client, path)
    assert page.icons == ["/docs/static/favicon.png"]
    response = await client.get(page.icons[0])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("path", PAGES)
async def test_docs_pages_carry_a_strict_csp(client: httpx.AsyncClient, path: str) -> None:
    response, page = await parse(client, path)
    assert response.headers["content-security-policy"] == DOCS_CSP
    directives = dict(d.strip().split(" ", 1) for d in DOCS_CSP.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    # So every script is a file (or a JSON data block, which is never run).
    for attrs, text in zip(page.scripts, page.script_text, strict=True):
        assert attrs.get("src") or attrs.get("type") == "application/json", text[:80]


async def test_swagger_ui_keeps_authorization_and_knows_the_oauth2_redirect(
    client: httpx.AsyncClient,
) -> None:
    _, page = await parse(client, "/docs")
    (config_text,) = [
        text
        for attrs, text in zip(page.scripts, page.script_text, strict=True)
        if attrs.get("type") == "application/json"
    ]
    config = json.loads(config_text)
    assert config["url"] == "/openapi.json"
    assert config["persistAuthorization"] is True
    assert config["oauth2RedirectUrl"] == "/docs/oauth2-redirect"
    assert config["validatorUrl"] is None
    init = await client.get("/docs/static/swagger-init.js")
    assert "swagger-ui-config" in init.text


async def test_the_oauth2_redirect_page_may_run_only_its_own_script(
    client: httpx.AsyncClient,
) -> None:
    response, page = await parse(client, "/docs/oauth2-redirect")
    assert response.headers["content-security-policy"] == OAUTH2_REDIRECT_CSP
    (script,) = page.script_text
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}';" in OAUTH2_REDIRECT_CSP
    assert page.urls == []


async def test_redoc_is_served_without_its_cdn_logo_and_revalidates(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs/static/redoc.standalone.js")
    assert response.status_code == 200
    assert b"cdn.redoc.ly" not in response.content
    assert b"Redoc" in response.content
    again = await client.get(
        "/docs/static/redoc.standalone.js", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_the_docs_pages_stay_out_of_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
