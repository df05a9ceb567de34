"""Helpers shared by the tests that read the OpenAPI document."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}

# (METHOD, path, operation object) of every operation in the document.
Operations = list[tuple[str, str, dict[str, Any]]]


def report(problems: list[tuple[str, ...]]) -> str:
    return "\n".join(" ".join(problem) for problem in problems)
