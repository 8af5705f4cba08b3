"""Face job steps shared by the embedding and verification groups."""

from typing import Final
from uuid import UUID

import structlog
from redis.asyncio import Redis
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.face.jobs import publish_job_update, record_job_status
from api.face.models import FaceJob, FaceUpload

log = structlog.get_logger(__name__)

FINISHED: Final = frozenset({"done", "failed"})
PROCESSING_FAILED: Final = "processing_failed"
PROCESSING_FAILED_DETAIL: Final = (
    "the photo could not be processed because of a fault on our side: try again in a minute"
)


async def fail_abandoned_job(
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    job_id: UUID,
    *,
    upload_id: UUID | None = None,
    keep_uploads: bool = True,
) -> None:
    """Mark a job whose event is being dead-lettered as failed, so that it never hangs.

    A finished job is left alone. The upload is deleted too unless `keep_uploads`.
    """
    async with sessions() as session:
        job = await session.get(FaceJob, job_id, with_for_update=True)
        if job is None or job.status in FINISHED:
            return

        update = await record_job_status(
            session, job, "failed", reason=PROCESSING_FAILED, detail=PROCESSING_FAILED_DETAIL
        )
        if upload_id is not None and not keep_uploads:
            await session.execute(delete(FaceUpload).where(FaceUpload.id == upload_id))
        await session.commit()

    log.warning("face.job.abandoned", job_id=str(job_id), reason=PROCESSING_FAILED)
    await publish_job_update(redis, update)
