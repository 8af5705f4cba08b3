"""Accounts endpoints under /auth. Each commits once, then publishes what it staged."""

from collections.abc import Sequence
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Cookie, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts import service
from api.accounts.dependencies import CurrentUser, optional_access_token_claims
from api.accounts.errors import (
    AccountsUnavailable,
    EmailNotConfirmed,
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    MailUnavailable,
    NotAuthenticated,
    RateLimited,
    RefreshTokenReused,
    ResetTokenUsed,
    ResetUnavailable,
    TokenExpired,
    TokenRevoked,
    Unauthorized,
    ValidationFailed,
)
from api.accounts.ratelimit import client_address
from api.accounts.schemas import (
    ConfirmedOut,
    EmailIn,
    LoginIn,
    MessageOut,
    NewPasswordIn,
    RefreshIn,
    RegisteredOut,
    RegisterIn,
    TokenPairOut,
    UserOut,
)
from api.core.database import get_sessionmaker, session_scope
from api.core.errors import error_responses
from api.core.redis import get_redis
from api.core.settings import get_settings
from api.events.outbox import publish_committed
from contracts.events import Event

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/auth", tags=["accounts"])

REFRESH_COOKIE = "refresh_token"
REFRESH_COOKIE_PATH = "/auth"

DbSession = Annotated[AsyncSession, Depends(session_scope)]
RedisClient = Annotated[Redis, Depends(get_redis)]
RefreshCookie = Annotated[str | None, Cookie(alias=REFRESH_COOKIE, include_in_schema=False)]
BEARER_ERRORS = (NotAuthenticated, InvalidToken, TokenExpired, TokenRevoked, AccountsUnavailable)

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_LOGIN_FORM_SCHEMA = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["password"]},
        "username": {"type": "string", "description": "The account's email address."},
        "password": {"type": "string", "format": "password"},
    },
}
_LOGIN_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginIn.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": _LOGIN_FORM_SCHEMA},
        },
    }
}


async def _commit_and_publish(
    session: AsyncSession, redis: Redis, events: Sequence[Event] = ()
) -> None:
    await session.commit()
    if events:
        await publish_committed(redis, get_sessionmaker(), events)


def _set_refresh_cookie(response: Response, token: str, max_age: int) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        token,
        max_age=max_age,
        path=REFRESH_COOKIE_PATH,
        httponly=True,
        secure=get_settings().cookie_secure,
        samesite="strict",
    )


def _clear_refresh_cookie(response: Response) -> None:
    response.delete_cookie(
        REFRESH_COOKIE,
        path=REFRESH_COOKIE_PATH,
        httponly=True,
        secure=get_settings().cookie_secure,
        samesite="strict",
    )


def _clearing_cookie_header() -> dict[str, str]:
    """A Set-Cookie header that removes the refresh cookie, for error answers."""
    carrier = Response()
    _clear_refresh_cookie(carrier)
    return {"set-cookie": carrier.headers["set-cookie"]}


