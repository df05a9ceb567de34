"""Upload bodies (outside the RealWorld spec: flat JSON)."""

from __future__ import annotations

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field


class UploadRequest(BaseModel):
    """The multipart form of an upload."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"file": "(the bytes of a PNG, JPEG, WebP or GIF image)"}]}
    )

    file: UploadFile = Field(description="The image.")


class UploadCreated(BaseModel):
    url: str = Field(
        description="Where the image is served, relative to this host.",
        examples=["/api/uploads/0123456789abcdef0123456789abcdef.png"],
    )
