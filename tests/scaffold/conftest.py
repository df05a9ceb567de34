"""A copy of the source tree for the generator to write into, and the command to run it."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from conduit.cli import app

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "tests" / "scaffold" / "specs"
TODO = [
    "todo",
    "title:str:max=200",
    "done:bool:default=false:filter",
    "due:date:optional:sort",
    "priority:enum:low,normal,high:default=normal",
]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What the generator reads and writes (the package, pyproject.toml, tests/), copied;
    the command runs inside it."""
    copy = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "src", copy / "src", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "tests").mkdir()
    monkeypatch.chdir(copy)
    return copy


def conduit(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` and a hash of its content."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
