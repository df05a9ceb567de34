"""A RealWorld frontend's traffic from a real browser, across origins: the requests the
official Angular client makes (`angular-realworld-example-app`: its `ApiInterceptor` sends
`Authorization: Token <jwt>` and JSON bodies), in its order, from a page served on another
origin than the API, so that every call goes through CORS and its preflights. Then the same
stored token keeps working after the access-token lifetime has passed, as it must for a
client that has no refresh.

Uses the system's Chromium (Debian package `chromium`); skipped, with the reason, without it.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_docs_browser import CHROMIUM, TIMEOUT_MS
from tests.factories import PASSWORD
from tests.live import LiveServer, free_port, start_server

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium executable (Debian: apt-get install chromium)"
)
ACCESS_TOKEN_TTL = 2  # seconds: the "15 minutes" of the test

# The client: one `api` call per request, as Angular's HttpClient sends it, the token kept
# in localStorage under the key Angular's JwtService uses.
CLIENT_PAGE = """<!doctype html><meta charset="utf-8"><title>client</title><script>
let base = "";
const calls = [];
async function api(method, path, body) {
  const headers = {"Accept": "application/json, text/plain, */*"};
  const token = localStorage.getItem("jwtToken");
  if (token) headers["Authorization"] = "Token " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(base + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await response.text();
  calls.push({method, path, status: response.status});
  return {status: response.status, body: text ? JSON.parse(text) : null};
}
async function signUp(username, password) {
  localStorage.removeItem("jwtToken");
  const user = {username, email: username + "@example.com", password};
  const {body} = await api("POST", "/users", {user});
  localStorage.setItem("jwtToken", body.user.token);
  await api("GET", "/user");  // the app's start: who is signed in
}
</script>"""

WRITER_FLOW = """async ([apiBase, password]) => {
  base = apiBase;
  await signUp("writer", password);
  await api("GET", "/tags");
  const created = await api("POST", "/articles/", {article: {
    title: "Cross-origin publishing", description: "from a browser",
    body: "It works.", tagList: ["browser", "cors"]}});
  return {calls: calls.splice(0), slug: created.body.article.slug};
}"""

READER_FLOW = """async ([slug, password]) => {
  await signUp("reader", password);
  await api("GET", "/articles?limit=10&offset=0");
  await api("GET", "/tags");
  await api("GET", `/articles/${slug}`);
  await api("GET", `/articles/${slug}/comments`);
  await api("POST", `/articles/${slug}/favorite`, {});
  await api("POST", `/articles/${slug}/comments`, {comment: {body: "Nice one."}});
  await api("GET", "/profiles/writer");
  await api("POST", "/profiles/writer/follow", {});
  const feed = await api("GET", "/articles/feed?limit=10&offset=0");
  const me = (await api("GET", "/user")).body.user;
  await api("PUT", "/user", {user: {image: me.image || "", username: me.username,
    bio: "I read things.", email: me.email, password: password + "-changed"}});
  return {calls: calls.splice(0), feed: feed.body};
}"""

LATER_FLOW = """async (slug) => {
  await api("GET", "/user");
  await api("GET", "/articles?limit=10&offset=0");
  const feed = await api("GET", "/articles/feed?limit=10&offset=0");
  await api("GET", `/articles/${slug}`);
  const profile = await api("GET", "/profiles/writer");
  return {calls: calls.splice(0), feed: feed.body, profile: profile.body};
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture(scope="module")
def client_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The frontend's own origin: a static page served on another port than the API."""
    root = tmp_path_factory.mktemp("frontend")
    (root / "index.html").write_text(CLIENT_PAGE, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def api_server(
    tmp_path_factory: pytest.TempPathFactory, client_origin: str
) -> Iterator[LiveServer]:
    live = start_server(
        Path(tmp_path_factory.mktemp("realworld-client")),
        extra_env={"CORS_ORIGINS": client_origin, "ACCESS_TOKEN_TTL": str(ACCESS_TOKEN_TTL)},
    )
    yield live
    live.terminate()


@pytest.fixture(scope="module")
def page(client_origin: str) -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = chromium.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        tab.goto(f"{client_origin}/index.html")
        yield tab
        chromium.close()


def test_the_angular_clients_requests_work_across_origins_and_outlive_the_access_ttl(
    api_server: LiveServer, page: sync_api.Page
) -> None:
    writer = page.evaluate(WRITER_FLOW, [f"{api_server.url}/api", PASSWORD])
    signed_in_at = time.monotonic()
    slug = writer["slug"]
    assert [(c["method"], c["path"], c["status"]) for c in writer["calls"]] == [
        ("POST", "/users", 201),
        ("GET", "/user", 200),
        ("GET", "/tags", 200),
        ("POST", "/articles/", 201),  # the trailing slash Angular's client sends
    ]
    reader = page.evaluate(READER_FLOW, [slug, PASSWORD])

    made = [(call["method"], call["path"], call["status"]) for call in reader["calls"]]
    expected_statuses = [201, 200, 200, 200, 200, 200, 200, 201, 200, 200, 200, 200, 200]
    assert [status for *_, status in made] == expected_statuses, made
    assert made[0][:2] == ("POST", "/users")
    assert [a["slug"] for a in reader["feed"]["articles"]] == [slug]
    assert reader["feed"]["articles"][0]["favorited"] is True
    assert reader["feed"]["articles"][0]["author"]["following"] is True

    # Past the access-token lifetime, the token the client stored still signs it in.
    time.sleep(max(0.0, ACCESS_TOKEN_TTL + 1.0 - (time.monotonic() - signed_in_at)))
    later = page.evaluate(LATER_FLOW, slug)

    assert [call["status"] for call in later["calls"]] == [200] * 5, later["calls"]
    assert later["feed"]["articlesCount"] == 1
    assert later["profile"]["profile"]["following"] is True
    log = api_server.log()
    assert "method=OPTIONS" in log or '"method": "OPTIONS"' in log  # CORS preflights ran
    assert "Traceback" not in log
