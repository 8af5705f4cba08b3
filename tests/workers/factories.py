"""Face jobs as the API leaves them: an upload and an `accepted` job, committed."""

from dataclasses import dataclass
from uuid import UUID, uuid4

from api.core.database import get_sessionmaker
from api.face.models import FaceEnrolment, FaceJob, FaceUpload
from contracts.events import FacePurpose, FaceSubmitted


@dataclass(frozen=True)
class SubmittedFace:
    job_id: UUID
    upload_id: UUID
    event: FaceSubmitted


async def submit_face(user_id: UUID, purpose: FacePurpose, content: bytes) -> SubmittedFace:
    upload_id, job_id = uuid4(), uuid4()
    async with get_sessionmaker()() as session:
        upload = FaceUpload(id=upload_id, user_id=user_id, content=content, image_format="jpeg")
        session.add(upload)
        await session.flush()
        session.add(FaceJob(id=job_id, user_id=user_id, purpose=purpose, upload_id=upload_id))
        await session.commit()

    event = FaceSubmitted(job_id=job_id, user_id=user_id, upload_id=upload_id, purpose=purpose)
    return SubmittedFace(job_id=job_id, upload_id=upload_id, event=event)


async def enrol(user_id: UUID, embedding: list[float], model_version: str) -> None:
    async with get_sessionmaker()() as session:
        session.add(
            FaceEnrolment(user_id=user_id, embedding=embedding, model_version=model_version)
        )
        await session.commit()


async def load_job(job_id: UUID) -> FaceJob | None:
    async with get_sessionmaker()() as session:
        return await session.get(FaceJob, job_id)


async def load_upload(upload_id: UUID) -> FaceUpload | None:
    async with get_sessionmaker()() as session:
        return await session.get(FaceUpload, upload_id)


async def load_enrolment(user_id: UUID) -> FaceEnrolment | None:
    async with get_sessionmaker()() as session:
        return await session.get(FaceEnrolment, user_id)
