"""Dependency hygiene: the installed environment, not only pyproject.toml, is checked.

A lower bound in pyproject.toml does not stop an older, vulnerable release from staying
installed in an existing environment (or from being pinned by a lock file or a constraint
elsewhere); this fails the suite when that happens. Why each floor: docs/security.md,
"Dependency floors".
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# distribution -> the lowest release without a published advisory that concerns us
FLOORS = {
    # CVE-2024-47874, CVE-2025-54121, CVE-2025-62727, CVE-2026-48710, CVE-2026-48817,
    # CVE-2026-48818, CVE-2026-54282, CVE-2026-54283 (the last two fixed in 1.3.0 / 1.3.1)
    "starlette": "1.3.1",
    # CVE-2024-24762, CVE-2024-53981, CVE-2026-24486, ... GHSA-v9pg-7xvm-68hf (0.0.31)
    "python-multipart": "0.0.31",
    # CVE-2024-53861 (2.10.1), CVE-2026-32597 (2.12.0), CVE-2026-48524 (2.13.0)
    "pyjwt": "2.13.0",
    # CVE-2024-24762 (0.109.1); Starlette 1.x (0.133)
    "fastapi": "0.133.0",
}

# Unmaintained, with open advisories; superseded here by PyJWT and pwdlib.
BANNED = ("python-jose", "jose", "passlib")


def _installed(name: str) -> Version | None:
    try:
        return Version(metadata.version(name))
    except metadata.PackageNotFoundError:
        return None


@pytest.mark.parametrize("name", BANNED)
def test_unmaintained_libraries_are_not_installed(name: str) -> None:
    version = _installed(name)
    assert version is None, f"{name} {version} is installed: remove it (see docs/security.md)"


@pytest.mark.parametrize(("name", "floor"), FLOORS.items())
def test_installed_versions_are_above_their_advisories(name: str, floor: str) -> None:
    version = _installed(name)
    assert version is not None, f"{name} is not installed"
    assert version >= Version(floor), f"{name} {version} is below its floor {floor}"


def test_pyproject_declares_the_same_floors() -> None:
    declared = {
        canonicalize_name(req.name): req
        for req in map(Requirement, tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"])
    }
    for name, floor in FLOORS.items():
        req = declared.get(canonicalize_name(name))
        assert req is not None, f"pyproject.toml does not declare {name}"
        lower = [s.version for s in req.specifier if s.operator == ">="]
        assert lower == [floor], f"pyproject.toml declares {req}; its floor is >={floor}"
