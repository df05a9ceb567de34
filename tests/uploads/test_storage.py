"""The local storage keeps to its directory, whatever name it is given."""

from __future__ import annotations

from pathlib import Path

import pytest

from conduit.uploads.storage import LocalImageStorage


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


async def test_save_then_read_creates_the_directory(tmp_path: Path) -> None:
    storage = LocalImageStorage(tmp_path / "a" / "b")
    await storage.save("abc.png", b"data")
    assert await storage.read("abc.png") == b"data"
    assert listing(tmp_path / "a" / "b") == ["abc.png"]  # no temporary file left behind


async def test_an_unknown_name_reads_as_none(tmp_path: Path) -> None:
    assert await LocalImageStorage(tmp_path / "missing").read("abc.png") is None


@pytest.mark.parametrize("name", ["../escape.png", "a/b.png", "..", ".hidden", "", "a\\b.png"])
async def test_names_that_are_not_bare_are_refused(tmp_path: Path, name: str) -> None:
    storage = LocalImageStorage(tmp_path / "store")
    with pytest.raises(ValueError, match="bare file name"):
        await storage.save(name, b"data")
    assert await storage.read(name) is None
    assert listing(tmp_path) == []
