"""Request and response schemas for comments."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, ConfigDict, StringConstraints

from conduit.comments.limits import COMMENT_MAX
from conduit.core.schemas import FILLED, CamelModel, Timestamp, not_blank
from conduit.users.schemas import ProfileRead

CommentBody = Annotated[
    str, StringConstraints(min_length=1, max_length=COMMENT_MAX), AfterValidator(not_blank), FILLED
]


class CommentCreate(CamelModel):
    body: CommentBody


class CommentRead(CamelModel):
    id: int
    created_at: Timestamp
    updated_at: Timestamp
    body: str
    author: ProfileRead


class NewCommentRequest(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"comment": {"body": "It takes a Jacobian"}}]}
    )

    comment: CommentCreate


class SingleCommentResponse(CamelModel):
    comment: CommentRead


class MultipleCommentsResponse(CamelModel):
    comments: list[CommentRead]
