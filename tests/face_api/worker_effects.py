"""What the workers would write, done directly so these tests need no worker running."""

from uuid import UUID

from api.core.database import get_sessionmaker
from api.core.redis import get_redis
from api.face.jobs import publish_job_update, record_job_status
from api.face.models import FaceEnrolment, FaceJob, FaceVerification

MODEL_VERSION = "dlib_resnet_v1"


async def enrol(user_id: UUID, job_id: UUID | None = None) -> None:
    async with get_sessionmaker()() as session:
        session.add(
            FaceEnrolment(
                user_id=user_id, embedding=[0.1] * 128, model_version=MODEL_VERSION,
                job_id=job_id,
            )
        )
        await session.commit()


async def finish_verification(
    job_id: UUID, *, distance: float = 0.42, threshold: float = 0.6
) -> FaceVerification:
    """Store a verification result and mark its job done, as the verification consumer does."""
    async with get_sessionmaker()() as session:
        job = await session.get_one(FaceJob, job_id)
        verification = FaceVerification(
            job_id=job.id, user_id=job.user_id, distance=distance, threshold=threshold,
            verified=distance <= threshold, model_version=MODEL_VERSION,
        )
        session.add(verification)
        update = await record_job_status(session, job, "done", verification=verification)
        await session.commit()

    await publish_job_update(get_redis(), update)
    return verification
