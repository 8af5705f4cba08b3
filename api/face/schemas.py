"""Response bodies of the face endpoints."""

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from contracts.events import FacePurpose, JobStatus


class JobAccepted(BaseModel):
    """A job queued for the workers; follow it at `Location` or on `GET /face/events`."""

    job_id: UUID
    status: JobStatus
    purpose: FacePurpose


class VerificationResult(BaseModel):
    """The decision of one verify job: `verified` is `distance <= threshold`."""

    model_config = ConfigDict(from_attributes=True)

    job_id: UUID
    distance: float
    threshold: float
    verified: bool
    model_version: str
    created_at: datetime


class JobRead(BaseModel):
    """A job as polled. `result` is set once a verify job is `done`."""

    id: UUID
    purpose: FacePurpose
    status: JobStatus
    reason: str | None = Field(None, description="Stable code of a failure, e.g. no_face_found.")
    detail: str | None = Field(None, description="What happened and what to do next.")
    created_at: datetime
    updated_at: datetime
    result: VerificationResult | None = None


class EnrolmentStatus(BaseModel):
    enrolled: bool
    model_version: str | None = None
    enrolled_at: datetime | None = None


class VerificationList(BaseModel):
    items: list[VerificationResult]


class EventsTicket(BaseModel):
    """Single-use credential for `GET /face/events?ticket=...` (EventSource sends no headers)."""

    ticket: str
    expires_in: int = Field(description="Seconds until the ticket expires if unused.")
