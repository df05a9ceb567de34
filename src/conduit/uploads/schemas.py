"""Upload bodies (outside the RealWorld spec: flat JSON)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class UploadCreated(BaseModel):
    url: str = Field(
        description="Where the image is served, relative to this host.",
        examples=["/api/uploads/0123456789abcdef0123456789abcdef.png"],
    )
