"""Queries of the accounts tables. No commits here: the endpoint commits once."""

from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.models import RefreshSession, UsedToken, User
from api.face.models import FaceEnrolment


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.email) == email.lower()))


async def user_and_family_revoked(
    session: AsyncSession, user_id: UUID, family_id: UUID
) -> tuple[User | None, bool]:
    """The user, and whether the sign-in family was revoked, in one query.

    A family counts as revoked once any of its sessions is: revocation is never undone, and
    a session rotated in while the family was being revoked cannot revive it.
    """
    family_revoked = exists().where(
        RefreshSession.family_id == family_id, RefreshSession.revoked_at.is_not(None)
    )
    statement = select(User, family_revoked.label("family_revoked")).where(User.id == user_id)
    row = (await session.execute(statement)).first()
    if row is None:
        return None, False

    user, revoked = row

    return user, bool(revoked)


async def user_for_update(session: AsyncSession, user_id: UUID) -> User | None:
    return await session.scalar(select(User).where(User.id == user_id).with_for_update())


async def has_face_enrolment(session: AsyncSession, user_id: UUID) -> bool:
    return bool(await session.scalar(select(exists().where(FaceEnrolment.user_id == user_id))))


async def refresh_session_for_update(
    session: AsyncSession, session_id: UUID
) -> RefreshSession | None:
    return await session.scalar(
        select(RefreshSession).where(RefreshSession.id == session_id).with_for_update()
    )


async def revoke_family(session: AsyncSession, family_id: UUID) -> None:
    await session.execute(
        update(RefreshSession)
        .where(RefreshSession.family_id == family_id, RefreshSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def revoke_all_of_user(session: AsyncSession, user_id: UUID) -> None:
    await session.execute(
        update(RefreshSession)
        .where(RefreshSession.user_id == user_id, RefreshSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


async def token_was_used(session: AsyncSession, jti: UUID) -> bool:
    return await session.get(UsedToken, jti) is not None
