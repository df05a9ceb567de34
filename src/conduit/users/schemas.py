"""Request and response schemas for users and profiles."""

from __future__ import annotations

from typing import Annotated

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from conduit.core.schemas import (
    BLANK_CHARS,
    FILLED,
    TEXT,
    CamelModel,
    SchemaPattern,
    clean_text,
    raw_max_length,
)
from conduit.users.limits import (
    BIO_MAX,
    EMAIL_MAX,
    IMAGE_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
)

# A path or query string parameter: text as `clean_text` lets it through, its length checked
# first, as a string's ("at most 64 characters"). A limit added where such a type is
# declared (`Path(max_length=...)`, or on `... | None`) would be checked after the
# validator, as any value's length: "at most 64 items".
CleanName = Annotated[
    str, StringConstraints(max_length=USERNAME_MAX), AfterValidator(clean_text), TEXT
]


def _lower(value: str) -> str:
    return value.lower()


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def _invalid(reason: str) -> PydanticCustomError:
    return PydanticCustomError("value_error", reason, {"reason": reason})


def _email(value: str) -> str:
    # `test_environment`: addresses at `.test` (RFC 6761: free to use like any other name,
    # as `format: email` allows) are accepted; the other special-use domains (`.invalid`,
    # `.localhost`, `.local`, `.onion`, `.arpa`) can never receive mail and are refused.
    try:
        result = validate_email(
            clean_text(value), check_deliverability=False, test_environment=True
        )
    except EmailNotValidError:
        raise _invalid("is invalid") from None
    return result.normalized.lower()


def _http_url(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise _invalid("must be an http(s) URL")
    return clean_text(value)


Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=USERNAME_MAX, pattern=r"^[\w.\-]+$"
    ),
    raw_max_length(USERNAME_MAX),
    AfterValidator(clean_text),
    Field(description="Letters, digits, `_`, `.` and `-`; unique regardless of case."),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=EMAIL_MAX),
    raw_max_length(EMAIL_MAX),
    AfterValidator(clean_text),
    AfterValidator(_lower),
    FILLED,
]
NewEmail = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=EMAIL_MAX),
    raw_max_length(EMAIL_MAX),
    AfterValidator(_email),
    FILLED,
    Field(
        description="An e-mail address; one at a special-use domain other than `.test` "
        "(`.invalid`, `.localhost`, `.local`, `.onion`, `.arpa`) is refused.",
        json_schema_extra={"format": "email"},
    ),
]
NewPassword = Annotated[
    str,
    StringConstraints(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX),
    AfterValidator(clean_text),
    TEXT,
    Field(
        description=f"{PASSWORD_MIN} to {PASSWORD_MAX} characters (NIST SP 800-63B); not the "
        "username, the e-mail or the part of it before `@`, in any case."
    ),
]
Bio = Annotated[
    Annotated[str, StringConstraints(max_length=BIO_MAX), AfterValidator(clean_text), TEXT] | None,
    BeforeValidator(_blank_to_none),
    Field(description="An empty string is stored as null."),
]
ImageUrl = Annotated[
    Annotated[
        str,
        StringConstraints(max_length=IMAGE_MAX),
        AfterValidator(_http_url),
        # What `_http_url` and `clean_text` check, for the OpenAPI document; blank is null.
        SchemaPattern(rf"^(https?://[^\x00]*|[{BLANK_CHARS}]*)$"),
    ]
    | None,
    BeforeValidator(_blank_to_none),
    Field(description="An http(s) URL; an empty string is stored as null."),
]


class UserCreate(CamelModel):
    username: Username
    email: NewEmail
    password: NewPassword


class UserLogin(CamelModel):
    email: Email
    password: Annotated[
        str,
        StringConstraints(min_length=1, max_length=PASSWORD_MAX),
        AfterValidator(clean_text),
        TEXT,
    ]


class UserUpdate(CamelModel):
    """Every field optional; only the fields sent are changed."""

    # Optional, but not nullable: an explicit null is refused.
    email: NewEmail = Field(default=None)  # type: ignore[assignment]
    username: Username = Field(default=None)  # type: ignore[assignment]
    password: NewPassword = Field(default=None)  # type: ignore[assignment]
    bio: Bio = None
    image: ImageUrl = None


class UserRead(CamelModel):
    email: str
    token: str
    username: str
    bio: str | None
    image: str | None
    email_verified: bool = Field(description="Whether the address has been confirmed by mail.")


class UserSessionRead(UserRead):
    """Registration and login also hand out the session's refresh token."""

    refresh_token: str = Field(description="Opaque; exchange it at /api/auth/refresh.")


class ProfileRead(CamelModel):
    username: str
    bio: str | None
    image: str | None
    following: bool


class NewUserRequest(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"user": {"username": "jake", "email": "jake@jake.jake", "password": "jakejake"}}
            ]
        }
    )

    user: UserCreate


class LoginRequest(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"user": {"email": "jake@jake.jake", "password": "jakejake"}}]
        }
    )

    user: UserLogin


class UpdateUserRequest(CamelModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "user": {
                        "bio": "I like to skateboard",
                        "image": "https://i.stack.imgur.com/xHWG8.jpg",
                    }
                }
            ]
        }
    )

    user: UserUpdate


class UserResponse(CamelModel):
    user: UserRead


class UserSessionResponse(CamelModel):
    user: UserSessionRead


class ProfileResponse(CamelModel):
    profile: ProfileRead
