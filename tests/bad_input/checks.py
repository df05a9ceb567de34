"""The checks every answer to bad input must pass: no 5xx, errors in the RealWorld shape,
the submitted value never echoed."""

from __future__ import annotations

from typing import Any

import httpx

# A distinctive string placed in submitted values: no error response may contain it.
MARK = "zqxmark7"


SURROGATE = "SURROGATEPLACEHOLDER"  # replaced by a raw `\ud800` escape in the request bytes


NUL = "\x00"


def errors_of(response: httpx.Response) -> dict[str, list[str]]:
    """The `errors` member of an error response, after checking the RealWorld shape."""
    assert response.headers.get("content-type", "").startswith("application/json"), (
        response.headers,
        response.text[:300],
    )
    body = response.json()
    assert isinstance(body, dict), body
    errors = body.get("errors")
    assert isinstance(errors, dict), body
    assert errors, body
    for key, messages in errors.items():
        assert isinstance(key, str), body
        assert isinstance(messages, list), body
        assert messages, body
        assert all(isinstance(m, str) and m for m in messages), body
    return errors


def assert_sane(response: httpx.Response) -> None:
    """What holds for every response to bad input: no 5xx, no traceback, errors shaped."""
    assert response.status_code < 500, (response.status_code, response.text[:500])
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        errors_of(response)
        sent = response.request.content.decode("utf-8", "replace") + str(response.request.url)
        if MARK in sent:
            assert MARK not in response.text, f"submitted value echoed: {response.text[:500]}"


def check(
    response: httpx.Response,
    status: int | set[int],
    key: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    assert_sane(response)
    expected = {status} if isinstance(status, int) else status
    assert response.status_code in expected, (response.status_code, response.text[:500])
    if key is not None or message is not None:
        errors = errors_of(response)
        if key is not None:
            assert key in errors, errors
        if message is not None:
            assert message in errors[key or next(iter(errors))], errors
        return errors
    body: dict[str, Any] = response.json() if response.content else {}
    return body
