"""Schemathesis hooks for the live-server runs of `.ci/schemathesis.sh`.

Loaded by schemathesis through `SCHEMATHESIS_HOOKS`; pytest never collects this file.

Generated sign-ups and profile changes skip passwords that repeat the username or the
e-mail: the server refuses them (NIST SP 800-63B context words, as the field's description
says), and JSON Schema has no way to compare two fields.

With `CONDUIT_FUZZ_AUTH=1` every generated request is signed in as one user of the run's
own, registered through the API, with `Authorization: Token <jwt>`. A fixed token would not
last: generated requests log out, end every session, change the e-mail or the password.
On a 401, schemathesis asks for credentials again (and replays the request once): the
provider logs the same user in again, with the e-mail and password that successful
`PUT /api/user` requests last set, so the articles, comments and keys it created stay its
own. Only if that login fails is a new user registered.

In the run with the server's default limits (`.ci/run`), the sign-up and login of the
provider count against the same per-IP limit as the generated requests: a 429 is waited
out (its `Retry-After`) when the wait is short, as a client would.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from typing import Any

import requests
import schemathesis

TOKEN_REFRESH = 600  # seconds; below the server's default ACCESS_TOKEN_TTL (900)
TIMEOUT = 30
# The longest `Retry-After` waited for: the per-IP limits' windows (a minute by default),
# not the login throttle's (the provider registers a new user instead).
LONGEST_WAIT = 65


class Identity:
    """The run's user: its current e-mail and password."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.email = ""
        self.password = ""
        self.lock = threading.Lock()

    def token(self) -> str:
        with self.lock:
            if self.email:
                user = {"email": self.email, "password": self.password}
                response = self._post("/api/users/login", {"user": user})
                if response.status_code == 200:
                    return str(response.json()["user"]["token"])
            return self._register()

    def _register(self) -> str:
        name = f"fuzz{secrets.token_hex(6)}"
        self.email, self.password = f"{name}@example.com", secrets.token_urlsafe()
        user = {"username": name, "email": self.email, "password": self.password}
        response = self._post("/api/users", {"user": user})
        response.raise_for_status()
        return str(response.json()["user"]["token"])

    def _post(self, path: str, body: dict[str, Any]) -> requests.Response:
        """POST `body`, waiting out a 429 whose `Retry-After` is short (a few times)."""
        for _ in range(3):
            response = requests.post(f"{self.base_url}{path}", json=body, timeout=TIMEOUT)
            wait = response.headers.get("Retry-After", "")
            if response.status_code != 429 or not wait.isdigit() or int(wait) > LONGEST_WAIT:
                return response
            time.sleep(int(wait))
        return response

    def updated(self, sent: Any, answer: Any) -> None:
        """A `PUT /api/user` succeeded: remember the new e-mail and password."""
        with self.lock:
            if isinstance(sent, dict) and isinstance(sent.get("user"), dict):
                password = sent["user"].get("password")
                if isinstance(password, str):
                    self.password = password
            self.email = answer["user"]["email"]


PASSWORD_SETTERS = {("POST", "/api/users"), ("PUT", "/api/user")}


def reuses_a_name(body: Any) -> bool:
    """Whether a `{"user": {...}}` body's password is its username, e-mail or the e-mail's
    local part, ignoring case (`AccountProtection.check_password`)."""
    user = body.get("user") if isinstance(body, dict) else None
    password = user.get("password") if isinstance(user, dict) else None
    if not isinstance(user, dict) or not isinstance(password, str):
        return False
    names = [value for value in (user.get("username"), user.get("email")) if isinstance(value, str)]
    names += [name.split("@")[0] for name in names if "@" in name]
    return password.lower() in {name.strip().lower() for name in names}


@schemathesis.hook
def filter_body(context: Any, body: Any) -> bool:
    operation = context.operation
    if operation is None or (operation.method.upper(), operation.path) not in PASSWORD_SETTERS:
        return True
    return not reuses_a_name(body)


if os.environ.get("CONDUIT_FUZZ_AUTH") == "1":
    IDENTITY = Identity(os.environ["CONDUIT_BASE_URL"])

    @schemathesis.auth(refresh_interval=TOKEN_REFRESH)
    class SignedIn:
        def get(self, case: Any, context: Any) -> str:
            return IDENTITY.token()

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Token {data}"

    @schemathesis.hook
    def after_call(context: Any, case: Any, response: Any) -> None:
        if (case.method, case.path, response.status_code) == ("PUT", "/api/user", 200):
            IDENTITY.updated(case.body, response.json())
