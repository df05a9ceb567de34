"""How routes get a `CommentService`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from conduit.comments.service import CommentService
from conduit.core.routing import request_session


async def get_comment_service(request: Request) -> CommentService:
    return CommentService(request_session(request))


CommentServiceDep = Annotated[CommentService, Depends(get_comment_service)]
