"""Account use cases. They change the session and stage events; the endpoint commits once
and publishes the returned events after that commit."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import structlog
from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts import ratelimit, repository
from api.accounts.dependencies import user_of_grant
from api.accounts.errors import (
    EmailNotConfirmed,
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    MailUnavailable,
    RefreshTokenReused,
    ResetTokenUsed,
    ResetUnavailable,
    TokenRevoked,
)
from api.accounts.models import RefreshSession, UsedToken, User
from api.accounts.passwords import (
    hash_password,
    needs_rehash,
    spend_dummy_verify,
    verify_password,
)
from api.accounts.schemas import TokenPairOut, UserOut, normalise_email
from api.accounts.tokens import (
    AccessGrant,
    decode_token,
    deny_access_token,
    mint_access_token,
    mint_refresh_token,
    password_stamp,
)
from api.core.settings import get_settings
from api.events.outbox import stage
from contracts.events import ConfirmationRequested, Event, ResetRequested, UserRegistered

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class IssuedTokens:
    body: TokenPairOut
    refresh_max_age: int
    session_id: UUID


async def register(
    session: AsyncSession, email: str, password: str, client: str
) -> tuple[User, list[Event]]:
    """Create an account. With mail off (SMTP=0) it is confirmed at once."""
    settings = get_settings()
    await ratelimit.hit(settings.register_limit_per_client, "register:client", client)

    if await repository.user_by_email(session, email) is not None:
        raise EmailTaken()

    user = User(
        id=uuid4(),
        email=email,
        password_hash=await hash_password(password),
        email_confirmed=not settings.mail_enabled,
    )
    session.add(user)
    event = stage(session, UserRegistered(user_id=user.id, email=email))
    try:
        await session.flush()
    except IntegrityError:
        # A concurrent registration of the same address won the unique index.
        await session.rollback()
        raise EmailTaken() from None

    log.info("accounts.register.succeeded", user_id=str(user.id), confirmed=user.email_confirmed)
    return user, [event]


async def confirm_email(session: AsyncSession, token: str) -> bool:
    """Confirm the address of a confirmation token. Returns whether it was already confirmed."""
    claims = decode_token(token, "confirm")
    user = await repository.user_for_update(session, claims["sub"])
    if user is None or claims.get("email") != user.email:
        raise InvalidToken("This confirmation link matches no account; ask for a new one.")

    if user.email_confirmed:
        return True

    user.email_confirmed = True
    log.info("accounts.confirm.succeeded", user_id=str(user.id))
    return False


async def authenticate(
    session: AsyncSession, raw_email: str, password: str, client: str
) -> User:
    """The user whose credentials these are, rehashing the password if its parameters aged.

    Every attempt counts against the client's limit and the account's; a success clears
    the account's, so in effect it counts failures. Counting before verifying keeps a burst
    of parallel guesses within the limit. Unknown emails cost a hash verification too.
    """
    settings = get_settings()
    email = _lenient_normalise(raw_email)
    await ratelimit.hit(settings.login_limit_per_client, "login:client", client)
    await ratelimit.hit(settings.login_limit_per_account, "login:account", email)

    user = await repository.user_by_email(session, email)
    if user is None:
        await spend_dummy_verify(password)
    if user is None or not await verify_password(user.password_hash, password):
        log.info("accounts.login.rejected", reason="invalid_credentials", client=client)
        raise InvalidCredentials()

    await ratelimit.clear(settings.login_limit_per_account, "login:account", email)

    if needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
        log.info("accounts.password.rehashed", user_id=str(user.id))

    if settings.mail_enabled and not user.email_confirmed:
        log.info("accounts.login.rejected", reason="email_not_confirmed", user_id=str(user.id))
        raise EmailNotConfirmed()

    return user


def _lenient_normalise(raw_email: str) -> str:
    try:
        return normalise_email(raw_email)
    except ValueError:
        return raw_email.strip().lower()


def issue_tokens(
    session: AsyncSession, user: User, family_id: UUID | None = None
) -> IssuedTokens:
    """A new refresh session (in a new family unless rotating) and an access token."""
    settings = get_settings()
    refresh_lifetime = timedelta(days=settings.refresh_token_days)
    refresh_session = RefreshSession(
        id=uuid4(),
        family_id=family_id or uuid4(),
        user_id=user.id,
        expires_at=datetime.now(UTC) + refresh_lifetime,
    )
    session.add(refresh_session)

    access_token, access_claims = mint_access_token(
        user.id, user.token_version, refresh_session.family_id
    )
    refresh_token = mint_refresh_token(user.id, refresh_session.id, refresh_session.family_id)
    body = TokenPairOut(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=access_claims["exp"] - access_claims["iat"],
    )

    return IssuedTokens(body, int(refresh_lifetime.total_seconds()), refresh_session.id)


async def rotate_refresh_token(session: AsyncSession, refresh_token: str) -> IssuedTokens:
    """Exchange a refresh token for a new pair. A rotated token presented again revokes its
    whole family and raises RefreshTokenReused: the caller must commit before answering."""
    claims = decode_token(refresh_token, "refresh")
    current = await repository.refresh_session_for_update(session, claims["jti"])
    if current is None or current.user_id != claims["sub"]:
        raise InvalidToken("This refresh token belongs to no session; log in again.")

    if current.rotated_at is not None:
        await repository.revoke_family(session, current.family_id)
        log.warning(
            "accounts.refresh.reused",
            user_id=str(current.user_id),
            family_id=str(current.family_id),
        )
        raise RefreshTokenReused()

    if current.revoked_at is not None:
        raise TokenRevoked(
            "This session has ended (logout, password change or a reused refresh token);"
            " log in again."
        )

    user = await session.get(User, current.user_id)
    if user is None:
        raise InvalidToken("The account of this token no longer exists; log in again.")

    issued = issue_tokens(session, user, family_id=current.family_id)
    current.rotated_at = datetime.now(UTC)
    current.replaced_by = issued.session_id
    log.info("accounts.refresh.succeeded", user_id=str(user.id), family_id=str(current.family_id))

    return issued


async def end_session(
    session: AsyncSession,
    redis: Redis,
    access_claims: dict[str, Any] | None,
    refresh_token: str | None,
) -> None:
    """Logout: revoke the sign-in's refresh sessions, which ends every access token of that
    sign-in (see `dependencies.user_of_grant`), and deny the presented one in Redis too."""
    families: set[UUID] = set()
    refresh_owner: UUID | None = None
    if refresh_token is not None:
        refresh_claims = decode_token(refresh_token, "refresh")
        refresh_session = await repository.refresh_session_for_update(
            session, refresh_claims["jti"]
        )
        if refresh_session is None:
            raise InvalidToken("This refresh token belongs to no session; log in again.")
        families.add(refresh_session.family_id)
        refresh_owner = refresh_session.user_id

    if access_claims is not None:
        grant = AccessGrant.of(access_claims)
        await user_of_grant(session, grant)
        if refresh_owner is not None and refresh_owner != grant.user_id:
            # A cookie left by another account in this browser is not the caller's to end.
            log.warning("accounts.logout.foreign_refresh_ignored", user_id=str(grant.user_id))
            families.clear()
        families.add(grant.family_id)
        await deny_access_token(redis, access_claims)

    for family_id in families:
        await repository.revoke_family(session, family_id)

    log.info(
        "accounts.logout.succeeded",
        families=len(families),
        access_denied=access_claims is not None,
    )


async def request_reset(
    session: AsyncSession, email: str, client: str
) -> list[Event]:
    """Stage a ResetRequested event when the account exists; the answer never says."""
    settings = get_settings()
    if not settings.mail_enabled:
        raise ResetUnavailable()

    await ratelimit.hit(settings.reset_limit_per_client, "reset:client", client)
    await ratelimit.hit(settings.reset_limit_per_account, "reset:account", email)

    user = await repository.user_by_email(session, email)
    if user is None:
        log.info("accounts.reset.requested", known=False)
        return []

    log.info("accounts.reset.requested", known=True, user_id=str(user.id))
    return [stage(session, ResetRequested(user_id=user.id, email=user.email))]


async def reset_password(session: AsyncSession, token: str, new_password: str) -> None:
    """Set a new password with a reset token: once, and only for the password it was minted
    for. Ends every session and outstanding access token of the user; confirms the email,
    since following the link proves the mailbox is theirs."""
    claims = decode_token(token, "reset")
    user = await repository.user_for_update(session, claims["sub"])
    if user is None:
        raise InvalidToken("This reset link is not valid for any account; ask for a new one.")

    stale = claims.get("pwd") != password_stamp(user.password_changed_at)
    if stale or await repository.token_was_used(session, claims["jti"]):
        raise ResetTokenUsed()

    user.password_hash = await hash_password(new_password)
    user.password_changed_at = datetime.now(UTC)
    user.token_version += 1
    user.email_confirmed = True
    session.add(
        UsedToken(
            jti=claims["jti"],
            kind="reset",
            user_id=user.id,
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    )
    await repository.revoke_all_of_user(session, user.id)
    log.info("accounts.reset.succeeded", user_id=str(user.id))


async def resend_confirmation(session: AsyncSession, email: str, client: str) -> list[Event]:
    """Stage a ConfirmationRequested event for an unconfirmed account; the answer never says."""
    settings = get_settings()
    if not settings.mail_enabled:
        raise MailUnavailable()

    await ratelimit.hit(settings.reset_limit_per_client, "resend:client", client)
    await ratelimit.hit(settings.reset_limit_per_account, "resend:account", email)

    user = await repository.user_by_email(session, email)
    if user is None or user.email_confirmed:
        log.info("accounts.resend.skipped", known=user is not None)
        return []

    log.info("accounts.resend.requested", user_id=str(user.id))
    return [stage(session, ConfirmationRequested(user_id=user.id, email=user.email))]


async def describe(session: AsyncSession, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        confirmed=user.email_confirmed,
        created=user.created_at,
        face_enrolled=await repository.has_face_enrolment(session, user.id),
    )
