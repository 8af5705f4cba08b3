"""Domain errors of the accounts domain. Each carries its HTTP status and a stable code."""

from typing import ClassVar

from api.core.errors import DomainError

BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class Unauthorized(DomainError):
    """Base of every 401: carries the `WWW-Authenticate: Bearer` challenge."""

    status_code: ClassVar[int] = 401
    code: ClassVar[str] = "unauthorized"
    message: ClassVar[str] = "Authentication failed; log in again."

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail, {**BEARER_CHALLENGE, **(headers or {})})


class NotAuthenticated(Unauthorized):
    code = "not_authenticated"
    message = "No credentials were sent; send `Authorization: Bearer <access token>`."


class InvalidToken(Unauthorized):
    code = "invalid_token"
    message = "The token is invalid for this endpoint; log in again or ask for a new link."


class TokenExpired(Unauthorized):
    code = "token_expired"
    message = "The token has expired; refresh it, log in again or ask for a new link."


class TokenRevoked(Unauthorized):
    code = "token_revoked"
    message = (
        "The token was revoked (logout, password change or a reused refresh token);"
        " log in again."
    )


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = "Email or password is wrong; check them and retry, or reset your password."


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    message = (
        "This refresh token was already used, so every session of this sign-in was ended"
        " for safety; log in again."
    )


class ResetTokenUsed(Unauthorized):
    code = "reset_token_used"
    message = "This reset link was already used or the password has changed; ask for a new one."


class EmailNotConfirmed(DomainError):
    status_code = 403
    code = "email_not_confirmed"
    message = (
        "Confirm your email address first: follow the link we sent, or ask for a new one"
        " at POST /auth/confirm/resend."
    )


class EmailTaken(DomainError):
    status_code = 409
    code = "email_taken"
    message = "An account with this email already exists; log in or reset its password."


class ResetUnavailable(DomainError):
    status_code = 409
    code = "reset_unavailable"
    message = (
        "Password reset by mail is off on this server (SMTP=0); ask its administrator to"
        " enable mail (SMTP=1)."
    )


class MailUnavailable(DomainError):
    status_code = 409
    code = "mail_unavailable"
    message = (
        "Mail is off on this server (SMTP=0), so accounts are confirmed at registration and"
        " no confirmation mail is sent; log in directly."
    )


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"
    message = "Too many attempts; wait for the number of seconds in Retry-After, then retry."


class ValidationFailed(DomainError):
    """Documents the 422 body rendered by the core validation handler; never raised here."""

    status_code = 422
    code = "validation_error"
    message = "Some fields are invalid; correct them and retry."


class AccountsUnavailable(DomainError):
    status_code = 503
    code = "accounts_unavailable"
    message = (
        "Sign-in checks are briefly unavailable (the Redis store cannot be reached);"
        " retry in a minute."
    )
