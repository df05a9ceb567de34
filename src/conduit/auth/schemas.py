"""Token endpoint bodies. These keep RFC 6749's snake_case names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from conduit.auth.permissions import Scope
from conduit.core.schemas import (
    FILLED,
    TEXT,
    CamelModel,
    Timestamp,
    clean_text,
    raw_max_length,
)
from conduit.users.schemas import Email, NewPassword


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """The caller's account as the per-request credential check reads it, in the same
    statement: what a principal, its role checks and `GET /api/user` need. A plain value,
    not an ORM object: a service that changes the account loads it."""

    id: int
    username: str
    email: str
    bio: str | None
    image: str | None
    role: str
    email_verified: bool


class TokenResponse(BaseModel):
    access_token: str = Field(description="A JWT for `Authorization: Bearer ...`.")
    refresh_token: str = Field(description="Opaque and single-use: every refresh rotates it.")
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


# Above the length of every token the server issues (an access token, a JWT, included), so
# that a token of the wrong kind is answered as a wrong token rather than as malformed input.
TOKEN_MAX = 4096


class RefreshRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"refresh_token": "kX3f0n1Qz8Yd2WcLr7uVbTgH5sJmEa4p"}]}
    )

    refresh_token: Annotated[
        str, StringConstraints(min_length=1, max_length=TOKEN_MAX), AfterValidator(clean_text), TEXT
    ]


class ApiKeyCreate(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "CI publisher", "scopes": ["articles:write"], "expiresInDays": 90}
            ]
        }
    )

    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
        raw_max_length(100),
        AfterValidator(clean_text),
        FILLED,
    ]
    scopes: list[Scope] = Field(
        default_factory=list, max_length=len(Scope), description="Reads need no scope."
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiKeyRead(CamelModel):
    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    scopes: list[Scope]
    created_at: Timestamp
    expires_at: Timestamp | None
    last_used_at: Timestamp | None


class ApiKeyCreated(CamelModel):
    id: int
    name: str
    key: str = Field(description="Shown this once; only a keyed hash of it is stored.")
    prefix: str
    scopes: list[Scope]
    created_at: Timestamp
    expires_at: Timestamp | None


class ApiKeyPage(BaseModel):
    items: list[ApiKeyRead]
    page: int
    limit: int
    total_count: int


MailToken = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=TOKEN_MAX),
    raw_max_length(TOKEN_MAX),
    AfterValidator(clean_text),
    FILLED,
    Field(description="The `token` query parameter of the link in the mail."),
]


class EmailTokenRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"token": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0"}]}
    )

    token: MailToken


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"email": "jake@jake.jake"}]})

    email: Email


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"token": "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0", "password": "a new passphrase"}
            ]
        }
    )

    token: MailToken
    password: NewPassword


class TokenRequest(BaseModel):
    """The OAuth2 password grant (RFC 6749, 4.3.2), a form."""

    # The fields of FastAPI's `OAuth2PasswordRequestForm`, as a model: a model's schema
    # carries an example, a dependency's form fields do not.
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"grant_type": "password", "username": "jake@jake.jake", "password": "jakejake"}
            ]
        }
    )

    # A form field sent empty is read as left out (FastAPI): the pattern says so, or an empty
    # `grant_type` would be documented as refused and be accepted.
    grant_type: str | None = Field(
        default=None, pattern="^(password)?$", description="`password`, or left out."
    )
    username: str = Field(description="The e-mail address.")
    password: str = Field(json_schema_extra={"format": "password"})
    scope: str = ""
    client_id: str | None = None
    client_secret: str | None = Field(default=None, json_schema_extra={"format": "password"})
