"""Typed events shared by the API (producer) and the workers (consumers)."""

from contracts.events import (
    ConfirmationRequested,
    Event,
    FaceJobUpdated,
    FaceSubmitted,
    ResetRequested,
    UserRegistered,
    VerificationRequested,
)

__all__ = [
    "ConfirmationRequested",
    "Event",
    "FaceJobUpdated",
    "FaceSubmitted",
    "ResetRequested",
    "UserRegistered",
    "VerificationRequested",
]