async def _read_login(request: Request) -> LoginIn:
    """Credentials from JSON (`email`) or from the OAuth2 password form (`username`)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type in _FORM_TYPES:
            form = await request.form()
            raw: Any = {
                "email": form.get("username") or form.get("email"),
                "password": form.get("password"),
            }
        else:
            raw = await request.json()
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "Body is not valid JSON"}]
        ) from None

    try:
        return LoginIn.model_validate(raw)
    except RecursionError:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "Body is nested too deeply"}]
        ) from None
    except ValidationError as exc:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        raise RequestValidationError(errors) from None


@router.post(
    "/register",
    status_code=201,
    response_model=RegisteredOut,
    responses=error_responses(EmailTaken, ValidationFailed, RateLimited, AccountsUnavailable),
)
async def register(
    body: RegisterIn, request: Request, session: DbSession, redis: RedisClient
) -> RegisteredOut:
    """Create an account. Publishes `user.registered`; with mail on (SMTP=1) the worker
    then mails a confirmation link, with mail off the account is confirmed at once.

    An address already registered answers 409 `email_taken`: registration reveals that an
    address has an account (as almost every sign-up form does); the per-client rate limit
    bounds how fast anyone can probe. Login, reset and resend never reveal it.
    """
    user, events = await service.register(
        session, body.email, body.password, client_address(request)
    )
    await _commit_and_publish(session, redis, events)

    if user.email_confirmed:
        detail = "Account created; log in with POST /auth/login."
    else:
        detail = "Account created; follow the link we mailed you to confirm it, then log in."
    return RegisteredOut(id=user.id, email=user.email, confirmed=user.email_confirmed,
                         detail=detail)


@router.get(
    "/confirm/email/{token}",
    response_model=ConfirmedOut,
    responses=error_responses(InvalidToken, TokenExpired, ValidationFailed),
)
async def confirm_email(token: str, session: DbSession) -> ConfirmedOut:
    """Confirm an email address with the token of a confirmation link. Safe to repeat."""
    already = await service.confirm_email(session, token)
    await session.commit()

    if already:
        return ConfirmedOut(already_confirmed=True, detail="Already confirmed; log in.")
    return ConfirmedOut(already_confirmed=False, detail="Email confirmed; log in.")


@router.post(
    "/login",
    response_model=TokenPairOut,
    responses=error_responses(
        InvalidCredentials, EmailNotConfirmed, ValidationFailed, RateLimited, AccountsUnavailable
    ),
    openapi_extra=_LOGIN_BODY_DOC,
)
async def login(request: Request, response: Response, session: DbSession) -> TokenPairOut:
    """Exchange email and password for an access token and a refresh token.

    Accepts JSON `{email, password}` or the OAuth2 password form (`username`, `password`),
    so the Authorize button of /docs works. The refresh token is also set as an httpOnly
    cookie scoped to /auth.
    """
    credentials = await _read_login(request)
    user = await service.authenticate(
        session, credentials.email, credentials.password, client_address(request)
    )
    issued = service.issue_tokens(session, user)
    await session.commit()

    _set_refresh_cookie(response, issued.body.refresh_token, issued.refresh_max_age)
    log.info("accounts.login.succeeded", user_id=str(user.id))
    return issued.body


@router.get("/user/me", response_model=UserOut, responses=error_responses(*BEARER_ERRORS))
async def me(user: CurrentUser, session: DbSession) -> UserOut:
    """The signed-in account, and whether a face is enrolled for it."""
    return await service.describe(session, user)


@router.post(
    "/refresh",
    response_model=TokenPairOut,
    responses=error_responses(
        NotAuthenticated, InvalidToken, TokenExpired, TokenRevoked, RefreshTokenReused,
        ValidationFailed,
    ),
)
async def refresh(
    response: Response,
    session: DbSession,
    refresh_cookie: RefreshCookie = None,
    body: RefreshIn | None = None,
) -> TokenPairOut:
    """Exchange a refresh token (body or cookie) for a new access token and a new refresh
    token. Each refresh token works once: presenting a used one again ends every session
    of that sign-in (401 `refresh_token_reused`)."""
    token = (body.refresh_token if body else None) or refresh_cookie
    if token is None:
        raise NotAuthenticated(
            "Send the refresh token as `refresh_token` in the body or in its cookie;"
            " log in if you have none."
        )

    try:
        issued = await service.rotate_refresh_token(session, token)
    except RefreshTokenReused as exc:
        await session.commit()  # keep the family's revocation
        raise RefreshTokenReused(headers=_clearing_cookie_header()) from exc
    except Unauthorized as exc:
        raise type(exc)(exc.detail, headers=_clearing_cookie_header()) from exc
    await session.commit()

    _set_refresh_cookie(response, issued.body.refresh_token, issued.refresh_max_age)
    return issued.body


@router.post(
    "/logout",
    response_model=MessageOut,
    responses=error_responses(*BEARER_ERRORS, ValidationFailed),
)
async def logout(
    response: Response,
    session: DbSession,
    redis: RedisClient,
    access_claims: Annotated[dict[str, Any] | None, Depends(optional_access_token_claims)],
    refresh_cookie: RefreshCookie = None,
    body: RefreshIn | None = None,
) -> MessageOut:
    """End the sign-in: revoke its refresh tokens (from the body, the cookie, or the access
    token's sign-in) and make the presented access token unusable at once."""
    body_token = body.refresh_token if body else None
    if access_claims is None and body_token is None and refresh_cookie is None:
        raise NotAuthenticated(
            "Send the access token (Authorization: Bearer) or the refresh token to log out."
        )

    try:
        await service.end_session(session, redis, access_claims, body_token or refresh_cookie)
    except Unauthorized as exc:
        if body_token is not None or access_claims is None:
            raise type(exc)(exc.detail, headers=_clearing_cookie_header()) from exc
        # A stale cookie must not keep a valid access token alive: end that sign-in alone.
        await service.end_session(session, redis, access_claims, None)
    await session.commit()

    _clear_refresh_cookie(response)
    return MessageOut(detail="Logged out; your tokens no longer work.")


@router.post(
    "/reset",
    status_code=202,
    response_model=MessageOut,
    responses=error_responses(
        ResetUnavailable, ValidationFailed, RateLimited, AccountsUnavailable
    ),
)
async def request_reset(
    body: EmailIn, request: Request, session: DbSession, redis: RedisClient
) -> MessageOut:
    """Ask for a password reset link. The answer is the same whether or not the address has
    an account. With mail off (SMTP=0) resets are unavailable: 409 `reset_unavailable`."""
    events = await service.request_reset(session, body.email, client_address(request))
    await _commit_and_publish(session, redis, events)

    return MessageOut(detail="If an account uses this address, a reset link is on its way.")


@router.patch(
    "/reset/email_confirmed/{token}",
    response_model=MessageOut,
    responses=error_responses(InvalidToken, TokenExpired, ResetTokenUsed, ValidationFailed),
)
async def reset_password(token: str, body: NewPasswordIn, session: DbSession) -> MessageOut:
    """Set a new password with the token of a reset link. The link works once; afterwards
    every session of the account has ended and it must log in again."""
    await service.reset_password(session, token, body.new_password)
    await session.commit()

    return MessageOut(detail="Password changed; log in with the new password.")


@router.post(
    "/confirm/resend",
    status_code=202,
    response_model=MessageOut,
    responses=error_responses(
        MailUnavailable, ValidationFailed, RateLimited, AccountsUnavailable
    ),
)
async def resend_confirmation(
    body: EmailIn, request: Request, session: DbSession, redis: RedisClient
) -> MessageOut:
    """Ask for the confirmation mail again. The answer is the same for unknown addresses
    and for accounts already confirmed."""
    events = await service.resend_confirmation(session, body.email, client_address(request))
    await _commit_and_publish(session, redis, events)

    return MessageOut(
        detail="If an unconfirmed account uses this address, a new link is on its way."
    )
