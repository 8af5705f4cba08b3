"""Face use cases. Functions stage changes in the caller's session; routes commit and publish."""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.accounts.tokens import AccessGrant
from api.events.outbox import stage
from api.face.errors import (
    EnrolmentNotFound,
    EventsTicketInvalid,
    FaceJobNotFound,
    FaceNotEnrolled,
)
from api.face.jobs import record_job_status
from api.face.models import FaceEnrolment, FaceJob, FaceUpload, FaceVerification
from contracts.events import FaceJobUpdated, FacePurpose, FaceSubmitted

log = structlog.get_logger(__name__)

EVENTS_TICKET_TTL_S = 60
_TICKET_KEY_PREFIX = "face:events_ticket:"


@dataclass(frozen=True)
class SubmittedJob:
    """A job staged in the session, with what to publish once the session commits."""

    job: FaceJob
    submitted: FaceSubmitted
    accepted: FaceJobUpdated


async def is_enrolled(session: AsyncSession, user_id: UUID) -> bool:
    return bool(await session.scalar(select(exists().where(FaceEnrolment.user_id == user_id))))


async def ensure_enrolled(session: AsyncSession, user_id: UUID) -> None:
    """409 `face_not_enrolled` when there is nothing to verify against."""
    if not await is_enrolled(session, user_id):
        raise FaceNotEnrolled()


async def submit_job(
    session: AsyncSession,
    user_id: UUID,
    purpose: FacePurpose,
    content: bytes,
    image_format: str,
) -> SubmittedJob:
    """Store the checked photo and an `accepted` job, and stage `face.submitted`."""
    upload = FaceUpload(id=uuid4(), user_id=user_id, content=content, image_format=image_format)
    session.add(upload)
    await session.flush()  # no ORM relationship orders the inserts; the job refers to it

    job = FaceJob(id=uuid4(), user_id=user_id, purpose=purpose, upload_id=upload.id)
    session.add(job)

    submitted = FaceSubmitted(job_id=job.id, user_id=user_id, upload_id=upload.id, purpose=purpose)
    stage(session, submitted)

    accepted = await record_job_status(session, job, "accepted")

    return SubmittedJob(job=job, submitted=submitted, accepted=accepted)


async def get_job(
    session: AsyncSession, user_id: UUID, job_id: UUID
) -> tuple[FaceJob, FaceVerification | None]:
    """The user's job and, for a verify job, its result once stored; 404 for anyone else's."""
    row = (
        await session.execute(
            select(FaceJob, FaceVerification)
            .outerjoin(FaceVerification, FaceVerification.job_id == FaceJob.id)
            .where(FaceJob.id == job_id, FaceJob.user_id == user_id)
        )
    ).first()
    if row is None:
        raise FaceJobNotFound()

    return row[0], row[1]


async def get_enrolment(session: AsyncSession, user_id: UUID) -> FaceEnrolment | None:
    return await session.scalar(select(FaceEnrolment).where(FaceEnrolment.user_id == user_id))


async def delete_enrolment(session: AsyncSession, user_id: UUID) -> None:
    """Remove the user's enrolment; 404 `face_not_enrolled` when there is none."""
    deleted = await session.scalar(
        delete(FaceEnrolment)
        .where(FaceEnrolment.user_id == user_id)
        .returning(FaceEnrolment.user_id)
    )
    if deleted is None:
        raise EnrolmentNotFound()


async def recent_verifications(
    session: AsyncSession, user_id: UUID, limit: int
) -> Sequence[FaceVerification]:
    return (
        await session.scalars(
            select(FaceVerification)
            .where(FaceVerification.user_id == user_id)
            .order_by(FaceVerification.created_at.desc(), FaceVerification.id)
            .limit(limit)
        )
    ).all()


def _ticket_key(ticket: str) -> str:
    # Only a digest is stored, so a Redis dump does not hand out live tickets.
    return _TICKET_KEY_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


async def issue_events_ticket(redis: Redis, grant: AccessGrant) -> str:
    """A random single-use ticket for the events stream, valid EVENTS_TICKET_TTL_S seconds.

    It keeps the grant of the access token that asked for it, so the stream it opens ends
    when that token would: at its expiry, its logout, or a password reset.
    """
    ticket = secrets.token_urlsafe(32)
    await redis.set(_ticket_key(ticket), grant.model_dump_json(), ex=EVENTS_TICKET_TTL_S)

    return ticket


async def redeem_events_ticket(redis: Redis, ticket: str) -> AccessGrant:
    """The grant a ticket was issued under; the ticket is deleted in the same step (GETDEL)."""
    stored = await redis.getdel(_ticket_key(ticket))
    if stored is None:
        raise EventsTicketInvalid()

    try:
        return AccessGrant.model_validate_json(stored)
    except ValidationError:
        # Not a grant (a ticket stored by an older release holds only the user id).
        raise EventsTicketInvalid() from None
