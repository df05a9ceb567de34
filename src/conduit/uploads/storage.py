"""Where uploaded images live: a small interface and a local-directory implementation."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

import anyio.to_thread


class ImageStorage(Protocol):
    async def save(self, name: str, data: bytes) -> None:
        """Store `data` under `name` (a bare file name chosen by the caller)."""

    async def read(self, name: str) -> bytes | None:
        """The bytes stored under `name`, or None when there are none."""


def _is_bare_name(name: str) -> bool:
    return bool(name) and not name.startswith(".") and Path(name).name == name and "\\" not in name


class LocalImageStorage:
    """Files in one directory, created on first write. Disk work runs in a worker thread."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def _path(self, name: str) -> Path:
        if not _is_bare_name(name):
            raise ValueError("a stored name must be a bare file name")
        return self.directory / name

    async def save(self, name: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._write, self._path(name), data)

    async def read(self, name: str) -> bytes | None:
        if not _is_bare_name(name):
            return None
        return await anyio.to_thread.run_sync(self._read, self.directory / name)

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name (never servable: it starts with a dot), then renamed,
        # so a reader sees the whole file or none of it.
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            temporary.write_bytes(data)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
