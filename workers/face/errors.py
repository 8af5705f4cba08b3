"""Reasons a photo is refused by the face pipeline, with stable codes for the API."""

from __future__ import annotations

from typing import Final

UNDECODABLE_IMAGE: Final = "undecodable_image"
IMAGE_TOO_LARGE: Final = "image_too_large"
NO_FACE: Final = "no_face"
FACE_TOO_SMALL: Final = "face_too_small"
MULTIPLE_FACES: Final = "multiple_faces"

REASONS: Final = frozenset(
    {UNDECODABLE_IMAGE, IMAGE_TOO_LARGE, NO_FACE, FACE_TOO_SMALL, MULTIPLE_FACES}
)


class FaceRejected(Exception):
    """The photo cannot give a face embedding; ``reason`` is one of ``REASONS``.

    ``detail`` is a sentence for logs and for the user that says what to do next.
    """

    def __init__(self, reason: str, detail: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown rejection reason {reason!r}")
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
