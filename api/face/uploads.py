"""Reading and checking uploaded photos before anything is stored or queued.

Three gates, cheapest first: the declared Content-Length (before the multipart body is
parsed), the bytes actually read (in chunks, stopping just past the limit), then Pillow on
those bytes: format from the content, pixel budget and dimensions from the header, and a
full trial decode so that a truncated or corrupt photo never reaches a worker.
"""

import asyncio
from collections.abc import Callable, Coroutine
from io import BytesIO
from typing import Any

import structlog
from fastapi import Request, Response, UploadFile
from fastapi.routing import APIRoute
from PIL import Image, UnidentifiedImageError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive

from api.core.settings import get_settings
from api.face.errors import (
    FileTooLarge,
    ImageCorrupt,
    ImageDimensionsInvalid,
    ImageTooLarge,
    UnsupportedImageFormat,
)
from api.face.limits import (
    ACCEPTED_FORMATS,
    MAX_SIDE_PX,
    MIN_SIDE_PX,
    MULTIPART_OVERHEAD_BYTES,
    UPLOAD_CHUNK_BYTES,
)

log = structlog.get_logger(__name__)

# Decoding a large photo takes tens of megabytes; a few at a time keeps memory bounded.
_DECODE_SLOTS = asyncio.Semaphore(4)


class _BodyLimitReached(StarletteHTTPException):
    """Raised while the body streams in; an HTTPException so FastAPI passes it through."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


def _receive_within(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_within_limit() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyLimitReached()
        return message

    return receive_within_limit


class UploadLimitedRoute(APIRoute):
    """A route whose request body may not exceed MAX_FILE_SIZE_MB plus multipart framing.

    A larger Content-Length is refused before a byte of the body is read; a body without
    one (chunked) is cut off as soon as it passes the limit, instead of being spooled.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_within_limit(request: Request) -> Response:
            limit = get_settings().max_upload_bytes + MULTIPART_OVERHEAD_BYTES
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise FileTooLarge()

            limited = Request(request.scope, _receive_within(request.receive, limit))
            try:
                return await handle(limited)
            except _BodyLimitReached:
                raise FileTooLarge() from None

        return handle_within_limit


async def read_upload(image: UploadFile, max_bytes: int) -> bytes:
    """The uploaded file's bytes, read in chunks; 413 as soon as they pass `max_bytes`."""
    if image.size is not None and image.size > max_bytes:
        raise FileTooLarge()

    chunks: list[bytes] = []
    total = 0
    while chunk := await image.read(UPLOAD_CHUNK_BYTES):
        total += len(chunk)
        if total > max_bytes:
            raise FileTooLarge()
        chunks.append(chunk)

    return b"".join(chunks)


async def check_image(content: bytes) -> str:
    """The photo's format (`JPEG`, `PNG`, `WEBP`) once it is known to decode safely.

    Raises 415 for anything that is not an accepted image, 413 for a decompression bomb,
    422 for absurd dimensions or a truncated/corrupt file. Runs off the event loop.
    """
    max_pixels = get_settings().max_image_pixels
    async with _DECODE_SLOTS:
        return await asyncio.to_thread(_check_image_sync, content, max_pixels)


def _check_image_sync(content: bytes, max_pixels: int) -> str:
    # Pillow's own bomb check (an error at twice this value) backs up the explicit one below.
    Image.MAX_IMAGE_PIXELS = max_pixels

    try:
        with Image.open(BytesIO(content), formats=ACCEPTED_FORMATS) as image:
            image_format = str(image.format)
            width, height = image.size
    except UnidentifiedImageError:
        raise UnsupportedImageFormat() from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge() from None
    except Exception as exc:  # a damaged header can raise anything from the plugin
        log.info("face.upload.header_rejected", error_type=type(exc).__name__)
        raise ImageCorrupt() from None

    if width * height > max_pixels:
        raise ImageTooLarge()
    if not (MIN_SIDE_PX <= width <= MAX_SIDE_PX and MIN_SIDE_PX <= height <= MAX_SIDE_PX):
        raise ImageDimensionsInvalid()

    try:
        with Image.open(BytesIO(content), formats=ACCEPTED_FORMATS) as image:
            image.verify()
        with Image.open(BytesIO(content), formats=ACCEPTED_FORMATS) as image:
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLarge() from None
    except Exception as exc:  # truncated data, bad checksums, decoder errors of any kind
        log.info("face.upload.decode_rejected", error_type=type(exc).__name__)
        raise ImageCorrupt() from None

    return image_format
