"""Face endpoints: submit photos for enrolment or verification, follow jobs, read results.

Photos are checked completely (size, format from the bytes, pixel budget, trial decode)
before anything is stored or queued; the embedding work happens in the workers.
"""

from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse

from api.accounts import ratelimit
from api.accounts.dependencies import (
    AccessClaims,
    CurrentUser,
    optional_access_token_claims,
    user_of_grant,
)
from api.accounts.errors import (
    InvalidToken,
    NotAuthenticated,
    RateLimited,
    TokenExpired,
    TokenRevoked,
)
from api.accounts.models import User
from api.accounts.tokens import AccessGrant
from api.core.database import get_sessionmaker, session_scope
from api.core.errors import error_responses
from api.core.redis import get_redis
from api.core.settings import get_settings
from api.events.outbox import publish_committed
from api.face import service
from api.face.errors import (
    EnrolmentNotFound,
    EventsTicketInvalid,
    FaceJobNotFound,
    FaceNotEnrolled,
    FileTooLarge,
    ImageCorrupt,
    ImageDimensionsInvalid,
    ImageTooLarge,
    InvalidLastEventId,
    UnsupportedImageFormat,
)
from api.face.events_stream import (
    EventsTiming,
    get_events_timing,
    job_update_events,
    newest_entry_id,
    resume_after,
)
from api.face.jobs import publish_job_update
from api.face.schemas import (
    EnrolmentStatus,
    EventsTicket,
    JobAccepted,
    JobRead,
    VerificationList,
    VerificationResult,
)
from api.face.uploads import UploadLimitedRoute, check_image, read_upload
from contracts.events import FaceJobUpdated, FacePurpose

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/face", tags=["face"])
# Upload endpoints refuse an oversized body before the multipart parser reads it.
upload_router = APIRouter(route_class=UploadLimitedRoute)

Session = Annotated[AsyncSession, Depends(session_scope)]
RedisClient = Annotated[Redis, Depends(get_redis)]

AUTH_ERRORS = (NotAuthenticated, InvalidToken, TokenExpired, TokenRevoked)
PHOTO_ERRORS = (
    RateLimited,
    FileTooLarge,
    ImageTooLarge,
    UnsupportedImageFormat,
    ImageDimensionsInvalid,
    ImageCorrupt,
)
PHOTO_FIELD = File(
    description="A photo of one face: JPEG, PNG or WebP, at most MAX_FILE_SIZE_MB."
)


@upload_router.post(
    "/create",
    status_code=202,
    response_model=JobAccepted,
    responses=error_responses(*AUTH_ERRORS, *PHOTO_ERRORS),
)
async def submit_enrolment(
    request: Request,
    response: Response,
    image: Annotated[UploadFile, PHOTO_FIELD],
    user: CurrentUser,
    session: Session,
    redis: RedisClient,
) -> JobAccepted:
    """Enrol the signed-in user's face, replacing any earlier enrolment.

    Answers 202 at once; follow the job at `Location` or on `GET /face/events`.
    """
    return await _accept_photo("enroll", request, response, image, user, session, redis)


@upload_router.post(
    "/verify",
    status_code=202,
    response_model=JobAccepted,
    responses=error_responses(*AUTH_ERRORS, FaceNotEnrolled, *PHOTO_ERRORS),
)
async def submit_verification(
    request: Request,
    response: Response,
    image: Annotated[UploadFile, PHOTO_FIELD],
    user: CurrentUser,
    session: Session,
    redis: RedisClient,
) -> JobAccepted:
    """Verify a photo against the signed-in user's enrolled face.

    Answers 202 at once; the decision appears on the job once it is `done`.
    """
    await service.ensure_enrolled(session, user.id)

    return await _accept_photo("verify", request, response, image, user, session, redis)


async def _accept_photo(
    purpose: FacePurpose,
    request: Request,
    response: Response,
    image: UploadFile,
    user: User,
    session: AsyncSession,
    redis: Redis,
) -> JobAccepted:
    settings = get_settings()
    await ratelimit.hit(settings.face_submit_limit, "face_submit", str(user.id))

    content = await read_upload(image, settings.max_upload_bytes)
    image_format = await check_image(content)

    submitted = await service.submit_job(session, user.id, purpose, content, image_format)
    await session.commit()

    await _publish_submitted(redis, submitted)

    job = submitted.job
    log.info("face.job.accepted", job_id=str(job.id), user_id=str(user.id), purpose=purpose,
             image_format=image_format, size_bytes=len(content))
    response.headers["Location"] = str(request.app.url_path_for("read_face_job", job_id=job.id))

    return JobAccepted(job_id=job.id, status="accepted", purpose=purpose)


async def _publish_submitted(redis: Redis, submitted: service.SubmittedJob) -> None:
    """Publish a committed job. Failures are logged, never raised: the job exists and the
    outbox relay republishes `face.submitted`; only the live `accepted` update is lost."""
    job_id = str(submitted.job.id)

    # The `accepted` update goes first so that it cannot arrive after a worker's `running`.
    try:
        await publish_job_update(redis, submitted.accepted)
    except RedisError as exc:
        log.warning("face.job_update.publish_failed", job_id=job_id, error=str(exc))

    try:
        await publish_committed(redis, get_sessionmaker(), [submitted.submitted])
    except Exception as exc:  # the relay retries whatever is still unmarked
        log.warning("face.job.publish_deferred", job_id=job_id, error=str(exc))


