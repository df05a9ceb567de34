"""Token endpoint bodies. These keep RFC 6749's snake_case names."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from conduit.core.schemas import clean_text


class TokenResponse(BaseModel):
    access_token: str = Field(description="A JWT for `Authorization: Bearer ...`.")
    refresh_token: str = Field(description="Opaque and single-use: every refresh rotates it.")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(BaseModel):
    refresh_token: Annotated[
        str, StringConstraints(min_length=1, max_length=256), AfterValidator(clean_text)
    ]
