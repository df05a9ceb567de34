"""Storing an uploaded image and finding it again."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import Protocol

from conduit.core.errors import DomainError, NotFound, UnsupportedMediaType
from conduit.uploads.images import BY_EXTENSION, ImageType, detect
from conduit.uploads.storage import ImageStorage

logger = logging.getLogger("conduit.uploads")

CHUNK_SIZE = 64 * 1024
# What a stored name looks like: 128 random bits, then the extension of the detected type.
NAME_PATTERN = re.compile(r"[0-9a-f]{32}\.(png|jpg|gif|webp)")
ACCEPTED = "must be a PNG, JPEG, WebP or GIF image"


class PayloadTooLarge(DomainError):
    status_code = 413


class Upload(Protocol):
    """What the service needs of an uploaded file (FastAPI's `UploadFile` is one)."""

    size: int | None

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True, slots=True)
class StoredImage:
    data: bytes
    kind: ImageType


class UploadService:
    def __init__(self, storage: ImageStorage, max_bytes: int, url_prefix: str) -> None:
        self.storage = storage
        self.max_bytes = max_bytes
        self.url_prefix = url_prefix

    async def store(self, upload: Upload, uploader_id: int) -> str:
        """Keep an image and answer the URL it is served at (413 too large, 415 not an image)."""
        data = await self._read_limited(upload)
        kind = detect(data)
        if kind is None:
            raise UnsupportedMediaType("file", ACCEPTED)
        name = f"{secrets.token_hex(16)}.{kind.extension}"
        await self.storage.save(name, data)
        logger.info("user %s uploaded %s (%d bytes)", uploader_id, name, len(data))
        return f"{self.url_prefix}/{name}"

    async def open(self, name: str) -> StoredImage:
        """A stored image by its name (404 for a malformed or unknown name)."""
        match = NAME_PATTERN.fullmatch(name)
        data = await self.storage.read(name) if match else None
        if match is None or data is None:
            raise NotFound("upload")
        return StoredImage(data=data, kind=BY_EXTENSION[match.group(1)])

    async def _read_limited(self, upload: Upload) -> bytes:
        """At most `max_bytes`; one byte more is refused without reading the rest."""
        if upload.size is not None and upload.size > self.max_bytes:
            raise self._too_large()
        chunks: list[bytes] = []
        total = 0
        while total <= self.max_bytes:
            chunk = await upload.read(min(CHUNK_SIZE, self.max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > self.max_bytes:
            raise self._too_large()
        return b"".join(chunks)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge("file", f"is too large (maximum is {self.max_bytes} bytes)")
