"""Face uploads, jobs, enrolments and verification results."""

from datetime import datetime
from uuid import UUID, uuid4

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.core.database import Base
from contracts.events import FacePurpose, JobStatus


class FaceUpload(Base):
    """A photo accepted by the API and waiting for the embedding consumer.

    Kept in Postgres so that events stay small and an accepted upload survives any worker's
    death; deleted once processed unless KEEP_UPLOADS is set.
    """

    __tablename__ = "face_uploads"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    image_format: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class FaceJob(Base):
    """One enrolment or verification request, from `accepted` to `done` or `failed`.

    Status changes go through `api.face.jobs.record_job_status` so that each one is also
    published to the owner's SSE stream. `reason` is a stable code, `detail` a sentence.
    """

    __tablename__ = "face_jobs"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[FacePurpose] = mapped_column(String(16))
    status: Mapped[JobStatus] = mapped_column(String(16), default="accepted")
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)
    # Indexed: deleting a processed upload sets this to NULL, which must not scan the table.
    upload_id: Mapped[UUID | None] = mapped_column(
        ForeignKey("face_uploads.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    __table_args__ = (
        Index("ix_face_jobs_user_created", "user_id", "created_at"),
        CheckConstraint("purpose IN ('enroll', 'verify')", name="purpose"),
        CheckConstraint("status IN ('accepted', 'running', 'done', 'failed')", name="status"),
    )


class FaceEnrolment(Base):
    """The user's current face embedding; one per user. A new enrolment replaces the row,
    so `created_at` is when the current embedding was stored."""

    __tablename__ = "face_enrolments"

    user_id: Mapped[UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    embedding: Mapped[list[float]] = mapped_column(ARRAY(Float))
    model_version: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[UUID | None] = mapped_column(ForeignKey("face_jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class FaceVerification(Base):
    """The outcome of one verify job: distance to the enrolment, threshold and decision."""

    __tablename__ = "face_verifications"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    job_id: Mapped[UUID] = mapped_column(
        ForeignKey("face_jobs.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    distance: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    verified: Mapped[bool] = mapped_column(Boolean)
    model_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )

    __table_args__ = (Index("ix_face_verifications_user_created", "user_id", "created_at"),)
