"""Users, their refresh sessions, and the single-use tokens already spent.

Access tokens have no rows: each names its sign-in family (`fam`), and it is refused once
any `RefreshSession` of that family is revoked (logout, password reset, a reused refresh
token). The Redis denylist of `tokens.deny_access_token` is only a faster first check.
"""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base


class User(Base):
    """An account. `email` is stored normalised (lowercased) and unique case-insensitively."""

    __tablename__ = "users"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    email_confirmed: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Access tokens carry the version they were minted under; bumping it (password reset)
    # makes every outstanding access token of the user unusable at once.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    __table_args__ = (Index("uq_users_email_lower", func.lower(email), unique=True),)


class RefreshSession(Base):
    """One refresh token. Rotation links tokens of one sign-in into a family.

    A token is usable while neither `rotated_at` nor `revoked_at` is set and it has not
    expired. Presenting a rotated token again means it was stolen: the family is revoked.
    """

    __tablename__ = "refresh_sessions"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)  # the token's jti
    family_id: Mapped[UUID] = mapped_column(index=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replaced_by: Mapped[UUID | None] = mapped_column()


class UsedToken(Base):
    """A single-use token (password reset) already spent, kept until it would expire."""

    __tablename__ = "used_tokens"

    jti: Mapped[UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
