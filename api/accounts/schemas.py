"""Request and response bodies of the accounts endpoints."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.accounts.passwords import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

EMAIL_MAX_LENGTH = 320
REFRESH_TOKEN_MAX_LENGTH = 4096


def normalise_email(value: str) -> str:
    """The one spelling under which an address is stored and looked up: validated, lowercase.

    Raises ValueError (a 422 inside a schema) when the address is not valid.
    """
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"not a valid email address: {exc}") from None
    return checked.normalized.lower()


Email = Annotated[
    str,
    Field(max_length=EMAIL_MAX_LENGTH, examples=["ada@example.com"]),
    AfterValidator(normalise_email),
]
NewPassword = Annotated[
    str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)
]


class RegisterIn(BaseModel):
    email: Email
    password: NewPassword


def refuse_control_characters(value: str) -> str:
    """No address holds control characters, and Postgres text cannot store a NUL byte."""
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        raise ValueError("must not contain control characters")
    return value


class LoginIn(BaseModel):
    """Login body. The email is not validated as an address here, so a malformed one is a
    plain 401 like any unknown one; control characters are refused (422) before any lookup."""

    email: Annotated[
        str,
        Field(min_length=1, max_length=EMAIL_MAX_LENGTH, examples=["ada@example.com"]),
        AfterValidator(refuse_control_characters),
    ]
    password: str = Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)


class EmailIn(BaseModel):
    email: Email


class NewPasswordIn(BaseModel):
    new_password: NewPassword


class RefreshIn(BaseModel):
    """Optional body: browsers send the refresh token in its cookie instead."""

    refresh_token: str | None = Field(None, max_length=REFRESH_TOKEN_MAX_LENGTH)


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 scheme name
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    email: str
    confirmed: bool
    created: datetime
    face_enrolled: bool


class RegisteredOut(BaseModel):
    id: UUID
    email: str
    confirmed: bool
    detail: str


class ConfirmedOut(BaseModel):
    confirmed: Literal[True] = True
    already_confirmed: bool
    detail: str


class MessageOut(BaseModel):
    detail: str