@router.get(
    "/jobs/{job_id}",
    name="read_face_job",
    response_model=JobRead,
    responses=error_responses(*AUTH_ERRORS, FaceJobNotFound),
)
async def read_job(job_id: UUID, user: CurrentUser, session: Session) -> JobRead:
    """Poll one of your jobs. A verify job carries its `result` once it is `done`."""
    job, verification = await service.get_job(session, user.id, job_id)

    return JobRead(
        id=job.id,
        purpose=job.purpose,
        status=job.status,
        reason=job.reason,
        detail=job.detail,
        created_at=job.created_at,
        updated_at=job.updated_at,
        result=VerificationResult.model_validate(verification) if verification else None,
    )


async def events_subscriber(
    claims: Annotated[dict[str, Any] | None, Depends(optional_access_token_claims)],
    redis: RedisClient,
    # Function scope: the session is closed before the stream starts, not held for hours.
    session: Annotated[AsyncSession, Depends(session_scope, scope="function")],
    ticket: Annotated[
        str | None,
        Query(max_length=128, description="Single-use ticket from POST /face/events/ticket."),
    ] = None,
) -> AccessGrant:
    """The grant the events stream runs under: the ticket's, else the bearer token's.

    Checked now like any request's; the stream keeps checking it while it runs.
    """
    if ticket is not None:
        grant = await service.redeem_events_ticket(redis, ticket)
    elif claims is not None:
        grant = AccessGrant.of(claims)
    else:
        raise NotAuthenticated(
            "Send `Authorization: Bearer <access token>`, or a `ticket` from"
            " POST /face/events/ticket."
        )

    await user_of_grant(session, grant)

    return grant


_EVENTS_DESCRIPTION = (
    "`text/event-stream`: `event` is the job status (accepted, running, done, failed),"
    " `data` a FaceJobUpdated JSON object, `id` the entry id to resume from. Comment lines"
    " are heartbeats. When the access token behind the stream stops holding (it expires, or"
    " its sign-in is logged out or its password reset), a last `session_ended` event carries"
    " `{\"error\": \"token_expired\" | \"token_revoked\" | \"invalid_token\", \"detail\": ...}`"
    " and the stream closes: log in or refresh, then reconnect."
)


@router.get(
    "/events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": _EVENTS_DESCRIPTION,
            "content": {"text/event-stream": {"schema": FaceJobUpdated.model_json_schema()}},
        },
        **error_responses(*AUTH_ERRORS, EventsTicketInvalid, InvalidLastEventId),
    },
)
async def stream_job_events(
    # Declared first: a malformed Last-Event-ID is refused before a ticket is spent.
    resume_id: Annotated[str | None, Depends(resume_after)],
    grant: Annotated[AccessGrant, Depends(events_subscriber)],
    redis: RedisClient,
    timing: Annotated[EventsTiming, Depends(get_events_timing)],
) -> EventSourceResponse:
    """Live updates of your face jobs as Server-Sent Events.

    Authenticate with `Authorization: Bearer`, or (from a browser's EventSource, which
    cannot send headers) with `?ticket=` from `POST /face/events/ticket`. Reconnecting with
    `Last-Event-ID` replays what was missed; without it only new updates are sent. The
    stream ends with a `session_ended` event when the token behind it stops holding.
    """
    after_id = resume_id or await newest_entry_id(redis, grant.user_id)

    return EventSourceResponse(
        job_update_events(redis, grant, after_id, timing.block_ms), ping=timing.ping_s
    )


@router.post(
    "/events/ticket",
    response_model=EventsTicket,
    responses=error_responses(*AUTH_ERRORS),
)
async def issue_events_ticket(
    user: CurrentUser, claims: AccessClaims, redis: RedisClient
) -> EventsTicket:
    """A ticket for `GET /face/events?ticket=...`: single use, valid for 60 seconds.

    The stream it opens ends when the access token that asked for it would stop working.
    """
    ticket = await service.issue_events_ticket(redis, AccessGrant.of(claims))
    log.info("face.events_ticket.issued", user_id=str(user.id))

    return EventsTicket(ticket=ticket, expires_in=service.EVENTS_TICKET_TTL_S)


@router.get(
    "/enrolment",
    response_model=EnrolmentStatus,
    responses=error_responses(*AUTH_ERRORS),
)
async def read_enrolment(user: CurrentUser, session: Session) -> EnrolmentStatus:
    """Whether a face is enrolled for you, with which model and since when."""
    enrolment = await service.get_enrolment(session, user.id)
    if enrolment is None:
        return EnrolmentStatus(enrolled=False)

    return EnrolmentStatus(
        enrolled=True, model_version=enrolment.model_version, enrolled_at=enrolment.created_at
    )


@router.delete(
    "/enrolment",
    status_code=204,
    response_class=Response,
    responses=error_responses(*AUTH_ERRORS, EnrolmentNotFound),
)
async def delete_enrolment(user: CurrentUser, session: Session) -> Response:
    """Delete your enrolled face. Verification is refused until you enrol again."""
    await service.delete_enrolment(session, user.id)
    await session.commit()
    log.info("face.enrolment.deleted", user_id=str(user.id))

    return Response(status_code=204)


@router.get(
    "/verifications",
    response_model=VerificationList,
    responses=error_responses(*AUTH_ERRORS),
)
async def list_verifications(
    user: CurrentUser,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=100, description="How many, newest first.")] = 20,
) -> VerificationList:
    """Your most recent verification results, newest first."""
    verifications = await service.recent_verifications(session, user.id, limit)

    return VerificationList(
        items=[VerificationResult.model_validate(row) for row in verifications]
    )


router.include_router(upload_router)
