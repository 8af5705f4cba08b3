"""What the embedding group does with each submitted face photo.

1. Mark the job `running` (committed and pushed to the user at once).
2. Embed the photo in a worker thread, so that the event loop keeps answering Redis.
3. In one transaction with the ProcessedEvent record: store the enrolment (enroll) or stage
   `face.verification_requested` through the outbox (verify), or fail the job with the
   pipeline's reason; delete the upload unless KEEP_UPLOADS. Then publish what it staged.

A redelivered event whose job already finished is acked without work.
"""

import asyncio
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import structlog
from redis.asyncio import Redis
from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.core.settings import Settings
from api.events.models import ProcessedEvent
from api.events.outbox import publish_committed, stage
from api.face.jobs import publish_job_update, record_job_status
from api.face.models import FaceEnrolment, FaceJob, FaceUpload
from contracts.events import Event, FaceJobUpdated, FaceSubmitted, VerificationRequested
from contracts.streams import EMBEDDING_GROUP, FACE_SUBMITTED_STREAM
from workers.embedding.jobs import FINISHED, fail_abandoned_job
from workers.face.errors import FaceRejected
from workers.face.weights import ModelCard
from workers.runtime import GroupConsumer, record_processed

log = structlog.get_logger(__name__)

UPLOAD_MISSING: Final = "upload_missing"
FACE_NOT_ENROLLED: Final = "face_not_enrolled"


class Embedding(Protocol):
    @property
    def vector(self) -> np.ndarray: ...


class Embedder(Protocol):
    """`workers.face.FacePipeline`, or a stand-in in tests."""

    def embed(self, image_bytes: bytes) -> Embedding: ...


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str


class FaceEmbeddings:
    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        embedder: Embedder,
        model_version: str,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.redis = redis
        self.embedder = embedder
        self.model_version = model_version
        # The reader and the claimer run concurrently and the pipeline is not thread-safe.
        self._embedding = asyncio.Lock()

    async def __call__(self, event: Event) -> str:
        assert isinstance(event, FaceSubmitted)  # the runtime lets only these through
        with structlog.contextvars.bound_contextvars(job_id=str(event.job_id)):
            return await self._process(event)

    async def _process(self, event: FaceSubmitted) -> str:
        async with self.sessions() as session:
            job = await session.get(FaceJob, event.job_id)
            skip_reason = await self._skip_reason(session, event, job)
            if job is None or skip_reason is not None:
                log.info("face.job.skipped", reason=skip_reason)
                return "skipped"

            upload = await session.get(FaceUpload, event.upload_id)
            image = upload.content if upload is not None else None
            running = await record_job_status(session, job, "running")
            await session.commit()
        await publish_job_update(self.redis, running)

        if image is None:
            rejection = Rejection(UPLOAD_MISSING, "the photo is gone: upload it again")
            return await self._finish(event, rejection)

        try:
            async with self._embedding:
                embedding = await asyncio.to_thread(self.embedder.embed, image)
        except FaceRejected as rejected:
            return await self._finish(event, Rejection(rejected.reason, rejected.detail))

        return await self._finish(event, [float(value) for value in embedding.vector])

    async def _skip_reason(
        self, session: AsyncSession, event: FaceSubmitted, job: FaceJob | None
    ) -> str | None:
        if job is None:
            return "job_missing"
        if job.status in FINISHED:
            return f"job_{job.status}"
        processed = await session.scalar(
            select(
                exists().where(
                    ProcessedEvent.group == EMBEDDING_GROUP,
                    ProcessedEvent.event_id == event.id,
                )
            )
        )
        return "already_processed" if processed else None

    async def _finish(self, event: FaceSubmitted, result: list[float] | Rejection) -> str:
        staged: list[Event] = []
        async with self.sessions() as session:
            if not await record_processed(session, EMBEDDING_GROUP, event.id):
                return "duplicate"

            job = await session.get(FaceJob, event.job_id, with_for_update=True)
            if job is None or job.status in FINISHED:
                await session.commit()
                return "skipped"

            update: FaceJobUpdated | None
            if isinstance(result, Rejection):
                update = await self._reject(session, job, result)
            elif event.purpose == "enroll":
                update = await self._enrol(session, job, result)
            else:
                update = await self._request_verification(session, job, result, staged)

            if not self.settings.keep_uploads:
                await session.execute(delete(FaceUpload).where(FaceUpload.id == event.upload_id))
            await session.commit()

        await publish_committed(self.redis, self.sessions, staged)
        if update is not None:
            await publish_job_update(self.redis, update)

        if isinstance(result, Rejection):
            return f"rejected:{result.reason}"
        return "enrolled" if event.purpose == "enroll" else "verification_requested"

    async def _reject(
        self, session: AsyncSession, job: FaceJob, rejection: Rejection
    ) -> FaceJobUpdated:
        log.info("face.job.rejected", reason=rejection.reason)
        return await record_job_status(
            session, job, "failed", reason=rejection.reason, detail=rejection.detail
        )

    async def _enrol(
        self, session: AsyncSession, job: FaceJob, embedding: list[float]
    ) -> FaceJobUpdated:
        values = {
            "embedding": embedding,
            "model_version": self.model_version,
            "job_id": job.id,
        }
        await session.execute(
            insert(FaceEnrolment)
            .values(user_id=job.user_id, **values)
            .on_conflict_do_update(
                index_elements=[FaceEnrolment.user_id],
                set_={**values, "created_at": func.now()},
            )
        )
        return await record_job_status(session, job, "done")

    async def _request_verification(
        self,
        session: AsyncSession,
        job: FaceJob,
        embedding: list[float],
        staged: list[Event],
    ) -> FaceJobUpdated | None:
        """Stage the comparison; the job stays `running` until the verification group ends it."""
        enrolled = await session.scalar(
            select(exists().where(FaceEnrolment.user_id == job.user_id))
        )
        if not enrolled:
            rejection = Rejection(FACE_NOT_ENROLLED, "enrol your face before verifying it")
            return await self._reject(session, job, rejection)

        requested = VerificationRequested(
            job_id=job.id,
            user_id=job.user_id,
            embedding=embedding,
            model_version=self.model_version,
        )
        staged.append(stage(session, requested))
        return None


def model_version(card: ModelCard) -> str:
    """Names the weights and the embedding variant: embeddings compare only within one."""
    variant = ("+flip" if card.flip_average else "") + ("+l2" if card.l2_normalised else "")
    return f"{card.state_dict_path.stem}@{card.state_dict_sha256[:12]}{variant}"


def embedding_consumer(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    redis: Redis,
    embedder: Embedder,
    model_version: str,
) -> GroupConsumer:
    async def fail_job(event: Event) -> None:
        assert isinstance(event, FaceSubmitted)
        await fail_abandoned_job(
            sessions,
            redis,
            event.job_id,
            upload_id=event.upload_id,
            keep_uploads=settings.keep_uploads,
        )

    return GroupConsumer(
        stream=FACE_SUBMITTED_STREAM,
        group=EMBEDDING_GROUP,
        events=(FaceSubmitted,),
        handle=FaceEmbeddings(settings, sessions, redis, embedder, model_version),
        on_dead_letter=fail_job,
    )
