"""The docs pages in a real browser (headless Chromium, against a live `conduit serve`):
they render, load nothing from another origin, break no Content-Security-Policy rule, and
Swagger UI's "Authorize" and "Try it out" work.

Uses the system's Chromium (Debian package `chromium`), never a browser downloaded by
`playwright install`; skipped, with the reason, when there is none.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
import pytest

from tests.factories import PASSWORD
from tests.live import LiveServer, start_server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def find_chromium() -> str | None:
    for candidate in (shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium executable (Debian: apt-get install chromium)"
)
TIMEOUT_MS = 30_000  # generous: CI shares two cores
sync_api.expect.set_options(timeout=TIMEOUT_MS)
LOCAL_HOSTS = {"127.0.0.1"}


@dataclass
class Traffic:
    """Every request a page made, and every complaint the browser logged."""

    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def external(self) -> list[str]:
        return [url for url in self.requests if not is_local(url)]


def is_local(url: str) -> bool:
    if url.startswith("blob:"):
        url = url.removeprefix("blob:")
    elif url.startswith("data:"):
        return True
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and parts.hostname in LOCAL_HOSTS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("docs-browser"))
    yield live
    live.terminate()


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()


@pytest.fixture
def page(browser: sync_api.Browser, traffic: Traffic) -> Iterator[sync_api.Page]:
    """A fresh context (no stored authorization), recording every request. Requests to
    another host are recorded and aborted: nothing leaves the machine, even on failure."""
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)

    def guard(route: sync_api.Route) -> None:
        if is_local(route.request.url):
            route.continue_()
        else:
            traffic.blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.on("request", lambda request: traffic.requests.append(request.url))
    opened = context.new_page()
    opened.on("console", lambda m: traffic.errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda error: traffic.errors.append(str(error)))
    yield opened
    context.close()


def register(server: LiveServer, username: str) -> str:
    response = httpx.post(
        f"{server.url}/api/users",
        json={
            "user": {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["user"]["token"]
    return token


def open_swagger(page: sync_api.Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/docs")
    sync_api.expect(page.locator(".swagger-ui .info .title")).to_contain_text("Conduit API")
    sync_api.expect(page.locator(".opblock").first).to_be_visible()


def authorize_dialog(page: sync_api.Page) -> sync_api.Locator:
    page.locator(".scheme-container button.authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    sync_api.expect(dialog).to_be_visible()
    return dialog


def scheme_form(dialog: sync_api.Locator, name: str) -> sync_api.Locator:
    """The Authorize dialog's form for one security scheme, by its name in the heading."""
    form = dialog.locator(".auth-container").filter(
        has=dialog.page.locator("h4", has_text=f"{name} (")
    )
    sync_api.expect(form).to_have_count(1)
    return form


def close_dialog(page: sync_api.Page, dialog: sync_api.Locator) -> None:
    dialog.locator("button.btn-done").first.click()
    sync_api.expect(page.locator(".dialog-ux")).to_have_count(0)


def execute_get_current_user(page: sync_api.Page) -> sync_api.Request:
    """Open GET /api/user, "Try it out", "Execute"; wait for and return the request made."""
    operation = page.locator(".opblock.opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/api/user"]')
    )
    sync_api.expect(operation).to_have_count(1)
    # After a reload on its deep link (#/.../GetCurrentUser) Swagger UI expands the block
    # itself, a moment later on a loaded machine: clicking the summary before that would
    # collapse it again. Give it that moment, then open it if it is still closed.
    try:
        operation.locator(".opblock-body").wait_for(state="visible", timeout=3000)
    except sync_api.TimeoutError:
        operation.locator(".opblock-summary").click()
    try_it = operation.locator("button.try-out__btn")
    if "cancel" not in (try_it.get_attribute("class") or ""):
        try_it.click()
    with page.expect_request(lambda r: urlsplit(r.url).path == "/api/user") as sent:
        operation.locator("button.execute").click()
    live = operation.locator(".live-responses-table .response").first
    sync_api.expect(live.locator(".response-col_status")).to_contain_text("200")
    return sent.value


def assert_user_shown(page: sync_api.Page, username: str) -> None:
    operation = page.locator(".opblock.opblock-get").filter(
        has=page.locator('.opblock-summary-path[data-path="/api/user"]')
    )
    body = operation.locator(".live-responses-table .response-col_description pre").first
    sync_api.expect(body).to_contain_text(f'"username": "{username}"')


def assert_clean(traffic: Traffic) -> None:
    assert traffic.requests
    assert traffic.external() == []
    assert traffic.blocked == []
    assert traffic.errors == []


def test_swagger_ui_authorizes_with_a_token_and_runs_a_request(
    server: LiveServer, page: sync_api.Page, traffic: Traffic
) -> None:
    token = register(server, "swagger_token")
    open_swagger(page, server)

    dialog = authorize_dialog(page)
    form = scheme_form(dialog, "Token")
    form.locator("input").fill(f"Token {token}")
    form.locator("button.authorize").click()
    sync_api.expect(form.locator("button", has_text="Logout")).to_be_visible()
    close_dialog(page, dialog)

    request = execute_get_current_user(page)
    assert request.headers["authorization"] == f"Token {token}"
    assert_user_shown(page, "swagger_token")

    # persistAuthorization: a reload keeps what was entered under "Authorize".
    page.reload()
    sync_api.expect(page.locator(".scheme-container button.authorize.locked")).to_be_visible()
    request = execute_get_current_user(page)
    assert request.headers["authorization"] == f"Token {token}"
    assert_user_shown(page, "swagger_token")
    assert_clean(traffic)


def test_swagger_ui_logs_in_with_the_oauth2_password_flow(
    server: LiveServer, page: sync_api.Page, traffic: Traffic
) -> None:
    register(server, "swagger_oauth")
    open_swagger(page, server)

    dialog = authorize_dialog(page)
    form = scheme_form(dialog, "OAuth2")
    form.locator("#oauth_username").fill("swagger_oauth@example.com")
    form.locator("#oauth_password").fill(PASSWORD)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/auth/token") as answer:
        form.locator("button.authorize").click()
    assert answer.value.status == 200
    sync_api.expect(form.locator("button", has_text="Logout")).to_be_visible()
    close_dialog(page, dialog)

    request = execute_get_current_user(page)
    assert request.headers["authorization"].startswith("Bearer ")
    assert_user_shown(page, "swagger_oauth")
    assert_clean(traffic)


def test_redoc_renders_with_no_external_request(
    server: LiveServer, page: sync_api.Page, traffic: Traffic
) -> None:
    page.goto(f"{server.url}/redoc")
    sync_api.expect(page.locator("h1").first).to_contain_text("Conduit API")
    sync_api.expect(page.locator("h2", has_text="Register a new user")).to_be_visible()
    # Search runs in a blob: worker, which the docs CSP has to allow.
    page.locator('input[placeholder="Search..."]').fill("favorite")
    results = page.locator('[data-role="search:results"]')
    sync_api.expect(results).to_contain_text("Favorite an article")
    assert [worker.url for worker in page.workers if worker.url.startswith("blob:")]
    assert_clean(traffic)
