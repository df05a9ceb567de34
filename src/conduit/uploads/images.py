"""What an uploaded file is, judged by its first bytes (magic numbers), never by its name."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImageType:
    extension: str
    media_type: str


PNG = ImageType("png", "image/png")
JPEG = ImageType("jpg", "image/jpeg")
GIF = ImageType("gif", "image/gif")
WEBP = ImageType("webp", "image/webp")

# By the extension of a stored name: how to serve it.
BY_EXTENSION: dict[str, ImageType] = {kind.extension: kind for kind in (PNG, JPEG, GIF, WEBP)}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
_GIF_SIGNATURES = (b"GIF87a", b"GIF89a")


def detect(data: bytes) -> ImageType | None:
    """The image type `data` starts with, or None when it is none we accept."""
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    if data.startswith(_JPEG_SIGNATURE):
        return JPEG
    if data.startswith(_GIF_SIGNATURES):
        return GIF
    # RIFF container: "RIFF", a 4-byte little-endian size, then the form type "WEBP".
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return WEBP
    return None
