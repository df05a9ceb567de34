"""The API docs pages (Swagger UI at /docs, ReDoc at /redoc), served with no external URL.

The Swagger UI and ReDoc bundles and the favicon come from the `fastapi-offline` package
(installed from PyPI like any dependency); the small script that starts Swagger UI lives in
`docs_assets/` beside this module. Both are served under `/docs/static`, so the pages work
on a network with no Internet access and under a strict Content-Security-Policy: no inline
script, nothing loaded from another origin. The pages read their settings from a JSON data
block, which a policy without 'unsafe-inline' still allows.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import json
import re
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
STATIC_URL = "/docs/static"

# What both docs pages need, and nothing more: their own scripts, styles and images;
# inline styles (Swagger UI and ReDoc both set them) and data: images (Swagger UI's icons);
# ReDoc's search index runs in a blob: worker. Requests (the spec, "Try it out", the
# OAuth2 token) go to this origin only.
DOCS_CSP = (
    "default-src 'self'; "
    "script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; "
    "font-src 'self' data:; "
    "connect-src 'self'; "
    "worker-src 'self' blob:; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)

_SWAGGER_PARAMETERS: dict[str, Any] = {
    "dom_id": "#swagger-ui",
    "layout": "BaseLayout",
    "deepLinking": True,
    "showExtensions": True,
    "showCommonExtensions": True,
    # Keep what the user entered under "Authorize" across page reloads.
    "persistAuthorization": True,
    # Never send the spec to the public validator (nor show its badge).
    "validatorUrl": None,
}


def _inline_script_hashes(page: str) -> str:
    scripts = re.findall(r"<script>(.*?)</script>", page, flags=re.DOTALL)
    digests = (base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts)
    return " ".join(f"'sha256-{digest}'" for digest in digests)


# FastAPI's OAuth2 redirect page (used by Swagger UI for the authorization-code and
# implicit flows) is one inline script; its hash is the only script it may run.
_OAUTH2_REDIRECT_HTML = bytes(get_swagger_ui_oauth2_redirect_html().body).decode()
OAUTH2_REDIRECT_CSP = (
    f"default-src 'none'; script-src {_inline_script_hashes(_OAUTH2_REDIRECT_HTML)}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


# ReDoc's sidebar footer always loads Redocly's logo from their CDN. The copy served here
# has that URL emptied: an <img> with an empty src fetches nothing, and ReDoc removes the
# image on its error event (the "API docs by Redocly" text stays).
REDOC_BUNDLE = "redoc.standalone.js"
_REDOC_LOGO_URL = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


@functools.cache
def _redoc_bundle() -> tuple[bytes, str]:
    """ReDoc's script without the CDN logo, and its ETag."""
    original = (files("fastapi_offline") / "static" / REDOC_BUNDLE).read_bytes()
    content = original.replace(_REDOC_LOGO_URL, b"")
    return content, f'"{hashlib.sha256(content).hexdigest()[:32]}"'


def _json_data(value: Any) -> str:
    """JSON safe to place inside a <script type="application/json"> element."""
    text = json.dumps(value, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(*, title: str, root: str, head: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" type="image/png" href="{html.escape(root + STATIC_URL)}/favicon.png">
{head}
</head>
<body>
{body}
</body>
</html>
"""


def swagger_ui_html(*, title: str, root: str, openapi_url: str) -> str:
    config = {
        **_SWAGGER_PARAMETERS,
        "url": f"{root}{openapi_url}",
        "oauth2RedirectUrl": f"{root}{OAUTH2_REDIRECT_URL}",
    }
    static = html.escape(root + STATIC_URL)
    return _page(
        title=f"{title} - Swagger UI",
        root=root,
        head=f'<link rel="stylesheet" type="text/css" href="{static}/swagger-ui.css">',
        body=(
            '<div id="swagger-ui"></div>\n'
            f'<script id="swagger-ui-config" type="application/json">{_json_data(config)}'
            "</script>\n"
            f'<script src="{static}/swagger-ui-bundle.js"></script>\n'
            f'<script src="{static}/swagger-init.js"></script>'
        ),
    )


def redoc_html(*, title: str, root: str, openapi_url: str) -> str:
    spec_url = html.escape(f"{root}{openapi_url}")
    return _page(
        title=f"{title} - ReDoc",
        root=root,
        head="<style>body { margin: 0; padding: 0; }</style>",
        body=(
            "<noscript>ReDoc needs JavaScript.</noscript>\n"
            f'<redoc spec-url="{spec_url}"></redoc>\n'
            f'<script src="{html.escape(root + STATIC_URL)}/redoc.standalone.js"></script>'
        ),
    )


def _html(content: str, csp: str) -> HTMLResponse:
    return HTMLResponse(content, headers={"Content-Security-Policy": csp})


def install_docs(app: FastAPI) -> None:
    """Serve /docs, /docs/oauth2-redirect and /redoc from local assets.

    Create the app with `docs_url=None, redoc_url=None` (FastAPI's own pages load their
    assets from a CDN), then call this.
    """
    openapi_url = app.openapi_url or "/openapi.json"

    # Before the static mount, so that it answers for this one file.
    @app.get(f"{STATIC_URL}/{REDOC_BUNDLE}", include_in_schema=False)
    async def redoc_bundle(request: Request) -> Response:
        content, etag = _redoc_bundle()
        headers = {"ETag": etag}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(content, media_type="text/javascript; charset=utf-8", headers=headers)

    app.mount(
        STATIC_URL,
        StaticFiles(packages=[("conduit.core", "docs_assets"), ("fastapi_offline", "static")]),
        name="docs-static",
    )

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = swagger_ui_html(title=app.title, root=root, openapi_url=openapi_url)
        return _html(page, DOCS_CSP)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return _html(_OAUTH2_REDIRECT_HTML, OAUTH2_REDIRECT_CSP)

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _html(redoc_html(title=app.title, root=root, openapi_url=openapi_url), DOCS_CSP)
