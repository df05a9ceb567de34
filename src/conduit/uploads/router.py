"""Image uploads: store a PNG, JPEG, WebP or GIF and serve it back (outside the RealWorld spec)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Response, status

from conduit.auth.dependencies import CurrentPrincipal, needs
from conduit.auth.permissions import Scope
from conduit.core.openapi import ErrorBody, error_responses
from conduit.core.routing import SessionRoute
from conduit.uploads.dependencies import UploadServiceDep
from conduit.uploads.images import BY_EXTENSION
from conduit.uploads.schemas import UploadCreated, UploadRequest
from conduit.uploads.service import ACCEPTED

router = APIRouter(tags=["Uploads"], route_class=SessionRoute)

# Served images can never be run as a page or script, whatever they contain.
SERVE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
    "Cache-Control": "public, max-age=31536000, immutable",
}


def _error(description: str, key: str, message: str) -> dict[str, Any]:
    return {
        "model": ErrorBody,
        "description": description,
        "content": {"application/json": {"example": {"errors": {key: [message]}}}},
    }


_UPLOAD_ERRORS = {
    **error_responses(403),
    413: _error("The file is larger than UPLOAD_MAX_BYTES", "file", "is too large"),
    415: _error("The file is not an accepted image", "file", ACCEPTED),
}
_IMAGE_CONTENT: dict[str, Any] = {
    kind.media_type: {"schema": {"type": "string", "format": "binary"}}
    for kind in BY_EXTENSION.values()
}


@router.post(
    "/uploads",
    status_code=status.HTTP_201_CREATED,
    summary="Upload an image",
    description=(
        "Multipart form with one field, `file`: a PNG, JPEG, WebP or GIF image of at most "
        "`UPLOAD_MAX_BYTES` (2 MiB by default). The type is recognised from the content, "
        "never from the file name or its Content-Type. Answers the URL that serves it. "
        "An API key needs the `profile:write` scope."
    ),
    operation_id="CreateUpload",
    dependencies=[needs(Scope.PROFILE_WRITE)],
    responses=_UPLOAD_ERRORS,
)
async def upload_image(
    form: Annotated[UploadRequest, File()],
    principal: CurrentPrincipal,
    uploads: UploadServiceDep,
) -> UploadCreated:
    return UploadCreated(url=await uploads.store(form.file, principal.user_id))


@router.get(
    "/uploads/{name}",
    summary="Get an uploaded image",
    description=(
        "Served with its true content type, `X-Content-Type-Options: nosniff` and a "
        "restrictive Content-Security-Policy; cacheable for good (names are never reused)."
    ),
    operation_id="GetUpload",
    response_class=Response,
    responses={
        200: {"description": "The image.", "content": _IMAGE_CONTENT},
        404: _error("No such upload", "upload", "not found"),
    },
)
async def get_image(
    name: Annotated[str, Path(description="The name from the upload's URL.")],
    uploads: UploadServiceDep,
) -> Response:
    image = await uploads.open(name)
    return Response(image.data, media_type=image.kind.media_type, headers=SERVE_HEADERS)
