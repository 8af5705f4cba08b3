"""What the verification group does with each requested comparison.

It stores the decision (FaceVerification) and finishes the job in one transaction with the
ProcessedEvent record, then pushes the result to the user. An enrolment deleted meanwhile
fails the job with `face_not_enrolled`; one made by another model version with
`enrolment_outdated`, since embeddings of different models cannot be compared.
"""

from typing import Final

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.face.jobs import publish_job_update, record_job_status
from api.face.models import FaceEnrolment, FaceJob, FaceVerification
from contracts.events import Event, FaceJobUpdated, VerificationRequested
from contracts.streams import FACE_VERIFICATION_STREAM, VERIFICATION_GROUP
from workers.embedding.jobs import FINISHED, fail_abandoned_job
from workers.runtime import GroupConsumer, record_processed
from workers.verification.decision import euclidean_distance

log = structlog.get_logger(__name__)

FACE_NOT_ENROLLED: Final = "face_not_enrolled"
ENROLMENT_OUTDATED: Final = "enrolment_outdated"


class FaceVerifications:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], redis: Redis, threshold: float
    ) -> None:
        self.sessions = sessions
        self.redis = redis
        self.threshold = threshold

    async def __call__(self, event: Event) -> str:
        assert isinstance(event, VerificationRequested)  # the runtime lets only these through
        with structlog.contextvars.bound_contextvars(job_id=str(event.job_id)):
            return await self._verify(event)

    async def _verify(self, event: VerificationRequested) -> str:
        async with self.sessions() as session:
            if not await record_processed(session, VERIFICATION_GROUP, event.id):
                return "duplicate"

            job = await session.get(FaceJob, event.job_id, with_for_update=True)
            if job is None or job.status in FINISHED:
                await session.commit()
                log.info("face.job.skipped", reason="job_missing" if job is None else "finished")
                return "skipped"

            enrolment = await session.get(FaceEnrolment, event.user_id)
            update = await self._decide(session, job, enrolment, event)
            await session.commit()

        await publish_job_update(self.redis, update)
        if update.status == "failed":
            return f"rejected:{update.reason}"
        return "verified" if update.verified else "not_verified"

    async def _decide(
        self,
        session: AsyncSession,
        job: FaceJob,
        enrolment: FaceEnrolment | None,
        event: VerificationRequested,
    ) -> FaceJobUpdated:
        if enrolment is None:
            return await record_job_status(
                session,
                job,
                "failed",
                reason=FACE_NOT_ENROLLED,
                detail="the face enrolment was deleted: enrol again, then verify",
            )
        if enrolment.model_version != event.model_version:
            return await record_job_status(
                session,
                job,
                "failed",
                reason=ENROLMENT_OUTDATED,
                detail="the enrolment was made with an older face model: enrol again",
            )

        distance = euclidean_distance(enrolment.embedding, event.embedding)
        verification = FaceVerification(
            job_id=job.id,
            user_id=job.user_id,
            distance=distance,
            threshold=self.threshold,
            verified=distance <= self.threshold,
            model_version=event.model_version,
        )
        session.add(verification)
        log.info(
            "face.verification.decided",
            verified=verification.verified,
            distance=round(distance, 4),
            threshold=self.threshold,
        )
        return await record_job_status(session, job, "done", verification=verification)


def verification_consumer(
    sessions: async_sessionmaker[AsyncSession], redis: Redis, threshold: float
) -> GroupConsumer:
    async def fail_job(event: Event) -> None:
        assert isinstance(event, VerificationRequested)
        await fail_abandoned_job(sessions, redis, event.job_id)

    return GroupConsumer(
        stream=FACE_VERIFICATION_STREAM,
        group=VERIFICATION_GROUP,
        events=(VerificationRequested,),
        handle=FaceVerifications(sessions, redis, threshold),
        on_dead_letter=fail_job,
    )
