"""FastAPI dependencies: the verified access token and the user it belongs to.

Other domains protect an endpoint with `user: CurrentUser` (or `Depends(current_user)`).
Whether a token still holds is decided in Postgres, so a Redis restart cannot bring a
logged-out token back: see `user_of_grant`.
"""

from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts import repository
from api.accounts.errors import InvalidToken, NotAuthenticated, TokenExpired, TokenRevoked
from api.accounts.models import User
from api.accounts.tokens import AccessGrant, decode_token, is_access_token_denied
from api.core.database import session_scope
from api.core.redis import get_redis

# auto_error=False: a missing token becomes our own 401 body instead of FastAPI's.
bearer_scheme = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)


async def optional_access_token_claims(
    token: Annotated[str | None, Depends(bearer_scheme)],
    redis: Annotated[Redis, Depends(get_redis)],
) -> dict[str, Any] | None:
    """Claims of the bearer access token, or None when no Authorization header was sent."""
    if token is None:
        return None

    claims = decode_token(token, "access")

    # A fast path for the token that was logged out itself; Postgres remains the authority.
    if await is_access_token_denied(redis, claims["jti"]):
        raise TokenRevoked()

    return claims


async def access_token_claims(
    claims: Annotated[dict[str, Any] | None, Depends(optional_access_token_claims)],
) -> dict[str, Any]:
    """Claims of a valid, not revoked bearer access token (`sub`, `jti`, `exp`, `ver`...)."""
    if claims is None:
        raise NotAuthenticated()
    return claims


async def current_user(
    claims: Annotated[dict[str, Any], Depends(access_token_claims)],
    session: Annotated[AsyncSession, Depends(session_scope)],
) -> User:
    """The signed-in user. 401 when the token is missing, invalid, revoked or outdated."""
    return await user_of_access_claims(session, claims)


async def user_of_access_claims(session: AsyncSession, claims: dict[str, Any]) -> User:
    """The user of verified access claims, checking the account still honours the token."""
    return await user_of_grant(session, AccessGrant.of(claims))


async def user_of_grant(session: AsyncSession, grant: AccessGrant) -> User:
    """The user of an access grant that still holds, found in one indexed query.

    401 `token_expired` once it expires, `token_revoked` once the password changed or its
    sign-in ended (logout, password reset, a reused refresh token), `invalid_token` once
    the account is gone.
    """
    if grant.seconds_left() <= 0:
        raise TokenExpired()

    user, family_revoked = await repository.user_and_family_revoked(
        session, grant.user_id, grant.family_id
    )
    if user is None:
        raise InvalidToken("The account of this token no longer exists; log in again.")

    if grant.token_version != user.token_version:
        raise TokenRevoked("The password changed since this token was issued; log in again.")

    if family_revoked:
        raise TokenRevoked(
            "This sign-in has ended (logout, password reset or a reused refresh token);"
            " log in again."
        )

    return user


CurrentUser = Annotated[User, Depends(current_user)]
AccessClaims = Annotated[dict[str, Any], Depends(access_token_claims)]
