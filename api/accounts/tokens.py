"""JSON Web Tokens of four kinds, told apart by their `typ` claim.

| kind    | lifetime             | extra claims                              |
|---------|----------------------|-------------------------------------------|
| access  | ACCESS_TOKEN_MINUTES | `ver`: user's token version; `fam`        |
| refresh | REFRESH_TOKEN_DAYS   | `fam`: the sign-in family; `jti` = row id |
| confirm | CONFIRM_TOKEN_HOURS  | `email`: the address being confirmed      |
| reset   | RESET_TOKEN_MINUTES  | `pwd`: when the password last changed     |

Every token has `sub`, `typ`, `jti`, `iat` and `exp`; decoding requires all of them, pins the
algorithm to HASH, and accepts only the kind the caller asks for. HS* algorithms sign with
SECRET_KEY; RS*/ES* sign with JWT_PRIVATE_KEY_FILE and verify with JWT_PUBLIC_KEY_FILE.

An access token holds while its user's token version is unchanged and its sign-in family
(`fam`) is not revoked; Postgres decides both (see `dependencies.user_of_grant`). The Redis
denylist below only ends a logged-out token a little sooner on the request path.
"""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from uuid import UUID, uuid4

from jose import jwt
from jose.exceptions import ExpiredSignatureError, JOSEError
from pydantic import BaseModel, ConfigDict, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from api.accounts.errors import AccountsUnavailable, InvalidToken, TokenExpired
from api.core.settings import HMAC_ALGORITHMS, Settings, get_settings

TokenKind = Literal["access", "refresh", "confirm", "reset"]

MAX_TOKEN_LENGTH = 4096
REQUIRED_CLAIMS = ("sub", "typ", "jti", "iat", "exp")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4)
def _read_key(path: Path) -> str:
    return path.read_text()


def _signing_key(settings: Settings) -> str:
    if settings.jwt_algorithm in HMAC_ALGORITHMS:
        return settings.secret_key
    assert settings.jwt_private_key_file is not None  # enforced by Settings
    return _read_key(settings.jwt_private_key_file)


def _verifying_key(settings: Settings) -> str:
    if settings.jwt_algorithm in HMAC_ALGORITHMS:
        return settings.secret_key
    assert settings.jwt_public_key_file is not None  # enforced by Settings
    return _read_key(settings.jwt_public_key_file)


def password_stamp(password_changed_at: datetime) -> int:
    """Microseconds since the epoch: exact, so a reset token matches one password only."""
    if password_changed_at.tzinfo is None:
        password_changed_at = password_changed_at.replace(tzinfo=UTC)
    return (password_changed_at - _EPOCH) // timedelta(microseconds=1)


def _mint(
    kind: TokenKind, subject: UUID, lifetime: timedelta, **claims: Any
) -> tuple[str, dict[str, Any]]:
    settings = get_settings()
    now = datetime.now(UTC)
    payload = {
        "sub": str(subject),
        "typ": kind,
        "jti": str(claims.pop("jti", None) or uuid4()),
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        **claims,
    }
    token = jwt.encode(payload, _signing_key(settings), algorithm=settings.jwt_algorithm)

    return token, payload


def mint_access_token(
    user_id: UUID, token_version: int, family_id: UUID
) -> tuple[str, dict[str, Any]]:
    """An access token and its claims (the caller needs `exp` for `expires_in`).

    `family_id` names the sign-in the token belongs to, so logout can end it.
    """
    lifetime = timedelta(minutes=get_settings().access_token_minutes)
    return _mint("access", user_id, lifetime, ver=token_version, fam=str(family_id))


def mint_refresh_token(user_id: UUID, session_id: UUID, family_id: UUID) -> str:
    """A refresh token whose `jti` is the id of its `RefreshSession` row."""
    lifetime = timedelta(days=get_settings().refresh_token_days)
    token, _ = _mint("refresh", user_id, lifetime, jti=session_id, fam=str(family_id))
    return token


def mint_confirm_token(user_id: UUID, email: str) -> str:
    """The token of an email confirmation link: `GET /auth/confirm/email/{token}`.

    Valid for CONFIRM_TOKEN_HOURS and only while the account's email is still `email`.
    """
    lifetime = timedelta(hours=get_settings().confirm_token_hours)
    token, _ = _mint("confirm", user_id, lifetime, email=email.lower())
    return token


def mint_reset_token(user_id: UUID, password_changed_at: datetime) -> str:
    """The token of a password reset link: `PATCH /auth/reset/email_confirmed/{token}`.

    Pass the user's current `password_changed_at`: the token works once, for
    RESET_TOKEN_MINUTES, and stops working as soon as the password changes.
    """
    lifetime = timedelta(minutes=get_settings().reset_token_minutes)
    token, _ = _mint("reset", user_id, lifetime, pwd=password_stamp(password_changed_at))
    return token


def decode_token(token: str, kind: TokenKind) -> dict[str, Any]:
    """Verified claims of a token of the given kind; any defect raises a 401 domain error."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken()

    settings = get_settings()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _verifying_key(settings),
            algorithms=[settings.jwt_algorithm],
            options={f"require_{claim}": True for claim in REQUIRED_CLAIMS},
        )
    except ExpiredSignatureError:
        raise TokenExpired() from None
    except (JOSEError, ValueError, TypeError, KeyError):
        raise InvalidToken() from None

    if claims.get("typ") != kind:
        raise InvalidToken(
            f"This is not {_with_article(kind)} token; use the token meant for this endpoint."
        )
    try:
        claims["sub"] = UUID(str(claims["sub"]))
        claims["jti"] = UUID(str(claims["jti"]))
    except ValueError:
        raise InvalidToken() from None

    return claims


def _with_article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


class AccessGrant(BaseModel):
    """What a verified access token grants, and what decides whether it still holds.

    Checked on every request, and again and again by long-lived uses such as an open
    event stream, which keep the grant rather than the token.
    """

    model_config = ConfigDict(frozen=True)

    user_id: UUID
    jti: UUID
    family_id: UUID
    token_version: int
    expires_at: int  # seconds since the epoch, as the token's `exp`

    @classmethod
    def of(cls, claims: dict[str, Any]) -> "AccessGrant":
        """The grant of verified access claims; 401 when they lack `fam` or `ver`."""
        try:
            return cls.model_validate(
                {
                    "user_id": claims["sub"],
                    "jti": claims["jti"],
                    "family_id": claims.get("fam"),
                    "token_version": claims.get("ver"),
                    "expires_at": claims["exp"],
                }
            )
        except ValidationError:
            raise InvalidToken("This access token names no sign-in; log in again.") from None

    def seconds_left(self) -> float:
        return self.expires_at - datetime.now(UTC).timestamp()


def remaining_seconds(claims: dict[str, Any]) -> int:
    """Seconds until the token expires (at least 1, so a Redis TTL is always valid)."""
    return max(1, int(claims["exp"]) - int(datetime.now(UTC).timestamp()))


def _denylist_key(jti: UUID) -> str:
    return f"accounts:denied_access:{jti}"


async def deny_access_token(redis: Redis, claims: dict[str, Any]) -> None:
    """Make an access token unusable at once; the entry expires when the token would."""
    try:
        await redis.set(_denylist_key(claims["jti"]), "1", ex=remaining_seconds(claims))
    except RedisError as exc:
        raise AccountsUnavailable() from exc


async def is_access_token_denied(redis: Redis, jti: UUID) -> bool:
    """Fails closed: when Redis cannot say, the token is not trusted (503)."""
    try:
        return bool(await redis.exists(_denylist_key(jti)))
    except RedisError as exc:
        raise AccountsUnavailable() from exc
