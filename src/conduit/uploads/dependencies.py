"""How routes get an `UploadService`: cheap, built per request from the current settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from conduit.core.config import Settings
from conduit.uploads.service import UploadService
from conduit.uploads.storage import LocalImageStorage


async def get_upload_service(request: Request) -> UploadService:
    settings: Settings = request.app.state.settings
    return UploadService(
        LocalImageStorage(settings.upload_dir),
        max_bytes=settings.upload_max_bytes,
        url_prefix=f"{settings.api_prefix}/uploads",
    )


UploadServiceDep = Annotated[UploadService, Depends(get_upload_service)]
