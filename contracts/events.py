"""Event contracts. One pydantic model per event, a dotted name, a schema version.

Producers serialise with `Event.to_stream()`; consumers parse with `parse_event()`. Events
carry identifiers, never secrets or image bytes: tokens are minted by the mail consumer, and
uploaded photos stay in Postgres until the embedding consumer has read them.
"""

from datetime import UTC, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.streams import (
    ACCOUNTS_STREAM,
    FACE_JOB_UPDATES_PREFIX,
    FACE_SUBMITTED_STREAM,
    FACE_VERIFICATION_STREAM,
)

FacePurpose = Literal["enroll", "verify"]
JobStatus = Literal["accepted", "running", "done", "failed"]


def _now() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream: ClassVar[str]

    id: UUID = Field(default_factory=uuid4)
    version: int = 1
    occurred_at: datetime = Field(default_factory=_now)
    # The dotted event name; each event narrows it to its own Literal, the discriminator.
    name: str

    def to_stream(self) -> dict[str, str]:
        """Fields of the Redis Streams entry: the event name and its JSON body."""
        return {"name": self.name, "body": self.model_dump_json()}


class UserRegistered(Event):
    stream = ACCOUNTS_STREAM
    name: Literal["user.registered"] = "user.registered"
    user_id: UUID
    email: str


class ConfirmationRequested(Event):
    stream = ACCOUNTS_STREAM
    name: Literal["user.confirmation_requested"] = "user.confirmation_requested"
    user_id: UUID
    email: str


class ResetRequested(Event):
    stream = ACCOUNTS_STREAM
    name: Literal["user.reset_requested"] = "user.reset_requested"
    user_id: UUID
    email: str


class FaceSubmitted(Event):
    stream = FACE_SUBMITTED_STREAM
    name: Literal["face.submitted"] = "face.submitted"
    job_id: UUID
    user_id: UUID
    upload_id: UUID
    purpose: FacePurpose


class VerificationRequested(Event):
    stream = FACE_VERIFICATION_STREAM
    name: Literal["face.verification_requested"] = "face.verification_requested"
    job_id: UUID
    user_id: UUID
    embedding: list[float]
    model_version: str


class FaceJobUpdated(Event):
    """A job's status change: the result the face consumers emit, on the owner's stream.

    Published to `job_updates_stream(user_id)`, which the SSE endpoint reads.
    """

    stream = FACE_JOB_UPDATES_PREFIX
    name: Literal["face.job_updated"] = "face.job_updated"
    job_id: UUID
    user_id: UUID
    purpose: FacePurpose
    status: JobStatus
    reason: str | None = None
    detail: str | None = None
    verified: bool | None = None
    distance: float | None = None
    threshold: float | None = None


AnyEvent = Annotated[
    UserRegistered
    | ConfirmationRequested
    | ResetRequested
    | FaceSubmitted
    | VerificationRequested
    | FaceJobUpdated,
    Field(discriminator="name"),
]
_EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse_event(body: str | bytes) -> Event:
    """Parse an entry's JSON body into its event class; raises `ValueError` when invalid."""
    return _EVENT_ADAPTER.validate_json(body)
