"""Domain errors of the face domain. Each carries its HTTP status and a stable code."""

from typing import ClassVar

from api.core.errors import DomainError
from api.face.limits import ACCEPTED_FORMAT_NAMES, MAX_SIDE_PX, MIN_SIDE_PX


class FileTooLarge(DomainError):
    status_code: ClassVar[int] = 413
    code: ClassVar[str] = "file_too_large"
    message: ClassVar[str] = (
        "The photo is larger than MAX_FILE_SIZE_MB allows; send a smaller or more"
        " compressed photo."
    )


class UnsupportedImageFormat(DomainError):
    status_code = 415
    code = "unsupported_image_format"
    message = (
        f"The file is not an image in an accepted format; send a {ACCEPTED_FORMAT_NAMES}"
        " photo."
    )


class ImageTooLarge(DomainError):
    status_code = 413
    code = "image_too_large"
    message = (
        "The image has more pixels than this server decodes (MAX_IMAGE_PIXELS); send a"
        " photo of lower resolution."
    )


class ImageDimensionsInvalid(DomainError):
    status_code = 422
    code = "image_dimensions_invalid"
    message = (
        f"The image is too small or too large; send a photo whose width and height are"
        f" between {MIN_SIDE_PX} and {MAX_SIDE_PX} px."
    )


class ImageCorrupt(DomainError):
    status_code = 422
    code = "image_corrupt"
    message = "The image is truncated or damaged and cannot be decoded; take a new photo."


class FaceNotEnrolled(DomainError):
    status_code = 409
    code = "face_not_enrolled"
    message = "No face is enrolled for this account; enrol one first with POST /face/create."


class EnrolmentNotFound(DomainError):
    status_code = 404
    code = "face_not_enrolled"
    message = "No face is enrolled for this account, so there is nothing to delete."


class FaceJobNotFound(DomainError):
    status_code = 404
    code = "face_job_not_found"
    message = "No face job with this id belongs to you; check the id from the 202 response."


class EventsTicketInvalid(DomainError):
    status_code = 401
    code = "events_ticket_invalid"
    message = (
        "The events ticket is unknown, expired or already used; get a new one from"
        " POST /face/events/ticket and connect within 60 seconds."
    )

    def __init__(self, detail: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail, {"WWW-Authenticate": "Bearer", **(headers or {})})


class InvalidLastEventId(DomainError):
    status_code = 422
    code = "invalid_last_event_id"
    message = (
        "The Last-Event-ID header is not a stream entry id such as `1700000000000-0`;"
        " reconnect without it."
    )
