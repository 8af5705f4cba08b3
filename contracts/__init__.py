"""Typed events shared by the API (producer) and the workers (consumers)."""

from contracts.events import (
    ConfirmationRequested,
    Event,
    FaceEnrolled,
    FaceJobFailed,
    FaceJobUpdated,
    FaceSubmitted,
    FaceVerified,
    ResetRequested,
    UserRegistered,
    VerificationRequested,
)

__all__ = [
    "ConfirmationRequested",
    "Event",
    "FaceEnrolled",
    "FaceJobFailed",
    "FaceJobUpdated",
    "FaceSubmitted",
    "FaceVerified",
    "ResetRequested",
    "UserRegistered",
    "VerificationRequested",
]
