"""Face job status changes: recorded in the caller's transaction, published after its commit.

Both the API (on `accepted`) and the workers (on `running`, `done`, `failed`) use these two
helpers, so every status change reaches the owner's SSE stream in the same shape:

    update = await record_job_status(session, job, "done")
    await session.commit()
    await publish_job_update(redis, update)
"""

from datetime import UTC, datetime
from typing import get_args

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from api.core.redis import stream_fields
from api.face.models import FaceJob, FaceVerification
from contracts.events import FaceJobUpdated, JobStatus
from contracts.streams import job_updates_stream

log = structlog.get_logger(__name__)

JOB_STATUSES: frozenset[str] = frozenset(get_args(JobStatus))
JOB_UPDATES_MAX_LENGTH = 1000
JOB_UPDATES_TTL_S = 3 * 24 * 3600  # a stream nobody writes to for three days disappears


async def record_job_status(
    session: AsyncSession,
    job: FaceJob,
    status: JobStatus,
    *,
    reason: str | None = None,
    detail: str | None = None,
    verification: FaceVerification | None = None,
) -> FaceJobUpdated:
    """Set the job's status within the caller's transaction; return the update to publish.

    `reason` is a stable code (e.g. `no_face_found`) and `detail` a sentence for the user
    saying what to do next. Pass the `verification` row of a finished verify job so the
    update carries its decision. Nothing is committed or published here.
    """
    if status not in JOB_STATUSES:
        raise ValueError(f"unknown job status {status!r}; use one of {sorted(JOB_STATUSES)}")

    job.status = status
    job.reason = reason
    job.detail = detail
    job.updated_at = datetime.now(UTC)
    session.add(job)
    await session.flush()

    return FaceJobUpdated(
        job_id=job.id,
        user_id=job.user_id,
        purpose=job.purpose,
        status=status,
        reason=reason,
        detail=detail,
        verified=verification.verified if verification else None,
        distance=verification.distance if verification else None,
        threshold=verification.threshold if verification else None,
    )


async def publish_job_update(redis: Redis, update: FaceJobUpdated) -> str:
    """Append the update to its owner's job stream and return the entry id.

    Call only after the transaction that recorded the status has committed. The stream is
    capped (approximately) and expires when idle, so abandoned users cost nothing.
    """
    stream = job_updates_stream(str(update.user_id))

    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(
            stream, stream_fields(update), maxlen=JOB_UPDATES_MAX_LENGTH, approximate=True
        )
        pipe.expire(stream, JOB_UPDATES_TTL_S)
        entry_id, _ = await pipe.execute()

    entry_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    log.info(
        "face.job_update.published",
        job_id=str(update.job_id),
        status=update.status,
        entry_id=entry_id,
    )
    return entry_id
